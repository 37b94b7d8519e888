// Issue 11 "Safe on the open Internet", bounded per-account state in the IM modules: each limit at its edge
// over real sockets, with small configured values. N is accepted; N+1 gets the error the RFC/XEP names (or,
// for subscription requests, silence, as for an account that does not exist); quotas drop the oldest.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Element } from "../../src/core/xml/element.js";
import { NS_CLIENT } from "../../src/core/xml/ns.js";
import { encodeArchived } from "../../src/modules/mam/codec.js";
import { onlineWithCaps } from "../helpers/caps.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { type ConnectedClient, connect, type XmlElement, xml } from "../helpers/xmpp-client.js";

const NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas";
const NS_MAM = "urn:xmpp:mam:2";
const NS_PRIVATE = "jabber:iq:private";
const NS_BLOCKING = "urn:xmpp:blocking";
const NS_PUBSUB = "http://jabber.org/protocol/pubsub";
const NS_PUBSUB_OWNER = "http://jabber.org/protocol/pubsub#owner";
const NS_PUBSUB_ERRORS = "http://jabber.org/protocol/pubsub#errors";
const NS_PUSH = "urn:xmpp:push:0";

async function sync(c: ConnectedClient): Promise<void> {
  await c.xmpp.iqCaller.request(xml("iq", { type: "get", to: "localhost" }, xml("ping", "urn:xmpp:ping")));
}

/** The <error/> of a refused IQ: type, defined condition and application condition (name and namespace). */
async function iqError(p: Promise<unknown>): Promise<{ type: string; condition: string; app?: string; appNs?: string }> {
  try {
    await p;
  } catch (err) {
    const error = (err as { element?: XmlElement }).element;
    if (!error) throw err;
    const children = error.children.filter((c): c is XmlElement => typeof c !== "string");
    const condition = children.find((c) => c.attrs.xmlns === NS_STANZAS && c.name !== "text");
    const app = children.find((c) => c.attrs.xmlns !== NS_STANZAS);
    return {
      type: error.attrs.type,
      condition: condition?.name ?? "",
      ...(app ? { app: app.name, appNs: app.attrs.xmlns } : {}),
    };
  }
  assert.fail("expected an error");
}

const set = (c: ConnectedClient, payload: XmlElement, to?: string) =>
  c.xmpp.iqCaller.request(xml("iq", { type: "set", ...(to ? { to } : {}) }, payload));
const get = (c: ConnectedClient, payload: XmlElement, to?: string) =>
  c.xmpp.iqCaller.request(xml("iq", { type: "get", ...(to ? { to } : {}) }, payload));

const logged = (ts: TestServer, msg: string) => ts.logs.some((l) => l.msg === msg);

let queries = 0;
/** The bodies of every message in the user's own archive, oldest first. */
async function archiveBodies(c: ConnectedClient): Promise<string[]> {
  const queryid = `mq${++queries}`;
  await c.xmpp.iqCaller.request(xml("iq", { type: "set" }, xml("query", { xmlns: NS_MAM, queryid })), 10_000);
  return c.received
    .filter((s) => s.is("message") && s.getChild("result", NS_MAM)?.attrs.queryid === queryid)
    .map((m) => m.getChild("result")?.getChild("forwarded")?.getChild("message")?.getChildText("body") ?? "");
}

const USERS = ["alice", "bob", "carol", "dave", "erin", "push"];

describe("per-account limits of the IM modules (issue 11)", () => {
  let ts: TestServer;

  before(async () => {
    ts = await startTestServer({
      yaml: [
        "modules:",
        "  roster: { max_pending_requests: 2, max_request_size: 512 }",
        "  mam: { max_messages: 3 }",
        "  private-storage: { max_entries: 2, max_bytes: 1024 }",
        "  privacy: { max_items: 3 }",
        "  pep: { max_nodes: 2, max_subscribers: 1, max_affiliations: 2, max_item_size: 1024, max_account_bytes: 1024 }",
        "  caps: { cache_size: 1 }",
        "  push: { max_registrations: 2, max_pushes_per_message: 1 }",
      ].join("\n"),
    });
    for (const u of USERS) await ts.addUser(u, `${u}-secret`);
  });

  after(async () => {
    await ts?.stop();
  });

  it("roster: keeps max_pending_requests subscription requests for an account; a further one is dropped without a word", async () => {
    const senders: ConnectedClient[] = [];
    try {
      // bob is offline: carol, dave and erin ask for his presence.
      for (const u of ["carol", "dave", "erin"]) {
        const c = await connect(ts, u, `${u}-secret`);
        senders.push(c);
        await c.xmpp.send(xml("presence", { to: "bob@localhost", type: "subscribe" }));
        await sync(c);
      }
      // The third sender learns nothing: no error, as for an account that does not exist.
      const erin = senders[2] as ConnectedClient;
      assert.equal(erin.received.filter((s) => s.attrs.type === "error").length, 0);
      assert.ok(logged(ts, "too many pending subscription requests: request dropped"));

      const bob = await connect(ts, "bob", "bob-secret");
      try {
        await bob.xmpp.send(xml("presence"));
        await sync(bob);
        await bob.waitFor((s) => s.is("presence") && s.attrs.from === "dave@localhost");
        const requests = bob.received.filter((s) => s.is("presence") && s.attrs.type === "subscribe").map((s) => s.attrs.from);
        assert.deepEqual(requests.sort(), ["carol@localhost", "dave@localhost"]);

        // Answering one makes room: erin's next request is kept and reaches bob.
        await bob.xmpp.send(xml("presence", { to: "carol@localhost", type: "subscribed" }));
        await sync(bob);
        await erin.xmpp.send(xml("presence", { to: "bob@localhost", type: "subscribe" }));
        await bob.waitFor((s) => s.is("presence") && s.attrs.type === "subscribe" && s.attrs.from === "erin@localhost");
      } finally {
        await bob.stop();
      }
    } finally {
      for (const c of senders) await c.stop();
    }
  });

  it("roster: a pending request larger than max_request_size is kept without its children; a small one whole", async () => {
    const carol = await connect(ts, "carol", "carol-secret");
    const erin = await connect(ts, "erin", "erin-secret");
    try {
      await carol.xmpp.send(xml("presence", { to: "dave@localhost", type: "subscribe" }, xml("status", {}, "hello dave")));
      await sync(carol);
      await erin.xmpp.send(xml("presence", { to: "dave@localhost", type: "subscribe" }, xml("status", {}, "x".repeat(600))));
      await sync(erin);
      assert.ok(logged(ts, "large subscription request stored without its children"));
    } finally {
      await carol.stop();
      await erin.stop();
    }
    const dave = await connect(ts, "dave", "dave-secret");
    try {
      await dave.xmpp.send(xml("presence"));
      const fromErin = await dave.waitFor((s) => s.is("presence") && s.attrs.type === "subscribe" && s.attrs.from === "erin@localhost");
      const fromCarol = await dave.waitFor((s) => s.is("presence") && s.attrs.type === "subscribe" && s.attrs.from === "carol@localhost");
      assert.equal(fromErin.getChild("status"), undefined, "the oversized request arrives without its status");
      assert.equal(fromCarol.getChildText("status"), "hello dave");
      // Answer both, so the later tests start from a clean roster.
      for (const who of ["carol@localhost", "erin@localhost"]) await dave.xmpp.send(xml("presence", { to: who, type: "unsubscribed" }));
      await sync(dave);
    } finally {
      await dave.stop();
    }
  });

  it("mam: an archive keeps max_messages messages, the oldest removed as new ones arrive", async () => {
    const alice = await connect(ts, "alice", "alice-secret");
    try {
      for (const n of [1, 2, 3]) await alice.xmpp.send(xml("message", { to: "dave@localhost", type: "chat" }, xml("body", {}, `m${n}`)));
      await sync(alice);
      assert.deepEqual(await archiveBodies(alice), ["m1", "m2", "m3"]);
      for (const n of [4, 5]) await alice.xmpp.send(xml("message", { to: "dave@localhost", type: "chat" }, xml("body", {}, `m${n}`)));
      await sync(alice);
      assert.deepEqual(await archiveBodies(alice), ["m3", "m4", "m5"]);
      assert.ok(logged(ts, "message archive over its quota: oldest messages removed"));
    } finally {
      await alice.stop();
    }
  });

  it("private-storage: max_entries elements and max_bytes per account; a refused set stores nothing", async () => {
    const alice = await connect(ts, "alice", "alice-secret");
    const q = (...children: XmlElement[]) => xml("query", { xmlns: NS_PRIVATE }, ...children);
    try {
      await set(alice, q(xml("a", { xmlns: "urn:example:a" }, "one")));
      await set(alice, q(xml("b", { xmlns: "urn:example:b" }, "two")));
      // Replacing a stored element is no new entry.
      await set(alice, q(xml("a", { xmlns: "urn:example:a" }, "one again")));
      const third = await iqError(set(alice, q(xml("c", "urn:example:c"), xml("a", { xmlns: "urn:example:a" }, "changed"))));
      assert.equal(third.condition, "resource-constraint");
      // Nothing of the refused set was stored, not even the replacement beside the new element.
      const a = await get(alice, q(xml("a", "urn:example:a")));
      assert.equal(a.getChild("query", NS_PRIVATE)?.getChild("a", "urn:example:a")?.getText(), "one again");
      const c = await get(alice, q(xml("c", "urn:example:c")));
      assert.equal(c.getChild("query", NS_PRIVATE)?.getChild("c", "urn:example:c")?.children.length, 0);
      // Bytes: one element growing past max_bytes (1024) is refused, the old value stays.
      const big = await iqError(set(alice, q(xml("b", { xmlns: "urn:example:b" }, "x".repeat(1100)))));
      assert.equal(big.condition, "resource-constraint");
      const b = await get(alice, q(xml("b", "urn:example:b")));
      assert.equal(b.getChild("query", NS_PRIVATE)?.getChild("b", "urn:example:b")?.getText(), "two");
      assert.ok(logged(ts, "private storage quota reached: set refused"));
    } finally {
      await alice.stop();
    }
  });

  it("blocking: the blocklist holds privacy max_items JIDs; blocking one more gets resource-constraint and blocks nothing", async () => {
    const alice = await connect(ts, "alice", "alice-secret");
    const block = (...jids: string[]) => set(alice, xml("block", { xmlns: NS_BLOCKING }, ...jids.map((jid) => xml("item", { jid }))));
    const blocked = async () =>
      (await get(alice, xml("blocklist", { xmlns: NS_BLOCKING })))
        .getChild("blocklist", NS_BLOCKING)
        ?.getChildren("item")
        .map((i) => i.attrs.jid)
        .sort();
    try {
      await block("s1@example.net", "s2@example.net");
      await block("s3@example.net");
      const err = await iqError(block("s4@example.net", "s5@example.net"));
      assert.equal(err.condition, "resource-constraint");
      assert.deepEqual(await blocked(), ["s1@example.net", "s2@example.net", "s3@example.net"]);
      // Blocking a JID already blocked adds nothing and still succeeds.
      await block("s1@example.net");
      assert.ok(logged(ts, "blocklist full: block refused"));
    } finally {
      await set(alice, xml("unblock", { xmlns: NS_BLOCKING }));
      await alice.stop();
    }
  });

  it("pep: max_nodes and max_account_bytes per account, max_item_size per item, max_subscribers and max_affiliations per node, with XEP-0060's errors", async () => {
    const alice = await connect(ts, "alice", "alice-secret");
    const carol = await connect(ts, "carol", "carol-secret");
    const dave = await connect(ts, "dave", "dave-secret");
    const openForm = xml(
      "publish-options",
      {},
      xml(
        "x",
        { xmlns: "jabber:x:data", type: "submit" },
        xml("field", { var: "FORM_TYPE", type: "hidden" }, xml("value", {}, "http://jabber.org/protocol/pubsub#publish-options")),
        xml("field", { var: "pubsub#access_model" }, xml("value", {}, "open")),
      ),
    );
    const publish = (node: string, payload: XmlElement, options?: XmlElement) =>
      set(alice, xml("pubsub", { xmlns: NS_PUBSUB }, xml("publish", { node }, xml("item", { id: "current" }, payload)), ...(options ? [options] : [])));
    try {
      await publish("urn:example:n1", xml("v", { xmlns: "urn:example:n1" }, "1"), openForm);
      await publish("urn:example:n2", xml("v", { xmlns: "urn:example:n2" }, "2"));
      // A third node, whether auto-created by a publish or created explicitly (XEP-0060 errors schema).
      for (const attempt of [
        publish("urn:example:n3", xml("v", "urn:example:n3")),
        set(alice, xml("pubsub", { xmlns: NS_PUBSUB }, xml("create", { node: "urn:example:n3" }))),
      ]) {
        assert.deepEqual(await iqError(attempt), { type: "cancel", condition: "not-allowed", app: "max-nodes-exceeded", appNs: NS_PUBSUB_ERRORS });
      }
      // An existing node still takes items.
      await publish("urn:example:n2", xml("v", { xmlns: "urn:example:n2" }, "2b"));

      // §7.1.3.4: a payload larger than max_item_size (1024 bytes).
      assert.deepEqual(await iqError(publish("urn:example:n1", xml("v", { xmlns: "urn:example:n1" }, "x".repeat(1100)))), {
        type: "modify",
        condition: "not-acceptable",
        app: "payload-too-big",
        appNs: NS_PUBSUB_ERRORS,
      });

      // §6.1.3.9: one subscriber per node here; the second gets policy-violation + too-many-subscriptions.
      const subscribe = (c: ConnectedClient, jid: string) =>
        set(c, xml("pubsub", { xmlns: NS_PUBSUB }, xml("subscribe", { node: "urn:example:n1", jid })), "alice@localhost");
      await subscribe(carol, "carol@localhost");
      await subscribe(carol, "carol@localhost"); // subscribing again is no new subscription
      assert.deepEqual(await iqError(subscribe(dave, "dave@localhost")), {
        type: "wait",
        condition: "policy-violation",
        app: "too-many-subscriptions",
        appNs: NS_PUBSUB_ERRORS,
      });

      // Affiliations: two per node here; a change leaving three is refused as a whole.
      const affiliate = (...jids: string[]) =>
        set(alice, xml("pubsub", { xmlns: NS_PUBSUB_OWNER }, xml("affiliations", { node: "urn:example:n1" }, ...jids.map((jid) => xml("affiliation", { jid, affiliation: "member" })))));
      await affiliate("m1@example.net", "m2@example.net");
      assert.equal((await iqError(affiliate("m3@example.net"))).condition, "resource-constraint");
      const affs = await get(alice, xml("pubsub", { xmlns: NS_PUBSUB_OWNER }, xml("affiliations", { node: "urn:example:n1" })));
      const listed = affs.getChild("pubsub", NS_PUBSUB_OWNER)?.getChild("affiliations")?.getChildren("affiliation").map((a) => a.attrs.jid) ?? [];
      assert.ok(!listed.includes("m3@example.net"), "the refused affiliation was not stored");
      // max_account_bytes (1024) over all items: replacing an item counts at its new size, a retraction frees.
      const filler = (node: string) => xml("v", { xmlns: node }, "y".repeat(600));
      await publish("urn:example:n2", filler("urn:example:n2"));
      await publish("urn:example:n2", filler("urn:example:n2")); // same item id: replaced, not added
      assert.equal((await iqError(publish("urn:example:n1", filler("urn:example:n1")))).condition, "resource-constraint");
      await set(alice, xml("pubsub", { xmlns: NS_PUBSUB }, xml("retract", { node: "urn:example:n2" }, xml("item", { id: "current" }))));
      await publish("urn:example:n1", filler("urn:example:n1"));
      for (const msg of ["PEP storage quota reached: publish refused", "PEP node limit reached: node not created", "PEP item too big: publish refused", "PEP subscriber limit reached: subscription refused"]) {
        assert.ok(logged(ts, msg), msg);
      }
    } finally {
      await alice.stop();
      await carol.stop();
      await dave.stop();
    }
  });

  it("caps: the verified-ver cache holds cache_size entries, least recently used forgotten (asked again)", async () => {
    const until = async (cond: () => boolean) => {
      for (let i = 0; i < 250 && !cond(); i++) await new Promise((r) => setTimeout(r, 20));
      return cond();
    };
    const first = await onlineWithCaps(ts, "erin", "one", ["urn:example:one"]);
    const second = await onlineWithCaps(ts, "erin", "two", ["urn:example:two"]);
    try {
      assert.ok(await until(() => first.discoQueries.length === 1 && second.discoQueries.length === 1), "each new ver asked once");
      // cache_size 1: the second ver pushed the first out, so a session bringing the first is asked again.
      const third = await onlineWithCaps(ts, "erin", "three", ["urn:example:one"]);
      try {
        assert.ok(await until(() => third.discoQueries.length === 1), "a forgotten ver is asked for again");
        // The most recent ver is still known: a session with it is not asked.
        const fourth = await onlineWithCaps(ts, "erin", "four", ["urn:example:one"]);
        try {
          await sync(fourth);
          await new Promise((r) => setTimeout(r, 200));
          assert.equal(fourth.discoQueries.length, 0);
        } finally {
          await fourth.stop();
        }
      } finally {
        await third.stop();
      }
    } finally {
      await first.stop();
      await second.stop();
    }
  });

  it("push: max_registrations per account (resource-constraint); one message is pushed to max_pushes_per_message nodes, newest first", async () => {
    const app = await connect(ts, "push", "push-secret", { resource: "appserver" });
    const publishes: XmlElement[] = [];
    (app.xmpp as unknown as { iqCallee: { set(ns: string, name: string, h: (ctx: { stanza: XmlElement }) => true): void } }).iqCallee.set(
      NS_PUBSUB,
      "pubsub",
      (ctx) => {
        publishes.push(ctx.stanza);
        return true;
      },
    );
    const carol = await connect(ts, "carol", "carol-secret");
    const enable = (node: string) => set(carol, xml("enable", { xmlns: NS_PUSH, jid: "push@localhost/appserver", node }));
    try {
      await enable("old-device");
      await new Promise((r) => setTimeout(r, 5)); // registration times differ
      await enable("new-device");
      await enable("new-device"); // enabling again replaces, no new registration
      assert.equal((await iqError(enable("third-device"))).condition, "resource-constraint");
      assert.ok(logged(ts, "push registration limit reached: enable refused"));
      await carol.stop();

      // carol is offline: a message for her reaches her registered devices, but only one publish goes out.
      const alice = await connect(ts, "alice", "alice-secret");
      try {
        await alice.xmpp.send(xml("message", { to: "carol@localhost", type: "chat" }, xml("body", {}, "wake up")));
        await sync(alice);
        for (let i = 0; i < 100 && publishes.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
        await new Promise((r) => setTimeout(r, 300));
        const nodes = publishes.map((p) => p.getChild("pubsub", NS_PUBSUB)?.getChild("publish")?.attrs.node);
        assert.deepEqual(nodes, ["new-device"]);
      } finally {
        await alice.stop();
      }
    } finally {
      await carol.stop().catch(() => {});
      await app.stop();
    }
  });
});

describe("message archive default retention (issue 11)", () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer();
    await ts.addUser("alice", "alice-secret");
  });
  after(async () => {
    await ts?.stop();
  });

  it("by default deletes archived messages older than 365 days (checked at start)", async () => {
    const day = 86_400_000;
    const archive = ts.server.core.storage.open("localhost", "mam", "archive");
    const stored = (body: string) =>
      encodeArchived(
        new Element("message", NS_CLIENT, { from: "alice@localhost/old", to: "bob@localhost", type: "chat" }, [new Element("body", NS_CLIENT, {}, [body])]),
      );
    await archive.append("alice", { when: Date.now() - 366 * day, with: "bob@localhost", value: stored("last year") });
    await archive.append("alice", { when: Date.now() - 364 * day, with: "bob@localhost", value: stored("within the year") });
    await ts.restart();
    const alice = await connect(ts, "alice", "alice-secret");
    try {
      assert.deepEqual(await archiveBodies(alice), ["within the year"]);
    } finally {
      await alice.stop();
    }
  });
});
