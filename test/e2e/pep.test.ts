// XEP-0163 PEP as @xmpp/client users see it: an OMEMO-style (XEP-0384) devicelist published with
// publish-options and its notification to a contact whose caps carry +notify (the server asks the contact's
// client for disco#info and checks the XEP-0115 hash), open bundles read by a non-contact, precondition
// mismatches, forbidden publishing, retraction, the last item at login, max_items, config and node deletion,
// disco, and persistence across a restart.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { CAPS_NODE, type CapsClient, onlineWithCaps } from "../helpers/caps.js";
import { subscribeBoth } from "../helpers/roster.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { type ConnectedClient, connect, type XmlElement, xml } from "../helpers/xmpp-client.js";

const D = "localhost";
const NS_PUBSUB = "http://jabber.org/protocol/pubsub";
const NS_EVENT = "http://jabber.org/protocol/pubsub#event";
const NS_OWNER = "http://jabber.org/protocol/pubsub#owner";
const NS_ERRORS = "http://jabber.org/protocol/pubsub#errors";
const NS_DISCO_INFO = "http://jabber.org/protocol/disco#info";
const NS_DISCO_ITEMS = "http://jabber.org/protocol/disco#items";
const DEVICELIST = "eu.siacs.conversations.axolotl.devicelist";
const BUNDLES = "eu.siacs.conversations.axolotl.bundles:31415";
const NS_AXOLOTL = "eu.siacs.conversations.axolotl";

function publishOptions(fields: Record<string, string>): XmlElement {
  return xml(
    "publish-options",
    {},
    xml(
      "x",
      { xmlns: "jabber:x:data", type: "submit" },
      xml("field", { var: "FORM_TYPE", type: "hidden" }, xml("value", {}, "http://jabber.org/protocol/pubsub#publish-options")),
      ...Object.entries(fields).map(([k, v]) => xml("field", { var: k }, xml("value", {}, v))),
    ),
  );
}

function publish(c: ConnectedClient, node: string, id: string | undefined, payload: XmlElement, options?: Record<string, string>, to?: string): Promise<XmlElement> {
  return c.xmpp.iqCaller.request(
    xml(
      "iq",
      { type: "set", ...(to ? { to } : {}) },
      xml("pubsub", { xmlns: NS_PUBSUB }, xml("publish", { node }, xml("item", id ? { id } : {}, payload)), ...(options ? [publishOptions(options)] : [])),
    ),
  );
}

function items(c: ConnectedClient, owner: string, node: string, attrs: Record<string, string> = {}, ...children: XmlElement[]): Promise<XmlElement> {
  return c.xmpp.iqCaller.request(xml("iq", { type: "get", to: owner }, xml("pubsub", { xmlns: NS_PUBSUB }, xml("items", { node, ...attrs }, ...children))));
}

const devicelist = (...ids: number[]) => xml("list", { xmlns: NS_AXOLOTL }, ...ids.map((id) => xml("device", { id: String(id) })));

/** A notification from `from` about `node`. */
const isEvent = (from: string, node: string, pred: (items: XmlElement) => boolean = () => true) => (s: XmlElement) => {
  if (!s.is("message") || s.attrs.from !== from) return false;
  const its = s.getChild("event", NS_EVENT)?.getChild("items");
  return its !== undefined && its.attrs.node === node && pred(its);
};

const errorOf = (err: unknown) => err as { condition?: string; application?: XmlElement };

async function rejects(p: Promise<unknown>, condition: string, app?: string): Promise<void> {
  try {
    await p;
  } catch (err) {
    assert.equal(errorOf(err).condition, condition);
    if (app) {
      assert.equal(errorOf(err).application?.name, app);
      assert.equal(errorOf(err).application?.attrs.xmlns, NS_ERRORS);
    }
    return;
  }
  assert.fail(`expected ${condition}`);
}

const quiet = (ms = 300) => new Promise((r) => setTimeout(r, ms));

describe("PEP (XEP-0163) with OMEMO-style nodes (XEP-0384)", () => {
  let ts: TestServer;
  let alice: CapsClient;
  let bob: CapsClient;
  const extra: ConnectedClient[] = [];

  before(async () => {
    ts = await startTestServer();
    for (const u of ["alice", "bob", "carol", "dave"]) await ts.addUser(u, `${u}-secret`);
    alice = await onlineWithCaps(ts, "alice", "a1", [DEVICELIST, BUNDLES]);
    bob = await onlineWithCaps(ts, "bob", "b1", [DEVICELIST, "http://jabber.org/protocol/tune"]);
    await subscribeBoth(alice, bob);
  });

  after(async () => {
    for (const c of [alice, bob, ...extra]) await c?.stop();
    await ts?.stop();
  });

  it("announces PEP on the account: identity pubsub/pep and the pubsub features (XEP-0163 §6.1)", async () => {
    const info = await alice.xmpp.iqCaller.request(xml("iq", { type: "get", to: `alice@${D}` }, xml("query", { xmlns: NS_DISCO_INFO })));
    const q = info.getChild("query")!;
    assert.ok(q.getChildren("identity").some((i: XmlElement) => i.attrs.category === "pubsub" && i.attrs.type === "pep"));
    const vars = q.getChildren("feature").map((f: XmlElement) => f.attrs.var);
    for (const f of ["publish", "publish-options", "auto-create", "access-open", "access-presence", "access-roster", "access-whitelist", "persistent-items", "retrieve-items", "retract-items", "last-published", "delete-nodes", "config-node", "create-nodes", "subscribe"]) {
      assert.ok(vars.includes(`${NS_PUBSUB}#${f}`), f);
    }
    assert.ok(vars.includes(NS_PUBSUB));
  });

  it("publishes a devicelist with publish-options access_model=open; a +notify contact and the owner get it", async () => {
    const result = await publish(alice, DEVICELIST, "current", devicelist(1111), { "pubsub#access_model": "open" });
    assert.equal(result.getChild("pubsub", NS_PUBSUB)?.getChild("publish")?.getChild("item")?.attrs.id, "current");
    // The server asked each client for its caps (XEP-0115 §5.4: unknown ver → disco#info to node#ver).
    assert.ok(bob.discoQueries.length >= 1);
    assert.equal(bob.discoQueries[0]?.getChild("query", NS_DISCO_INFO)?.attrs.node?.startsWith(`${CAPS_NODE}#`), true);
    const note = await bob.waitFor(isEvent(`alice@${D}`, DEVICELIST));
    const item = note.getChild("event", NS_EVENT)!.getChild("items")!.getChild("item")!;
    assert.equal(item.attrs.id, "current");
    assert.equal(item.getChild("list", NS_AXOLOTL)?.getChild("device")?.attrs.id, "1111");
    assert.equal(note.attrs.type, "headline");
    await alice.waitFor(isEvent(`alice@${D}`, DEVICELIST));
  });

  it("lets a non-contact read open bundles, but not a node with the default presence access model", async () => {
    const carol = await onlineWithCaps(ts, "carol", "c1", []);
    extra.push(carol);
    const bundle = xml("bundle", { xmlns: NS_AXOLOTL }, xml("signedPreKeyPublic", { signedPreKeyId: "1" }, "BASE64"));
    await publish(alice, BUNDLES, "current", bundle, { "pubsub#access_model": "open" });
    const got = await items(carol, `alice@${D}`, BUNDLES);
    const its = got.getChild("pubsub", NS_PUBSUB)!.getChild("items")!;
    assert.equal(its.attrs.node, BUNDLES);
    assert.equal(its.getChild("item")?.getChild("bundle", NS_AXOLOTL)?.getChild("signedPreKeyPublic")?.getText(), "BASE64");
    // XEP-0060 §6.5.9 / §6.1.3.2: presence access model, no subscription.
    await publish(alice, "http://jabber.org/protocol/tune", undefined, xml("tune", { xmlns: "http://jabber.org/protocol/tune" }, xml("title", {}, "Song")));
    await rejects(items(carol, `alice@${D}`, "http://jabber.org/protocol/tune"), "not-authorized", "presence-subscription-required");
    // The contact may read it.
    const bobs = await items(bob, `alice@${D}`, "http://jabber.org/protocol/tune");
    assert.equal(bobs.getChild("pubsub")!.getChild("items")!.getChildren("item").length, 1);
    // disco#items lists only what the requester may read (XEP-0163 §6.2).
    const listed = async (c: ConnectedClient) =>
      (await c.xmpp.iqCaller.request(xml("iq", { type: "get", to: `alice@${D}` }, xml("query", { xmlns: NS_DISCO_ITEMS }))))
        .getChild("query")!
        .getChildren("item")
        .map((i: XmlElement) => i.attrs.node)
        .sort();
    assert.deepEqual(await listed(carol), [BUNDLES, DEVICELIST].sort());
    assert.deepEqual(await listed(bob), [BUNDLES, DEVICELIST, "http://jabber.org/protocol/tune"].sort());
  });

  it("fails a publish whose publish-options precondition is not met: conflict + precondition-not-met (XEP-0060 §7.1.5)", async () => {
    await rejects(publish(alice, DEVICELIST, "current", devicelist(1111, 2222), { "pubsub#access_model": "whitelist" }), "conflict", "precondition-not-met");
    // A matching precondition succeeds.
    await publish(alice, DEVICELIST, "current", devicelist(1111, 2222), { "pubsub#access_model": "open" });
    await bob.waitFor(isEvent(`alice@${D}`, DEVICELIST, (its) => its.getChild("item")?.getChild("list")?.getChildren("device").length === 2));
  });

  it("refuses publishing to a node one does not own: forbidden (XEP-0060 §7.1.3.1)", async () => {
    await rejects(publish(bob, DEVICELIST, "current", devicelist(6666), undefined, `alice@${D}`), "forbidden");
    await rejects(items(bob, `alice@${D}`, "no-such-node"), "item-not-found");
  });

  it("notifies a retraction (XEP-0060 §7.2.2.1) and forgets the item", async () => {
    const tune = "http://jabber.org/protocol/tune";
    const r = await publish(alice, tune, "t2", xml("tune", { xmlns: tune }, xml("title", {}, "Other")));
    assert.equal(r.getChild("pubsub")!.getChild("publish")!.getChild("item")!.attrs.id, "t2");
    await bob.waitFor(isEvent(`alice@${D}`, tune, (its) => its.getChild("item")?.attrs.id === "t2"));
    await alice.xmpp.iqCaller.request(xml("iq", { type: "set" }, xml("pubsub", { xmlns: NS_PUBSUB }, xml("retract", { node: tune, notify: "true" }, xml("item", { id: "t2" })))));
    await bob.waitFor(isEvent(`alice@${D}`, tune, (its) => its.getChild("retract")?.attrs.id === "t2"));
    const left = await items(alice, `alice@${D}`, tune, {}, xml("item", { id: "t2" }));
    assert.equal(left.getChild("pubsub")!.getChild("items")!.getChildren("item").length, 0);
    await rejects(
      alice.xmpp.iqCaller.request(xml("iq", { type: "set" }, xml("pubsub", { xmlns: NS_PUBSUB }, xml("retract", { node: tune }, xml("item", { id: "t2" }))))),
      "item-not-found",
    );
  });

  it("sends the last published item to a contact's resource when it comes online (XEP-0163 §4.3.4)", async () => {
    const bob2 = await onlineWithCaps(ts, "bob", "b2", [DEVICELIST, "http://jabber.org/protocol/tune"]);
    extra.push(bob2);
    const note = await bob2.waitFor(isEvent(`alice@${D}`, DEVICELIST));
    assert.equal(note.getChild("event", NS_EVENT)!.getChild("items")!.getChild("item")!.getChild("list")!.getChildren("device").length, 2);
    assert.ok(note.getChild("delay", "urn:xmpp:delay"), "the last item carries its publication time");
    // Its caps were cached from bob's first login (same ver): no second disco#info query.
    assert.equal(bob2.discoQueries.length, 0);
  });

  it("keeps at most max_items, dropping the oldest, and honours max_items on retrieval (XEP-0060 §6.5.7)", async () => {
    const node = "urn:example:notes";
    for (const n of [1, 2, 3]) await publish(alice, node, `n${n}`, xml("note", { xmlns: node }, `note ${n}`), { "pubsub#max_items": "2" });
    const all = await items(alice, `alice@${D}`, node);
    assert.deepEqual(all.getChild("pubsub")!.getChild("items")!.getChildren("item").map((i: XmlElement) => i.attrs.id), ["n2", "n3"]);
    const newest = await items(alice, `alice@${D}`, node, { max_items: "1" });
    assert.deepEqual(newest.getChild("pubsub")!.getChild("items")!.getChildren("item").map((i: XmlElement) => i.attrs.id), ["n3"]);
  });

  it("lets the owner read and change the node configuration and delete the node (XEP-0060 §8.2, §8.4)", async () => {
    const node = "urn:example:notes";
    const cfg = await alice.xmpp.iqCaller.request(xml("iq", { type: "get" }, xml("pubsub", { xmlns: NS_OWNER }, xml("configure", { node }))));
    const form = cfg.getChild("pubsub", NS_OWNER)!.getChild("configure")!.getChild("x", "jabber:x:data")!;
    const value = (v: string) => form.getChildren("field").find((f: XmlElement) => f.attrs.var === v)?.getChildText("value");
    assert.equal(value("pubsub#max_items"), "2");
    assert.equal(value("pubsub#access_model"), "presence");
    await rejects(bob.xmpp.iqCaller.request(xml("iq", { type: "get", to: `alice@${D}` }, xml("pubsub", { xmlns: NS_OWNER }, xml("configure", { node })))), "forbidden");
    await alice.xmpp.iqCaller.request(
      xml(
        "iq",
        { type: "set" },
        xml(
          "pubsub",
          { xmlns: NS_OWNER },
          xml(
            "configure",
            { node },
            xml(
              "x",
              { xmlns: "jabber:x:data", type: "submit" },
              xml("field", { var: "FORM_TYPE", type: "hidden" }, xml("value", {}, "http://jabber.org/protocol/pubsub#node_config")),
              xml("field", { var: "pubsub#max_items" }, xml("value", {}, "1")),
            ),
          ),
        ),
      ),
    );
    const left = await items(alice, `alice@${D}`, node);
    assert.deepEqual(left.getChild("pubsub")!.getChild("items")!.getChildren("item").map((i: XmlElement) => i.attrs.id), ["n3"]);
    await alice.xmpp.iqCaller.request(xml("iq", { type: "set" }, xml("pubsub", { xmlns: NS_OWNER }, xml("delete", { node }))));
    await rejects(items(alice, `alice@${D}`, node), "item-not-found");
  });

  it("whitelist nodes (XEP-0223): only the owner reads them", async () => {
    const node = "urn:xmpp:bookmarks:1";
    await publish(alice, node, "room@conference.localhost", xml("conference", { xmlns: node, autojoin: "true" }), { "pubsub#access_model": "whitelist", "pubsub#persist_items": "true", "pubsub#max_items": "max" });
    await rejects(items(bob, `alice@${D}`, node), "not-allowed", "closed-node");
    const own = await items(alice, `alice@${D}`, node);
    assert.equal(own.getChild("pubsub")!.getChild("items")!.getChild("item")!.attrs.id, "room@conference.localhost");
    await quiet(100);
    assert.equal(bob.received.filter(isEvent(`alice@${D}`, node)).length, 0, "no notification leaks to a contact");
  });

  it("explicit subscription to an open node by a non-contact: last item, then notifications (XEP-0060 §6.1)", async () => {
    const dave = await onlineWithCaps(ts, "dave", "d1", []);
    extra.push(dave);
    const sub = await dave.xmpp.iqCaller.request(xml("iq", { type: "set", to: `alice@${D}` }, xml("pubsub", { xmlns: NS_PUBSUB }, xml("subscribe", { node: DEVICELIST, jid: dave.jid }))));
    assert.equal(sub.getChild("pubsub")!.getChild("subscription")!.attrs.subscription, "subscribed");
    await dave.waitFor(isEvent(`alice@${D}`, DEVICELIST));
    await rejects(
      dave.xmpp.iqCaller.request(xml("iq", { type: "set", to: `alice@${D}` }, xml("pubsub", { xmlns: NS_PUBSUB }, xml("subscribe", { node: DEVICELIST, jid: `bob@${D}` })))),
      "bad-request",
      "invalid-jid",
    );
    await publish(alice, DEVICELIST, "current", devicelist(1111, 2222, 3333), { "pubsub#access_model": "open" });
    await dave.waitFor(isEvent(`alice@${D}`, DEVICELIST, (its) => its.getChild("item")?.getChild("list")?.getChildren("device").length === 3));
    await dave.xmpp.iqCaller.request(xml("iq", { type: "set", to: `alice@${D}` }, xml("pubsub", { xmlns: NS_PUBSUB }, xml("unsubscribe", { node: DEVICELIST, jid: dave.jid }))));
  });

  it("keeps nodes, items and configuration across a restart", async () => {
    for (const c of [alice, bob, ...extra]) await c.stop();
    extra.length = 0;
    await ts.restart();
    alice = await onlineWithCaps(ts, "alice", "a3", []);
    const got = await items(alice, `alice@${D}`, DEVICELIST);
    assert.equal(got.getChild("pubsub")!.getChild("items")!.getChild("item")!.getChild("list")!.getChildren("device").length, 3);
    await rejects(publish(alice, DEVICELIST, "current", devicelist(1), { "pubsub#access_model": "presence" }), "conflict", "precondition-not-met");
    const bob3 = await onlineWithCaps(ts, "bob", "b3", [DEVICELIST]);
    extra.push(bob3);
    await bob3.waitFor(isEvent(`alice@${D}`, DEVICELIST));
  });
});
