// XEP-0060 pubsub service at pubsub.localhost, as users see it over @xmpp/client: found in the host's disco,
// node life cycle (create, configure, delete), publish with and without payload delivery, retract
// notifications, max_items, the last item on subscribe, access models open / whitelist / authorize (with the
// owner's approval form), outcasts, publishers, purge, subscription options, the pubsub#errors conditions, and
// nodes and items still there after a restart (SQLite and PostgreSQL). The slixmpp interop is in pubsub-service-slixmpp.test.ts.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { iq } from "../helpers/adhoc.js";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { type ConnectedClient, connect, type XmlElement, xml } from "../helpers/xmpp-client.js";

const PS = "pubsub.localhost";
const NS_PUBSUB = "http://jabber.org/protocol/pubsub";
const NS_OWNER = "http://jabber.org/protocol/pubsub#owner";
const NS_EVENT = "http://jabber.org/protocol/pubsub#event";
const NS_ERRORS = "http://jabber.org/protocol/pubsub#errors";
const NS_DATA = "jabber:x:data";
const NS_DISCO_INFO = "http://jabber.org/protocol/disco#info";
const NS_DISCO_ITEMS = "http://jabber.org/protocol/disco#items";
const STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas";

const form = (type: string, formType: string, fields: Record<string, string>) =>
  xml(
    "x",
    { xmlns: NS_DATA, type },
    xml("field", { var: "FORM_TYPE", type: "hidden" }, xml("value", {}, formType)),
    ...Object.entries(fields).map(([k, v]) => xml("field", { var: k }, xml("value", {}, v))),
  );
const nodeConfig = (fields: Record<string, string>) =>
  xml("configure", {}, form("submit", "http://jabber.org/protocol/pubsub#node_config", fields));

const entry = (text: string) => xml("entry", { xmlns: "urn:example:news" }, xml("title", {}, text));

const create = (c: ConnectedClient, node: string | undefined, config?: Record<string, string>) =>
  iq(
    c,
    "set",
    xml("pubsub", { xmlns: NS_PUBSUB }, xml("create", node ? { node } : {}), ...(config ? [nodeConfig(config)] : [])),
    PS,
  );
const publish = (c: ConnectedClient, node: string, id: string | undefined, payload: XmlElement) =>
  iq(
    c,
    "set",
    xml("pubsub", { xmlns: NS_PUBSUB }, xml("publish", { node }, xml("item", id ? { id } : {}, payload))),
    PS,
  );
const subscribe = (c: ConnectedClient, node: string, jid = c.jid) =>
  iq(c, "set", xml("pubsub", { xmlns: NS_PUBSUB }, xml("subscribe", { node, jid })), PS);
const items = (c: ConnectedClient, node: string, max?: number) =>
  iq(
    c,
    "get",
    xml("pubsub", { xmlns: NS_PUBSUB }, xml("items", { node, ...(max ? { max_items: String(max) } : {}) })),
    PS,
  );
const ownerSet = (c: ConnectedClient, child: XmlElement) => iq(c, "set", xml("pubsub", { xmlns: NS_OWNER }, child), PS);
const affiliate = (c: ConnectedClient, node: string, jid: string, affiliation: string) =>
  ownerSet(c, xml("affiliations", { node }, xml("affiliation", { jid, affiliation })));

function ok(r: XmlElement): XmlElement {
  assert.equal(r.attrs.type, "result", r.toString());
  return r;
}

/** The RFC 6120 condition and the pubsub#errors condition of an error reply. */
function errorOf(r: XmlElement): { condition: string; app: string | undefined } {
  assert.equal(r.attrs.type, "error", r.toString());
  const e = r.getChild("error") as XmlElement;
  const kids = e.children.filter((c): c is XmlElement => typeof c !== "string");
  return {
    condition: (kids.find((c) => c.attrs.xmlns === STANZAS) as XmlElement).name,
    app: kids.find((c) => c.attrs.xmlns === NS_ERRORS)?.name,
  };
}

const itemIds = (r: XmlElement) =>
  (ok(r).getChild("pubsub", NS_PUBSUB)?.getChild("items") as XmlElement | undefined)!
    .getChildren("item")
    .map((i) => i.attrs.id);

/** The next event notification from the service about `node` that matches `pred`. */
const eventFor = (
  c: ConnectedClient,
  node: string,
  pred: (event: XmlElement) => boolean = () => true,
  timeoutMs = 5000,
) =>
  c.waitFor((s) => {
    const ev = s.is("message") && s.attrs.from === PS ? s.getChild("event", NS_EVENT) : undefined;
    const child = ev?.children.find((k): k is XmlElement => typeof k !== "string");
    return child !== undefined && child.attrs.node === node && pred(child);
  }, timeoutMs);

const itemEvent = (id: string) => (child: XmlElement) =>
  child.name === "items" && child.getChild("item")?.attrs.id === id;

/** Whether a stanza matching `pred` arrives within a short while (for what must not arrive). */
async function arrives(c: ConnectedClient, pred: (s: XmlElement) => boolean, ms = 700): Promise<boolean> {
  try {
    await c.waitFor(pred, ms);
    return true;
  } catch {
    return false;
  }
}

describe("pubsub service (XEP-0060) on pubsub.<host>", { timeout: 120_000 }, () => {
  let ts: TestServer;
  let alice: ConnectedClient; // creates nodes
  let bob: ConnectedClient; // subscribes
  let carol: ConnectedClient; // another user
  let admin: ConnectedClient;

  // Fixed resources, so that full-JID subscriptions still reach the clients after the restart; available, so
  // that what the service sends an owner's bare JID (the approval form, §8.6) reaches them.
  const online = async (user: string) => {
    const c = await connect(ts, user, `${user}-secret`, { resource: "desk" });
    await c.xmpp.send(xml("presence"));
    return c;
  };
  const connectAll = async () => {
    alice = await online("alice");
    bob = await online("bob");
    carol = await online("carol");
    admin = await online("admin");
  };
  const stopAll = async () => {
    for (const c of [alice, bob, carol, admin]) await c?.stop();
  };

  before(async () => {
    ts = await startTestServer({
      yaml: [
        "admins: [admin@localhost]",
        "modules:",
        "  pubsub:",
        "    max_nodes_per_user: 12",
        "    max_item_size: 2048",
      ].join("\n"),
    });
    for (const u of ["alice", "bob", "carol", "admin"]) await ts.addUser(u, `${u}-secret`);
    await connectAll();
  });

  after(async () => {
    await stopAll();
    await ts?.stop();
  });

  it("is listed in the host's disco#items with identity pubsub/service and its features (§5.1)", async () => {
    const list = ok(await iq(alice, "get", xml("query", NS_DISCO_ITEMS), "localhost"));
    const jids = (list.getChild("query", NS_DISCO_ITEMS) as XmlElement).getChildren("item").map((i) => i.attrs.jid);
    assert.ok(jids.includes(PS), jids.join(" "));
    const q = ok(await iq(alice, "get", xml("query", NS_DISCO_INFO), PS)).getChild(
      "query",
      NS_DISCO_INFO,
    ) as XmlElement;
    const id = q.getChild("identity") as XmlElement;
    assert.deepEqual([id.attrs.category, id.attrs.type], ["pubsub", "service"]);
    const features = q.getChildren("feature").map((f) => f.attrs.var);
    for (const f of [
      "publish",
      "subscribe",
      "create-nodes",
      "access-authorize",
      "access-whitelist",
      "purge-nodes",
      "persistent-items",
      "last-published",
    ])
      assert.ok(features.includes(`${NS_PUBSUB}#${f}`), f);
  });

  it("creates a node, publishes, notifies a subscriber with the payload, and lists nodes and items in disco (§8.1, §7.1, §5.2, §5.5)", async () => {
    ok(await create(alice, "news"));
    assert.deepEqual(errorOf(await create(alice, "news")), { condition: "conflict", app: undefined }); // §8.1.3.4
    const sub = ok(await subscribe(bob, "news"))
      .getChild("pubsub", NS_PUBSUB)
      ?.getChild("subscription") as XmlElement;
    assert.equal(sub.attrs.subscription, "subscribed");
    const waiting = eventFor(bob, "news", itemEvent("first"));
    const r = ok(await publish(alice, "news", "first", entry("Hello")));
    assert.equal(r.getChild("pubsub", NS_PUBSUB)?.getChild("publish")?.getChild("item")?.attrs.id, "first");
    const ev = await waiting;
    assert.equal(
      ev.getChild("event", NS_EVENT)?.getChild("items")?.getChild("item")?.getChild("entry")?.getChildText("title"),
      "Hello",
    );
    assert.deepEqual(itemIds(await items(carol, "news")), ["first"]);

    const nodes = ok(await iq(carol, "get", xml("query", NS_DISCO_ITEMS), PS)).getChild(
      "query",
      NS_DISCO_ITEMS,
    ) as XmlElement;
    assert.ok(nodes.getChildren("item").some((i) => i.attrs.node === "news" && i.attrs.jid === PS));
    const its = ok(await iq(carol, "get", xml("query", { xmlns: NS_DISCO_ITEMS, node: "news" }), PS)).getChild(
      "query",
      NS_DISCO_ITEMS,
    ) as XmlElement;
    assert.deepEqual(
      its.getChildren("item").map((i) => i.attrs.name),
      ["first"],
    );
    const info = ok(await iq(carol, "get", xml("query", { xmlns: NS_DISCO_INFO, node: "news" }), PS)).getChild(
      "query",
      NS_DISCO_INFO,
    ) as XmlElement;
    assert.equal(info.getChild("identity")?.attrs.type, "leaf");
  });

  it("generates an item id and an instant node name when none is given (§7.1.2, §8.1.2)", async () => {
    const r = ok(await publish(alice, "news", undefined, entry("no id")));
    const id = r.getChild("pubsub", NS_PUBSUB)?.getChild("publish")?.getChild("item")?.attrs.id;
    assert.ok(id && id.length > 8, r.toString());
    const inst = ok(await create(alice, undefined));
    assert.ok(inst.getChild("pubsub", NS_PUBSUB)?.getChild("create")?.attrs.node, inst.toString());
  });

  it("sends notifications without payload when deliver_payloads is off, and retractions when notify_retract is on (§7.1.2.1, §7.2.2.1)", async () => {
    ok(await create(alice, "light", { "pubsub#deliver_payloads": "0", "pubsub#notify_retract": "1" }));
    ok(await subscribe(bob, "light"));
    const waiting = eventFor(bob, "light", itemEvent("x1"));
    ok(await publish(alice, "light", "x1", entry("secret body")));
    const item = (await waiting).getChild("event", NS_EVENT)?.getChild("items")?.getChild("item") as XmlElement;
    assert.equal(item.children.length, 0, item.toString());
    const retracted = eventFor(bob, "light", (c) => c.getChild("retract")?.attrs.id === "x1");
    ok(
      await iq(
        alice,
        "set",
        xml("pubsub", { xmlns: NS_PUBSUB }, xml("retract", { node: "light" }, xml("item", { id: "x1" }))),
        PS,
      ),
    );
    await retracted;
    assert.deepEqual(itemIds(await items(bob, "light")), []);
    // §7.2.3.2: retracting it again: item-not-found.
    const again = await iq(
      alice,
      "set",
      xml("pubsub", { xmlns: NS_PUBSUB }, xml("retract", { node: "light" }, xml("item", { id: "x1" }))),
      PS,
    );
    assert.equal(errorOf(again).condition, "item-not-found");
  });

  it("keeps max_items items, oldest dropped, and sends the last item to a new subscriber (§6.1.7)", async () => {
    ok(await create(alice, "ticker", { "pubsub#max_items": "2" }));
    for (const id of ["a", "b", "c"]) ok(await publish(alice, "ticker", id, entry(id)));
    assert.deepEqual(itemIds(await items(carol, "ticker")), ["b", "c"]);
    assert.deepEqual(itemIds(await items(carol, "ticker", 1)), ["c"]);
    const last = eventFor(carol, "ticker", itemEvent("c"));
    ok(await subscribe(carol, "ticker"));
    const msg = await last;
    assert.ok(msg.getChild("delay", "urn:xmpp:delay"), "the last item carries its publication time");
  });

  it("refuses what XEP-0060 says to refuse, with its pubsub#errors conditions", async () => {
    // §7.1.3.1 a non-publisher publishes; §8.2.3.3, §8.4.3.1 a non-owner configures or deletes.
    assert.equal(errorOf(await publish(bob, "news", "b1", entry("x"))).condition, "forbidden");
    assert.equal(
      errorOf(await iq(bob, "get", xml("pubsub", { xmlns: NS_OWNER }, xml("configure", { node: "news" })), PS))
        .condition,
      "forbidden",
    );
    assert.equal(errorOf(await ownerSet(bob, xml("delete", { node: "news" }))).condition, "forbidden");
    // §6.1.3.12, §6.5.9.11 no such node.
    assert.equal(errorOf(await subscribe(bob, "nowhere")).condition, "item-not-found");
    assert.equal(errorOf(await items(bob, "nowhere")).condition, "item-not-found");
    // §6.1.3.1 subscribing someone else.
    assert.deepEqual(errorOf(await subscribe(bob, "news", "carol@localhost")), {
      condition: "bad-request",
      app: "invalid-jid",
    });
    // §6.2.3.2 unsubscribing without a subscription.
    assert.deepEqual(
      errorOf(
        await iq(
          carol,
          "set",
          xml("pubsub", { xmlns: NS_PUBSUB }, xml("unsubscribe", { node: "news", jid: carol.jid })),
          PS,
        ),
      ),
      {
        condition: "unexpected-request",
        app: "not-subscribed",
      },
    );
    // §7.1.3.4 a payload too big (max_item_size 2048 here); §7.1.3.5/6 no or several payloads.
    assert.deepEqual(errorOf(await publish(alice, "news", "big", entry("x".repeat(3000)))), {
      condition: "not-acceptable",
      app: "payload-too-big",
    });
    assert.deepEqual(
      errorOf(
        await iq(alice, "set", xml("pubsub", { xmlns: NS_PUBSUB }, xml("publish", { node: "news" }, xml("item"))), PS),
      ),
      {
        condition: "bad-request",
        app: "payload-required",
      },
    );
    // §8.2.5.3 a bad configuration value.
    const bad = await ownerSet(
      alice,
      xml(
        "configure",
        { node: "news" },
        form("submit", "http://jabber.org/protocol/pubsub#node_config", { "pubsub#max_items": "0" }),
      ),
    );
    assert.equal(errorOf(bad).condition, "not-acceptable");
    // §7.2.3.3 no node id.
    assert.deepEqual(
      errorOf(
        await iq(alice, "set", xml("pubsub", { xmlns: NS_PUBSUB }, xml("retract", {}, xml("item", { id: "a" }))), PS),
      ),
      {
        condition: "bad-request",
        app: "nodeid-required",
      },
    );
  });

  it("limits the nodes one user owns (max_nodes_per_user)", async () => {
    let last: XmlElement | undefined;
    for (let i = 0; i < 15; i++) {
      last = await create(carol, `carol-${i}`);
      if (last.attrs.type === "error") break;
    }
    assert.deepEqual(errorOf(last as XmlElement), { condition: "not-allowed", app: "max-nodes-exceeded" });
  });

  it("whitelist: only members read or subscribe; others get not-allowed + closed-node (§6.1.3.4)", async () => {
    ok(await create(alice, "club", { "pubsub#access_model": "whitelist" }));
    ok(await publish(alice, "club", "m1", entry("members only")));
    assert.deepEqual(errorOf(await subscribe(bob, "club")), { condition: "not-allowed", app: "closed-node" });
    assert.deepEqual(errorOf(await items(bob, "club")), { condition: "not-allowed", app: "closed-node" });
    ok(await affiliate(alice, "club", "bob@localhost", "member"));
    assert.deepEqual(itemIds(await items(bob, "club")), ["m1"]);
    ok(await subscribe(bob, "club"));
    const affs = ok(
      await iq(alice, "get", xml("pubsub", { xmlns: NS_OWNER }, xml("affiliations", { node: "club" })), PS),
    );
    const list = (affs.getChild("pubsub", NS_OWNER)?.getChild("affiliations") as XmlElement | undefined)!
      .getChildren("affiliation")
      .map((a) => `${a.attrs.jid}=${a.attrs.affiliation}`);
    assert.deepEqual(list.sort(), ["alice@localhost=owner", "bob@localhost=member"]);
  });

  it("authorize: a subscription waits for the owner's approval form, then the subscriber is told (§6.1.2.2, §8.6)", async () => {
    ok(await create(alice, "private", { "pubsub#access_model": "authorize" }));
    ok(await publish(alice, "private", "p1", entry("approved readers")));
    assert.deepEqual(errorOf(await items(bob, "private")), { condition: "not-authorized", app: "not-subscribed" });
    const askForm = alice.waitFor(
      (s) => s.is("message") && s.attrs.from === PS && s.getChild("x", NS_DATA) !== undefined,
    );
    const sub = ok(await subscribe(bob, "private"))
      .getChild("pubsub", NS_PUBSUB)
      ?.getChild("subscription") as XmlElement;
    assert.equal(sub.attrs.subscription, "pending");
    const x = (await askForm).getChild("x", NS_DATA) as XmlElement;
    const value = (v: string) =>
      x
        .getChildren("field")
        .find((f) => f.attrs.var === v)
        ?.getChildText("value");
    assert.equal(value("FORM_TYPE"), "http://jabber.org/protocol/pubsub#subscribe_authorization");
    assert.equal(value("pubsub#node"), "private");
    assert.equal(value("pubsub#subscriber_jid"), bob.jid);
    const told = eventFor(bob, "private", (c) => c.name === "subscription" && c.attrs.subscription === "subscribed");
    const lastItem = eventFor(bob, "private", itemEvent("p1"));
    await alice.xmpp.send(
      xml(
        "message",
        { to: PS, id: "approve1" },
        form("submit", "http://jabber.org/protocol/pubsub#subscribe_authorization", {
          "pubsub#subid": value("pubsub#subid") ?? "",
          "pubsub#node": "private",
          "pubsub#subscriber_jid": bob.jid,
          "pubsub#allow": "true",
        }),
      ),
    );
    await told;
    await lastItem;
    assert.deepEqual(itemIds(await items(bob, "private")), ["p1"]);
  });

  it("an outcast is refused and loses its subscription; a publisher may publish and purge (§4.1)", async () => {
    ok(await create(alice, "board"));
    ok(await subscribe(carol, "board"));
    ok(await affiliate(alice, "board", "carol@localhost", "outcast"));
    assert.deepEqual(errorOf(await subscribe(carol, "board")), { condition: "forbidden", app: undefined });
    assert.equal(errorOf(await items(carol, "board")).condition, "forbidden");
    const subs = ok(
      await iq(alice, "get", xml("pubsub", { xmlns: NS_OWNER }, xml("subscriptions", { node: "board" })), PS),
    );
    assert.equal(
      (subs.getChild("pubsub", NS_OWNER)?.getChild("subscriptions") as XmlElement | undefined)!.getChildren(
        "subscription",
      ).length,
      0,
    );

    ok(await affiliate(alice, "board", "bob@localhost", "publisher"));
    ok(await publish(bob, "board", "n1", entry("from bob")));
    ok(await publish(bob, "board", "n2", entry("from bob again")));
    assert.deepEqual(itemIds(await items(alice, "board")), ["n1", "n2"]);
    assert.equal(errorOf(await ownerSet(carol, xml("purge", { node: "board" }))).condition, "forbidden");
    ok(await ownerSet(bob, xml("purge", { node: "board" })));
    assert.deepEqual(itemIds(await items(alice, "board")), []);
  });

  it("a server admin purges and deletes any node; subscribers hear of the deletion (§8.4.2, §8.5)", async () => {
    ok(await create(alice, "doomed"));
    ok(await publish(alice, "doomed", "d1", entry("soon gone")));
    ok(await subscribe(bob, "doomed"));
    ok(await ownerSet(admin, xml("purge", { node: "doomed" })));
    assert.deepEqual(itemIds(await items(bob, "doomed")), []);
    const deleted = eventFor(bob, "doomed", (c) => c.name === "delete");
    ok(await ownerSet(admin, xml("delete", { node: "doomed" })));
    await deleted;
    assert.equal(errorOf(await items(bob, "doomed")).condition, "item-not-found");
  });

  it("subscription options: pubsub#deliver false stops notifications (§6.3)", async () => {
    ok(await create(alice, "quiet"));
    ok(await subscribe(carol, "quiet"));
    const got = ok(
      await iq(
        carol,
        "get",
        xml("pubsub", { xmlns: NS_PUBSUB }, xml("options", { node: "quiet", jid: carol.jid })),
        PS,
      ),
    );
    assert.ok(got.getChild("pubsub", NS_PUBSUB)?.getChild("options")?.getChild("x", NS_DATA));
    ok(
      await iq(
        carol,
        "set",
        xml(
          "pubsub",
          { xmlns: NS_PUBSUB },
          xml(
            "options",
            { node: "quiet", jid: carol.jid },
            form("submit", "http://jabber.org/protocol/pubsub#subscribe_options", { "pubsub#deliver": "false" }),
          ),
        ),
        PS,
      ),
    );
    ok(await publish(alice, "quiet", "q1", entry("not delivered")));
    assert.equal(
      await arrives(
        carol,
        (s) => s.is("message") && s.getChild("event", NS_EVENT)?.getChild("items")?.attrs.node === "quiet",
      ),
      false,
    );
  });

  it("an owner sets and ends subscriptions, and the subscriber is told (§8.8.2, §8.8.4)", async () => {
    ok(await create(alice, "managed", { "pubsub#access_model": "authorize" }));
    const told = eventFor(carol, "managed", (c) => c.name === "subscription" && c.attrs.subscription === "subscribed");
    ok(
      await ownerSet(
        alice,
        xml("subscriptions", { node: "managed" }, xml("subscription", { jid: carol.jid, subscription: "subscribed" })),
      ),
    );
    await told;
    ok(await publish(alice, "managed", "m1", entry("for carol")));
    await eventFor(carol, "managed", itemEvent("m1"));
    const ended = eventFor(carol, "managed", (c) => c.name === "subscription" && c.attrs.subscription === "none");
    ok(
      await ownerSet(
        alice,
        xml("subscriptions", { node: "managed" }, xml("subscription", { jid: carol.jid, subscription: "none" })),
      ),
    );
    await ended;
    assert.deepEqual(errorOf(await items(carol, "managed")), { condition: "not-authorized", app: "not-subscribed" });
  });

  it("publish-only publishes and retracts only its own items; publish_model open lets anyone publish (§4.1, §7.1.3.1)", async () => {
    ok(await create(alice, "inbox"));
    ok(await affiliate(alice, "inbox", "bob@localhost", "publish-only"));
    ok(await publish(alice, "inbox", "from-alice", entry("alice")));
    ok(await publish(bob, "inbox", "from-bob", entry("bob")));
    const retract = (c: ConnectedClient, id: string) =>
      iq(c, "set", xml("pubsub", { xmlns: NS_PUBSUB }, xml("retract", { node: "inbox" }, xml("item", { id }))), PS);
    assert.equal(errorOf(await retract(bob, "from-alice")).condition, "forbidden");
    ok(await retract(bob, "from-bob"));
    assert.equal(errorOf(await publish(carol, "inbox", "from-carol", entry("carol"))).condition, "forbidden");
    ok(
      await ownerSet(
        alice,
        xml(
          "configure",
          { node: "inbox" },
          form("submit", "http://jabber.org/protocol/pubsub#node_config", { "pubsub#publish_model": "open" }),
        ),
      ),
    );
    ok(await publish(carol, "inbox", "from-carol", entry("carol")));
    assert.deepEqual(itemIds(await items(alice, "inbox")), ["from-alice", "from-carol"]);
  });

  it("a deleted account's own nodes go, and its subscriptions elsewhere (XEP-0077 remove)", async () => {
    await ts.addUser("dave", "dave-secret");
    const dave = await online("dave");
    ok(await create(dave, "daves"));
    ok(await subscribe(dave, "news"));
    ok(await iq(dave, "set", xml("query", { xmlns: "jabber:iq:register" }, xml("remove")), "localhost"));
    await dave.stop();
    // The clean-up runs after the result: wait until the node is gone.
    let gone = false;
    for (let i = 0; i < 50 && !gone; i++) {
      gone = (await items(alice, "daves")).attrs.type === "error";
      if (!gone) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(gone, "the deleted account's node is gone");
    const subs = ok(
      await iq(alice, "get", xml("pubsub", { xmlns: NS_OWNER }, xml("subscriptions", { node: "news" })), PS),
    );
    const jids = (subs.getChild("pubsub", NS_OWNER)?.getChild("subscriptions") as XmlElement | undefined)!
      .getChildren("subscription")
      .map((x) => x.attrs.jid);
    assert.ok(!jids.some((j) => j.startsWith("dave@")), jids.join(" "));
  });

  it("keeps nodes, configuration, affiliations, subscriptions and items across a restart", async () => {
    await stopAll();
    await ts.restart();
    await connectAll();
    assert.deepEqual(itemIds(await items(carol, "ticker")), ["b", "c"]);
    assert.deepEqual(itemIds(await items(bob, "club")), ["m1"]);
    assert.deepEqual(errorOf(await items(carol, "club")), { condition: "not-allowed", app: "closed-node" });
    const waiting = eventFor(bob, "news", itemEvent("after-restart"));
    ok(await publish(alice, "news", "after-restart", entry("still here")));
    await waiting;
  });
});

describe("pubsub service with create: admins", { timeout: 60_000 }, () => {
  let ts: TestServer;
  let alice: ConnectedClient;
  let admin: ConnectedClient;

  before(async () => {
    ts = await startTestServer({
      yaml: ["admins: [admin@localhost]", "modules:", "  pubsub:", "    create: admins"].join("\n"),
    });
    await ts.addUser("alice", "alice-secret");
    await ts.addUser("admin", "admin-secret");
    alice = await connect(ts, "alice", "alice-secret");
    admin = await connect(ts, "admin", "admin-secret");
  });

  after(async () => {
    await alice?.stop();
    await admin?.stop();
    await ts?.stop();
  });

  it("refuses a user's create with forbidden (§8.1.3.1), even by publishing to a new node; an admin creates", async () => {
    assert.deepEqual(errorOf(await create(alice, "mine")), { condition: "forbidden", app: undefined });
    assert.equal(errorOf(await publish(alice, "mine", "1", entry("auto-create"))).condition, "item-not-found");
    ok(await create(admin, "announcements"));
    assert.equal(errorOf(await publish(alice, "announcements", "1", entry("not a publisher"))).condition, "forbidden");
    ok(await publish(admin, "announcements", "1", entry("from the admin")));
    assert.deepEqual(itemIds(await items(alice, "announcements")), ["1"]);
  });
});

describe("pubsub service on PostgreSQL", { timeout: 60_000 }, () => {
  let database: TestDatabase;
  let ts: TestServer;

  before(async () => {
    database = await createTestDatabase();
    ts = await startTestServer({ postgresUrl: database.url, yaml: "modules:\n  pubsub: {}" });
    await ts.addUser("alice", "alice-secret");
  });

  after(async () => {
    await ts?.stop();
    await database?.drop();
  });

  it("keeps a node, its configuration and items across a restart", async () => {
    let alice = await connect(ts, "alice", "alice-secret");
    ok(await create(alice, "pg-news", { "pubsub#max_items": "2", "pubsub#access_model": "whitelist" }));
    for (const id of ["1", "2", "3"]) ok(await publish(alice, "pg-news", id, entry(id)));
    await alice.stop();
    await ts.restart();
    alice = await connect(ts, "alice", "alice-secret");
    try {
      assert.deepEqual(itemIds(await items(alice, "pg-news")), ["2", "3"]);
      const cfg = ok(
        await iq(alice, "get", xml("pubsub", { xmlns: NS_OWNER }, xml("configure", { node: "pg-news" })), PS),
      );
      const x = cfg.getChild("pubsub", NS_OWNER)?.getChild("configure")?.getChild("x", NS_DATA);
      const access = x?.getChildren("field").find((f) => f.attrs.var === "pubsub#access_model");
      assert.equal(access?.getChildText("value"), "whitelist");
    } finally {
      await alice.stop();
    }
  });
});
