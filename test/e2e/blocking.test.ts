// XEP-0191 as @xmpp/client users see it: alice blocks bob — bob's messages bounce with service-unavailable,
// bob sees alice go offline and gets no more presence from her, alice's own message to bob gets
// not-acceptable + <blocked/>; pushes reach alice's other resource; after unblock everything flows again and
// bob sees alice's presence. Plus unblock-all, the protocol errors and the disco feature.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { onlineWithRoster, subscribeBoth } from "../helpers/roster.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { type ConnectedClient, type XmlElement, xml } from "../helpers/xmpp-client.js";

const NS_BLOCKING = "urn:xmpp:blocking";
const NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas";
const D = "localhost";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const isPresence = (from: string, type?: string) => (s: XmlElement) =>
  s.is("presence") && s.attrs.from === from && s.attrs.type === type;
const isError = (name: string, from: string, condition: string) => (s: XmlElement) =>
  s.is(name) && s.attrs.type === "error" && s.attrs.from === from && s.getChild("error")?.getChild(condition, NS_STANZAS) !== undefined;
const isPush = (child: string) => (s: XmlElement) => s.is("iq") && s.attrs.type === "set" && s.getChild(child, NS_BLOCKING) !== undefined;

let n = 0;
/** Sends an iq and resolves with the reply (result or error). */
async function iq(c: ConnectedClient, type: "get" | "set", payload: XmlElement, to?: string): Promise<XmlElement> {
  const id = `t${++n}`;
  await c.xmpp.send(xml("iq", { type, id, ...(to ? { to } : {}) }, payload));
  return c.waitFor((s) => s.is("iq") && s.attrs.id === id && (s.attrs.type === "result" || s.attrs.type === "error"));
}
const block = (...jids: string[]) => xml("block", { xmlns: NS_BLOCKING }, ...jids.map((jid) => xml("item", { jid })));
const unblock = (...jids: string[]) => xml("unblock", { xmlns: NS_BLOCKING }, ...jids.map((jid) => xml("item", { jid })));
const blocklistOf = async (c: ConnectedClient): Promise<string[]> =>
  (await iq(c, "get", xml("blocklist", NS_BLOCKING)))
    .getChild("blocklist", NS_BLOCKING)!
    .getChildren("item")
    .map((i: XmlElement) => i.attrs.jid);

describe("blocking command (XEP-0191)", () => {
  let ts: TestServer;
  const clients: ConnectedClient[] = [];
  let alice: ConnectedClient;
  let alice2: ConnectedClient;
  let bob: ConnectedClient;
  let carol: ConnectedClient;

  async function login(user: string, resource: string): Promise<ConnectedClient> {
    const c = await onlineWithRoster(ts, user, resource);
    clients.push(c);
    return c;
  }

  before(async () => {
    ts = await startTestServer();
    for (const u of ["alice", "bob", "carol"]) await ts.addUser(u, `${u}-secret`);
    alice = await login("alice", "a1");
    bob = await login("bob", "b1");
    carol = await login("carol", "c1");
    await subscribeBoth(alice, bob);
    await subscribeBoth(alice, carol);
    alice2 = await login("alice", "a2");
  });

  after(async () => {
    for (const c of clients) await c.stop();
    await ts?.stop();
  });

  it("advertises urn:xmpp:blocking on the server's disco#info (§3.1)", async () => {
    const info = await iq(alice, "get", xml("query", "http://jabber.org/protocol/disco#info"), D);
    const vars = info.getChild("query")!.getChildren("feature").map((f: XmlElement) => f.attrs.var);
    assert.ok(vars.includes(NS_BLOCKING), vars.join(" "));
    assert.ok(vars.includes("jabber:iq:privacy"), vars.join(" "));
  });

  it("blocks bob: pushes, bob sees alice offline, his messages bounce, hers get <blocked/>", async () => {
    assert.deepEqual(await blocklistOf(alice), []); // §3.2: empty blocklist
    assert.deepEqual(await blocklistOf(alice2), []); // a2 is now interested in pushes
    bob.received.length = 0;
    alice2.received.length = 0;

    const r = await iq(alice, "set", block(`bob@${D}`));
    assert.equal(r.attrs.type, "result");
    // §3.3: the push to every resource that asked for the blocklist.
    const push = await alice2.waitFor(isPush("block"));
    assert.deepEqual(push.getChild("block", NS_BLOCKING)!.getChildren("item").map((i: XmlElement) => i.attrs.jid), [`bob@${D}`]);
    // §3.3: bob, a subscriber, gets unavailable presence from each of alice's available resources.
    await bob.waitFor(isPresence(`alice@${D}/a1`, "unavailable"));
    await bob.waitFor(isPresence(`alice@${D}/a2`, "unavailable"));
    // And alice's clients see bob go offline too (XEP-0016 §2.10 note).
    await alice.waitFor(isPresence(`bob@${D}/b1`, "unavailable"));
    assert.deepEqual(await blocklistOf(alice2), [`bob@${D}`]);

    // Bob's message bounces with service-unavailable (XEP-0191 §3.3); alice receives nothing.
    alice.received.length = 0;
    await bob.xmpp.send(xml("message", { to: `alice@${D}`, type: "chat", id: "m1" }, xml("body", {}, "hi?")));
    const bounce = await bob.waitFor(isError("message", `alice@${D}`, "service-unavailable"));
    assert.equal(bounce.attrs.id, "m1");
    // An iq get to her account too.
    const vc = await iq(bob, "get", xml("vCard", "vcard-temp"), `alice@${D}`);
    assert.ok(vc.getChild("error")?.getChild("service-unavailable", NS_STANZAS));

    // Alice's own message to bob: not-acceptable with <blocked/> (§3.3).
    await alice.xmpp.send(xml("message", { to: `bob@${D}`, type: "chat", id: "m2" }, xml("body", {}, "can you hear me?")));
    const err = await alice.waitFor(isError("message", `bob@${D}`, "not-acceptable"));
    assert.equal(err.attrs.id, "m2");
    assert.ok(err.getChild("error")!.getChild("blocked", "urn:xmpp:blocking:errors"), err.toString());

    // Alice's presence changes reach carol, not bob; bob's reach nobody of alice.
    bob.received.length = 0;
    await alice.xmpp.send(xml("presence", {}, xml("show", {}, "away")));
    await carol.waitFor((s) => isPresence(`alice@${D}/a1`)(s) && s.getChildText("show") === "away");
    await bob.xmpp.send(xml("presence", {}, xml("show", {}, "dnd")));
    await sleep(300);
    assert.deepEqual(bob.received.filter((s) => s.is("presence") && s.attrs.from?.startsWith("alice@")).map(String), []);
    assert.deepEqual(alice.received.filter((s) => (s.is("message") && s.attrs.type !== "error") || (s.is("presence") && s.attrs.from === `bob@${D}/b1`)).map(String), []);
  });

  it("unblocks bob: push, bob sees alice's presence, messages flow both ways", async () => {
    alice2.received.length = 0;
    bob.received.length = 0;
    const r = await iq(alice, "set", unblock(`bob@${D}`));
    assert.equal(r.attrs.type, "result");
    const push = await alice2.waitFor(isPush("unblock"));
    assert.ok(push.getChild("unblock", NS_BLOCKING));
    // §3.4: the user's current presence goes to the contact again.
    await bob.waitFor((s) => isPresence(`alice@${D}/a1`)(s) && s.getChildText("show") === "away");
    await bob.waitFor(isPresence(`alice@${D}/a2`));
    // And alice learns bob's presence again (a probe on her behalf).
    await alice.waitFor((s) => isPresence(`bob@${D}/b1`)(s) && s.getChildText("show") === "dnd");

    await bob.xmpp.send(xml("message", { to: `alice@${D}`, type: "chat" }, xml("body", {}, "back")));
    await alice.waitFor((s) => s.is("message") && s.getChildText("body") === "back");
    await alice.xmpp.send(xml("message", { to: `bob@${D}`, type: "chat" }, xml("body", {}, "welcome")));
    await bob.waitFor((s) => s.is("message") && s.getChildText("body") === "welcome");
    assert.deepEqual(await blocklistOf(alice), []);
  });

  it("unblocks all (§3.5) and keeps the blocklist across several JIDs", async () => {
    await iq(alice, "set", block(`bob@${D}`, `carol@${D}`, "spam.example"));
    assert.deepEqual((await blocklistOf(alice)).sort(), [`bob@${D}`, `carol@${D}`, "spam.example"]);
    alice2.received.length = 0;
    const r = await iq(alice, "set", unblock());
    assert.equal(r.attrs.type, "result");
    const push = await alice2.waitFor(isPush("unblock"));
    assert.equal(push.getChild("unblock", NS_BLOCKING)!.getChildren("item").length, 0); // "unblock all" push
    assert.deepEqual(await blocklistOf(alice), []);
    await bob.xmpp.send(xml("message", { to: `alice@${D}`, type: "chat" }, xml("body", {}, "still there")));
    await alice.waitFor((s) => s.is("message") && s.getChildText("body") === "still there");
  });

  it("answers bad-request for a block without items and jid-malformed for a bad JID", async () => {
    const empty = await iq(alice, "set", block());
    assert.ok(empty.getChild("error")?.getChild("bad-request", NS_STANZAS), empty.toString());
    const malformed = await iq(alice, "set", block("@@bad"));
    assert.ok(malformed.getChild("error")?.getChild("jid-malformed", NS_STANZAS), malformed.toString());
    assert.deepEqual(await blocklistOf(alice), []);
  });

  it("shows a blocklist set through blocking in the default privacy list (XEP-0191 §5)", async () => {
    await iq(alice, "set", block(`bob@${D}`));
    const names = await iq(alice, "get", xml("query", "jabber:iq:privacy"));
    const def = names.getChild("query")!.getChild("default")?.attrs.name as string;
    assert.ok(def);
    const list = await iq(alice, "get", xml("query", { xmlns: "jabber:iq:privacy" }, xml("list", { name: def })));
    const items = list.getChild("query")!.getChild("list")!.getChildren("item");
    assert.deepEqual(
      items.map((i: XmlElement) => [i.attrs.type, i.attrs.value, i.attrs.action]),
      [["jid", `bob@${D}`, "deny"]],
    );
    await iq(alice, "set", unblock(`bob@${D}`));
  });
});
