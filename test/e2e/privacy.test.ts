// XEP-0016 as @xmpp/client users see it: rules on jid / group / subscription for message and presence-out,
// active vs default lists (an active list replaces the default for its session only), names listing, list
// pushes, and the XEP's errors (item-not-found for unknown lists and groups, conflict, bad-request).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { onlineWithRoster, subscribeBoth } from "../helpers/roster.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { type ConnectedClient, type XmlElement, xml } from "../helpers/xmpp-client.js";

const NS_PRIVACY = "jabber:iq:privacy";
const NS_ROSTER = "jabber:iq:roster";
const NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas";
const D = "localhost";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const isPresence = (from: string, type?: string) => (s: XmlElement) =>
  s.is("presence") && s.attrs.from === from && s.attrs.type === type;
const isBody = (body: string) => (s: XmlElement) => s.is("message") && s.attrs.type !== "error" && s.getChildText("body") === body;
const condition = (s: XmlElement): string | undefined =>
  s.getChild("error")?.children.find((c): c is XmlElement => typeof c !== "string" && c.attrs.xmlns === NS_STANZAS)?.name;

let n = 0;
async function iq(c: ConnectedClient, type: "get" | "set", payload: XmlElement, to?: string): Promise<XmlElement> {
  const id = `p${++n}`;
  await c.xmpp.send(xml("iq", { type, id, ...(to ? { to } : {}) }, payload));
  return c.waitFor((s) => s.is("iq") && s.attrs.id === id && (s.attrs.type === "result" || s.attrs.type === "error"));
}
type Item = Record<string, string> & { kinds?: string };
const query = (...children: XmlElement[]) => xml("query", { xmlns: NS_PRIVACY }, ...children);
const list = (name: string, ...items: Item[]) =>
  query(
    xml(
      "list",
      { name },
      ...items.map(({ kinds, ...attrs }) => xml("item", attrs, ...(kinds ? kinds.split(" ").map((k) => xml(k)) : []))),
    ),
  );

describe("privacy lists (XEP-0016)", () => {
  let ts: TestServer;
  const clients: ConnectedClient[] = [];
  let alice: ConnectedClient;
  let bob: ConnectedClient;
  let carol: ConnectedClient;
  let dave: ConnectedClient;

  async function login(user: string, resource: string): Promise<ConnectedClient> {
    const c = await onlineWithRoster(ts, user, resource);
    clients.push(c);
    return c;
  }

  before(async () => {
    ts = await startTestServer();
    for (const u of ["alice", "bob", "carol", "dave"]) await ts.addUser(u, `${u}-secret`);
    alice = await login("alice", "a1");
    bob = await login("bob", "b1");
    carol = await login("carol", "c1");
    dave = await login("dave", "d1");
    await subscribeBoth(alice, bob);
    await subscribeBoth(alice, carol);
    // carol is in alice's "Work" group.
    await iq(alice, "set", xml("query", { xmlns: NS_ROSTER }, xml("item", { jid: `carol@${D}` }, xml("group", {}, "Work"))));
  });

  after(async () => {
    for (const c of clients) await c.stop();
    await ts?.stop();
  });

  it("answers item-not-found for lists that do not exist (§2.3, §2.4, §2.5, §2.8)", async () => {
    for (const [type, child] of [
      ["get", xml("list", { name: "The Empty Set" })],
      ["set", xml("active", { name: "The Empty Set" })],
      ["set", xml("default", { name: "The Empty Set" })],
      ["set", xml("list", { name: "The Empty Set" })],
    ] as const) {
      const r = await iq(alice, type, query(child));
      assert.equal(condition(r), "item-not-found", r.toString());
    }
    // §2.3: one list at a time; §2.1: one child in a set; a group not in the roster (§2.1 SHOULD).
    const two = await iq(alice, "get", query(xml("list", { name: "a" }), xml("list", { name: "b" })));
    assert.equal(condition(two), "bad-request");
    const dup = await iq(alice, "set", list("dup", { action: "deny", order: "1" }, { action: "allow", order: "1" }));
    assert.equal(condition(dup), "bad-request");
    const group = await iq(alice, "set", list("g", { type: "group", value: "Nobody", action: "deny", order: "1" }));
    assert.equal(condition(group), "item-not-found");
    const names = await iq(alice, "get", query());
    assert.deepEqual(names.getChild("query")!.children.filter((c: unknown) => typeof c !== "string"), []);
  });

  it("a default list denying bob's messages by jid: bob's messages bounce, carol's arrive (§2.9)", async () => {
    const set = await iq(alice, "set", list("no-bob", { type: "jid", value: `bob@${D}`, action: "deny", order: "1", kinds: "message" }));
    assert.equal(set.attrs.type, "result");
    // §2.2 rule 10: the list push, by name.
    await alice.waitFor((s) => s.is("iq") && s.attrs.type === "set" && s.getChild("query", NS_PRIVACY)?.getChild("list")?.attrs.name === "no-bob");
    assert.equal((await iq(alice, "set", query(xml("default", { name: "no-bob" })))).attrs.type, "result");

    await bob.xmpp.send(xml("message", { to: `alice@${D}`, type: "chat", id: "b1" }, xml("body", {}, "from bob")));
    const err = await bob.waitFor((s) => s.is("message") && s.attrs.type === "error" && s.attrs.id === "b1");
    assert.equal(condition(err), "service-unavailable"); // §2.14
    await carol.xmpp.send(xml("message", { to: `alice@${D}`, type: "chat" }, xml("body", {}, "from carol")));
    await alice.waitFor(isBody("from carol"));
    // <message/> only blocks incoming messages: alice may still write to bob, and bob's presence arrives.
    await alice.xmpp.send(xml("message", { to: `bob@${D}`, type: "chat" }, xml("body", {}, "to bob")));
    await bob.waitFor(isBody("to bob"));
    await bob.xmpp.send(xml("presence", {}, xml("status", {}, "bob here")));
    await alice.waitFor((s) => isPresence(`bob@${D}/b1`)(s) && s.getChildText("status") === "bob here");
    assert.equal(alice.received.some(isBody("from bob")), false);

    const names = await iq(alice, "get", query());
    assert.equal(names.getChild("query")!.getChild("default")?.attrs.name, "no-bob");
    assert.deepEqual(names.getChild("query")!.getChildren("list").map((l: XmlElement) => l.attrs.name), ["no-bob"]);
  });

  it("an active list replaces the default for its session only; declining it brings the default back (§2.2, §2.4)", async () => {
    await iq(alice, "set", list("open", { action: "allow", order: "1" }));
    assert.equal((await iq(alice, "set", query(xml("active", { name: "open" })))).attrs.type, "result");
    await bob.xmpp.send(xml("message", { to: `alice@${D}`, type: "chat" }, xml("body", {}, "let me in")));
    await alice.waitFor(isBody("let me in"));
    const names = await iq(alice, "get", query());
    assert.equal(names.getChild("query")!.getChild("active")?.attrs.name, "open");

    // Decline the active list: the default applies again.
    await iq(alice, "set", query(xml("active")));
    await bob.xmpp.send(xml("message", { to: `alice@${D}`, type: "chat", id: "b2" }, xml("body", {}, "again")));
    const err = await bob.waitFor((s) => s.is("message") && s.attrs.type === "error" && s.attrs.id === "b2");
    assert.equal(condition(err), "service-unavailable");
  });

  it("answers conflict when another resource uses the default list (§2.5, §2.8)", async () => {
    const alice2 = await login("alice", "a2");
    const decline = await iq(alice2, "set", query(xml("default")));
    assert.equal(condition(decline), "conflict");
    const remove = await iq(alice2, "set", query(xml("list", { name: "no-bob" })));
    assert.equal(condition(remove), "conflict");
    await alice2.stop();
    await sleep(200);
    // Alone again, alice may decline it.
    assert.equal((await iq(alice, "set", query(xml("default")))).attrs.type, "result");
    await bob.xmpp.send(xml("message", { to: `alice@${D}`, type: "chat" }, xml("body", {}, "free")));
    await alice.waitFor(isBody("free"));
  });

  it("denies messages from anyone with subscription none: strangers bounce, contacts pass (§2.9, §2.15)", async () => {
    await iq(alice, "set", list("contacts-only", { type: "subscription", value: "none", action: "deny", order: "5", kinds: "message" }));
    await iq(alice, "set", query(xml("active", { name: "contacts-only" })));
    await dave.xmpp.send(xml("message", { to: `alice@${D}`, type: "chat", id: "d1" }, xml("body", {}, "stranger")));
    const err = await dave.waitFor((s) => s.is("message") && s.attrs.type === "error" && s.attrs.id === "d1");
    assert.equal(condition(err), "service-unavailable");
    await bob.xmpp.send(xml("message", { to: `alice@${D}`, type: "chat" }, xml("body", {}, "friend")));
    await alice.waitFor(isBody("friend"));
    await iq(alice, "set", query(xml("active")));
  });

  it("presence-out by group: carol (Work) sees alice go offline and gets no updates, bob still does (§2.11)", async () => {
    carol.received.length = 0;
    await iq(alice, "set", list("hide-work", { type: "group", value: "Work", action: "deny", order: "1", kinds: "presence-out" }));
    await iq(alice, "set", query(xml("active", { name: "hide-work" })));
    // §2.11 note: the contact gets unavailable presence when outbound presence to it becomes blocked.
    await carol.waitFor(isPresence(`alice@${D}/a1`, "unavailable"));
    await alice.xmpp.send(xml("presence", {}, xml("status", {}, "busy at work")));
    await bob.waitFor((s) => isPresence(`alice@${D}/a1`)(s) && s.getChildText("status") === "busy at work");
    await sleep(200);
    assert.equal(carol.received.some((s) => isPresence(`alice@${D}/a1`)(s)), false);
    // Messages are not presence: carol still gets them.
    await alice.xmpp.send(xml("message", { to: `carol@${D}`, type: "chat" }, xml("body", {}, "meeting at 3")));
    await carol.waitFor(isBody("meeting at 3"));
    // Back to no list: carol sees alice's current presence again.
    await iq(alice, "set", query(xml("active")));
    await carol.waitFor((s) => isPresence(`alice@${D}/a1`)(s) && s.getChildText("status") === "busy at work");
  });

  it("an item with no kind blocks everything both ways: alice's own message gets not-acceptable (§2.13, §2.14)", async () => {
    await iq(alice, "set", list("no-dave", { type: "jid", value: `dave@${D}`, action: "deny", order: "1" }));
    await iq(alice, "set", query(xml("active", { name: "no-dave" })));
    await alice.xmpp.send(xml("message", { to: `dave@${D}`, type: "chat", id: "a1" }, xml("body", {}, "hello dave")));
    const err = await alice.waitFor((s) => s.is("message") && s.attrs.type === "error" && s.attrs.id === "a1");
    assert.equal(condition(err), "not-acceptable");
    // A subscription request from dave is dropped without a word (§2.14: presence gets no error).
    await dave.xmpp.send(xml("presence", { to: `alice@${D}`, type: "subscribe" }));
    await sleep(300);
    assert.equal(alice.received.some(isPresence(`dave@${D}`, "subscribe")), false);
    assert.equal(dave.received.some((s) => s.is("presence") && s.attrs.type === "error"), false);
    await iq(alice, "set", query(xml("active")));
    // A list can be removed once nothing else uses it.
    assert.equal((await iq(alice, "set", query(xml("list", { name: "no-dave" })))).attrs.type, "result");
    const gone = await iq(alice, "get", query(xml("list", { name: "no-dave" })));
    assert.equal(condition(gone), "item-not-found");
  });
});
