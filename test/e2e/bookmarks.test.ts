// XEP-0402 PEP Native Bookmarks as @xmpp/client users see them: a bookmark published with the §3.3
// publish-options reaches the user's other +notify resource, retraction notifies, a contact cannot read the
// whitelist node (XEP-0223); XEP-0049 private storage of storage:bookmarks (#compat) and the legacy PEP node
// (#compat-pep) convert to and from the items (XEP-0402 §5.3), with no notification for unchanged bookmarks.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { onlineWithCaps } from "../helpers/caps.js";
import { subscribeBoth } from "../helpers/roster.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { type ConnectedClient, connect, type XmlElement, xml } from "../helpers/xmpp-client.js";

const D = "localhost";
const NS_PUBSUB = "http://jabber.org/protocol/pubsub";
const NS_EVENT = "http://jabber.org/protocol/pubsub#event";
const NS_ERRORS = "http://jabber.org/protocol/pubsub#errors";
const NS_DISCO_INFO = "http://jabber.org/protocol/disco#info";
const NS_PRIVATE = "jabber:iq:private";
const NS_BM = "urn:xmpp:bookmarks:1";
const NS_LEGACY = "storage:bookmarks";

const publishOptions = (fields: Record<string, string>) =>
  xml(
    "publish-options",
    {},
    xml(
      "x",
      { xmlns: "jabber:x:data", type: "submit" },
      xml("field", { var: "FORM_TYPE", type: "hidden" }, xml("value", {}, "http://jabber.org/protocol/pubsub#publish-options")),
      ...Object.entries(fields).map(([k, v]) => xml("field", { var: k }, xml("value", {}, v))),
    ),
  );
// XEP-0402 §3.3.
const BOOKMARK_OPTIONS = { "pubsub#persist_items": "true", "pubsub#max_items": "max", "pubsub#send_last_published_item": "never", "pubsub#access_model": "whitelist" };

const publish = (c: ConnectedClient, node: string, id: string, payload: XmlElement, options?: Record<string, string>) =>
  c.xmpp.iqCaller.request(xml("iq", { type: "set" }, xml("pubsub", { xmlns: NS_PUBSUB }, xml("publish", { node }, xml("item", { id }, payload)), ...(options ? [publishOptions(options)] : []))));
const items = (c: ConnectedClient, owner: string, node: string) =>
  c.xmpp.iqCaller.request(xml("iq", { type: "get", to: owner }, xml("pubsub", { xmlns: NS_PUBSUB }, xml("items", { node }))));
const itemsOf = (r: XmlElement) => r.getChild("pubsub", NS_PUBSUB)!.getChild("items")!.getChildren("item") as XmlElement[];
const privateGet = (c: ConnectedClient) => c.xmpp.iqCaller.request(xml("iq", { type: "get" }, xml("query", { xmlns: NS_PRIVATE }, xml("storage", { xmlns: NS_LEGACY }))));
const privateSet = (c: ConnectedClient, storage: XmlElement) => c.xmpp.iqCaller.request(xml("iq", { type: "set" }, xml("query", { xmlns: NS_PRIVATE }, storage)));

const isEvent = (node: string, pred: (items: XmlElement) => boolean) => (s: XmlElement) => {
  if (!s.is("message")) return false;
  const its = s.getChild("event", NS_EVENT)?.getChild("items");
  return its !== undefined && its.attrs.node === node && pred(its);
};
const quiet = (ms = 300) => new Promise((r) => setTimeout(r, ms));

describe("bookmarks (XEP-0402 with #compat and #compat-pep)", () => {
  let ts: TestServer;
  let a1: ConnectedClient;
  let a2: ConnectedClient;
  let bob: ConnectedClient;

  before(async () => {
    ts = await startTestServer();
    for (const u of ["alice", "bob"]) await ts.addUser(u, `${u}-secret`);
    a1 = await onlineWithCaps(ts, "alice", "phone", [NS_BM]);
    a2 = await onlineWithCaps(ts, "alice", "laptop", [NS_BM, NS_LEGACY]);
    bob = await onlineWithCaps(ts, "bob", "b1", [NS_BM, NS_LEGACY, "urn:example:private"]);
    await subscribeBoth(a1, bob);
  });

  after(async () => {
    for (const c of [a1, a2, bob]) await c?.stop();
    await ts?.stop();
  });

  it("announces #compat, #compat-pep and publish-options on the account (XEP-0402 §5.3, §7)", async () => {
    const info = await a1.xmpp.iqCaller.request(xml("iq", { type: "get", to: `alice@${D}` }, xml("query", { xmlns: NS_DISCO_INFO })));
    const vars = info.getChild("query")!.getChildren("feature").map((f: XmlElement) => f.attrs.var);
    for (const f of [`${NS_BM}#compat`, `${NS_BM}#compat-pep`, `${NS_PUBSUB}#publish-options`]) assert.ok(vars.includes(f), f);
  });

  it("stores a bookmark with the §3.3 publish-options and notifies the other +notify resource", async () => {
    const conf = xml("conference", { xmlns: NS_BM, name: "The Play's the Thing", autojoin: "true" }, xml("nick", {}, "JC"), xml("extensions", {}, xml("pinned", { xmlns: "urn:xmpp:bookmarks-pinning:0" })));
    await publish(a1, NS_BM, "theplay@conference.shakespeare.lit", conf, BOOKMARK_OPTIONS);
    const note = await a2.waitFor(isEvent(NS_BM, (its) => its.getChild("item")?.attrs.id === "theplay@conference.shakespeare.lit"));
    assert.equal(note.attrs.from, `alice@${D}`);
    assert.equal(note.getChild("event", NS_EVENT)!.getChild("items")!.getChild("item")!.getChild("conference", NS_BM)?.getChildText("nick"), "JC");
    const got = itemsOf(await items(a2, `alice@${D}`, NS_BM));
    assert.equal(got.length, 1);
    assert.equal(got[0]?.getChild("conference", NS_BM)?.attrs.name, "The Play's the Thing");
    // The same options again meet the node's configuration (XEP-0060 §7.1.5).
    await publish(a1, NS_BM, "orchard@conference.shakespeare.lit", xml("conference", { xmlns: NS_BM, name: "The Orchard" }), BOOKMARK_OPTIONS);
    assert.equal(itemsOf(await items(a1, `alice@${D}`, NS_BM)).length, 2);
  });

  it("refuses the bookmarks to a contact: whitelist access (XEP-0223 §3)", async () => {
    try {
      await items(bob, `alice@${D}`, NS_BM);
      assert.fail("a contact read the bookmarks");
    } catch (err) {
      const e = err as { condition?: string; application?: XmlElement };
      assert.equal(e.condition, "not-allowed");
      assert.equal(e.application?.name, "closed-node");
      assert.equal(e.application?.attrs.xmlns, NS_ERRORS);
    }
    // No notification reached the contact either, though its caps ask for them.
    assert.ok(!bob.received.some(isEvent(NS_BM, () => true)));
  });

  it("answers a XEP-0049 get of storage:bookmarks with the items as a XEP-0048 list (§5.3.1)", async () => {
    const storage = (await privateGet(a1)).getChild("query", NS_PRIVATE)!.getChild("storage", NS_LEGACY)!;
    const confs = storage.getChildren("conference") as XmlElement[];
    const play = confs.find((c) => c.attrs.jid === "theplay@conference.shakespeare.lit");
    assert.ok(play);
    assert.equal(play.attrs.autojoin, "true");
    assert.equal(play.attrs.name, "The Play's the Thing");
    assert.equal(play.getChildText("nick"), "JC");
    assert.ok(play.getChild("pinned", "urn:xmpp:bookmarks-pinning:0"), "extensions kept");
    assert.equal(confs.find((c) => c.attrs.jid === "orchard@conference.shakespeare.lit")?.attrs.autojoin, "false");
    // The legacy PEP node (#compat-pep) holds the same list.
    const legacy = itemsOf(await items(a1, `alice@${D}`, NS_LEGACY));
    assert.equal(legacy[0]?.attrs.id, "current");
    assert.equal(legacy[0]?.getChild("storage", NS_LEGACY)?.getChildren("conference").length, 2);
  });

  it("turns a XEP-0049 set into item updates: new and changed published, missing retracted, unchanged silent (§5.3.2)", async () => {
    const mark = a2.received.length;
    const storage = xml(
      "storage",
      { xmlns: NS_LEGACY },
      // unchanged
      xml("conference", { jid: "theplay@conference.shakespeare.lit", name: "The Play's the Thing", autojoin: "true" }, xml("nick", {}, "JC"), xml("pinned", { xmlns: "urn:xmpp:bookmarks-pinning:0" })),
      // new, with a password
      xml("conference", { jid: "council@conference.underhill.org", name: "Council of Oberon", autojoin: "1" }, xml("nick", {}, "Puck"), xml("password", {}, "titania")),
      xml("url", { name: "Complete Works", url: "http://the-tech.mit.edu/Shakespeare/" }),
      // orchard missing: retracted
    );
    await privateSet(a1, storage);
    const added = await a2.waitFor(isEvent(NS_BM, (its) => its.getChild("item")?.attrs.id === "council@conference.underhill.org"));
    const conf = added.getChild("event", NS_EVENT)!.getChild("items")!.getChild("item")!.getChild("conference", NS_BM)!;
    assert.equal(conf.attrs.autojoin, "true");
    assert.equal(conf.getChildText("password"), "titania");
    await a2.waitFor(isEvent(NS_BM, (its) => its.getChild("retract")?.attrs.id === "orchard@conference.shakespeare.lit"));
    await quiet();
    const later = a2.received.slice(mark).filter(isEvent(NS_BM, (its) => its.getChild("item")?.attrs.id === "theplay@conference.shakespeare.lit"));
    assert.equal(later.length, 0, "no notification for the unchanged bookmark");
    const ids = itemsOf(await items(a1, `alice@${D}`, NS_BM)).map((i) => i.attrs.id).sort();
    assert.deepEqual(ids, ["council@conference.underhill.org", "theplay@conference.shakespeare.lit"]);
    // A get gives the list back, URL bookmark included.
    const back = (await privateGet(a2)).getChild("query", NS_PRIVATE)!.getChild("storage", NS_LEGACY)!;
    assert.equal(back.getChildren("conference").length, 2);
    assert.equal(back.getChild("url")?.attrs.url, "http://the-tech.mit.edu/Shakespeare/");
    // The other resource following the legacy PEP node heard of it too.
    await a2.waitFor(isEvent(NS_LEGACY, (its) => its.getChild("item")?.getChild("storage", NS_LEGACY)?.getChildren("conference").length === 2));
  });

  it("turns a XEP-0048 list published to the legacy PEP node into items (#compat-pep)", async () => {
    const storage = xml("storage", { xmlns: NS_LEGACY }, xml("conference", { jid: "theplay@conference.shakespeare.lit", name: "Renamed", autojoin: "false" }));
    await publish(a2, NS_LEGACY, "current", storage, { "pubsub#persist_items": "true", "pubsub#access_model": "whitelist" });
    const got = itemsOf(await items(a1, `alice@${D}`, NS_BM));
    assert.deepEqual(got.map((i) => i.attrs.id), ["theplay@conference.shakespeare.lit"]);
    assert.equal(got[0]?.getChild("conference", NS_BM)?.attrs.name, "Renamed");
    await a1.waitFor(isEvent(NS_BM, (its) => its.getChild("retract")?.attrs.id === "council@conference.underhill.org"));
  });

  it("keeps other private data stored beside the list, and refuses another user's (XEP-0049 §5)", async () => {
    await a1.xmpp.iqCaller.request(
      xml("iq", { type: "set" }, xml("query", { xmlns: NS_PRIVATE }, xml("storage", { xmlns: NS_LEGACY }), xml("prefs", { xmlns: "urn:example:prefs" }, xml("colour", {}, "red")))),
    );
    const prefs = await a1.xmpp.iqCaller.request(xml("iq", { type: "get" }, xml("query", { xmlns: NS_PRIVATE }, xml("prefs", { xmlns: "urn:example:prefs" }))));
    assert.equal(prefs.getChild("query", NS_PRIVATE)?.getChild("prefs")?.getChildText("colour"), "red");
    assert.equal(itemsOf(await items(a1, `alice@${D}`, NS_BM)).length, 0, "the empty list emptied the items");
    try {
      await bob.xmpp.iqCaller.request(xml("iq", { type: "get", to: `alice@${D}` }, xml("query", { xmlns: NS_PRIVATE }, xml("storage", { xmlns: NS_LEGACY }))));
      assert.fail("bob read alice's bookmarks");
    } catch (err) {
      assert.equal((err as { condition?: string }).condition, "forbidden");
    }
  });

  it("keeps private data published through PEP with publish-options from contacts (XEP-0223)", async () => {
    const node = "urn:example:private";
    await publish(a1, node, "current", xml("secret", { xmlns: node }, "42"), { "pubsub#persist_items": "true", "pubsub#access_model": "whitelist" });
    try {
      await items(bob, `alice@${D}`, node);
      assert.fail("a contact read private data");
    } catch (err) {
      assert.equal((err as { condition?: string }).condition, "not-allowed");
    }
    const own = itemsOf(await items(a2, `alice@${D}`, node));
    assert.equal(own[0]?.getChildText("secret") ?? own[0]?.getChild("secret", node)?.getText(), "42");
    await quiet();
    assert.ok(!bob.received.some(isEvent(node, () => true)), "no notification to the contact");
    // XEP-0223 §4: options that do not match the node fail with precondition-not-met.
    try {
      await publish(a1, node, "current", xml("secret", { xmlns: node }, "43"), { "pubsub#access_model": "presence" });
      assert.fail("precondition ignored");
    } catch (err) {
      const e = err as { condition?: string; application?: XmlElement };
      assert.equal(e.condition, "conflict");
      assert.equal(e.application?.name, "precondition-not-met");
    }
  });

  it("keeps bookmarks across a restart", async () => {
    await publish(a1, NS_BM, "persist@conference.shakespeare.lit", xml("conference", { xmlns: NS_BM, name: "Kept" }), BOOKMARK_OPTIONS);
    for (const c of [a1, a2, bob]) await c.stop();
    await ts.restart();
    a1 = await onlineWithCaps(ts, "alice", "phone", [NS_BM]);
    a2 = await onlineWithCaps(ts, "alice", "laptop", []);
    bob = await onlineWithCaps(ts, "bob", "b1", []);
    const storage = (await privateGet(a1)).getChild("query", NS_PRIVATE)!.getChild("storage", NS_LEGACY)!;
    assert.equal(storage.getChild("conference")?.attrs.jid, "persist@conference.shakespeare.lit");
  });
});
