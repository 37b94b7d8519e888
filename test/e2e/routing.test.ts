// Routing over real sockets with @xmpp/client: RFC 6121 §8.5 (local domain) and RFC 6120 §10.3 (no `to`).
// "Not delivered" is checked without sleeping: after the stanza under test the sender sends a marker to
// the resource's full JID; stanzas from one stream are routed in order, so once the marker arrives the
// earlier stanza would have too.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { type ConnectedClient, connect, type XmlElement, xml } from "../helpers/xmpp-client.js";

const NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas";

describe("routing (RFC 6121 §8.5)", () => {
  let ts: TestServer;
  const open: ConnectedClient[] = [];

  before(async () => {
    // Without offline storage, so that RFC 6121 §8.5.2.2.1 shows as service-unavailable.
    ts = await startTestServer({ yaml: "modules:\n  offline-messages: false" });
    for (const u of ["alice", "bob", "carol"]) await ts.addUser(u, `${u}-pw`);
  });
  after(async () => {
    await ts.stop();
  });

  async function closeAll(): Promise<void> {
    await Promise.all(open.splice(0).map((c) => c.stop()));
  }

  /** A client with available presence at `priority` (undefined: no presence at all), settled on the server. */
  async function online(user: string, resource: string, priority?: number): Promise<ConnectedClient> {
    const c = await connect(ts, user, `${user}-pw`, { resource: `${resource}-${randomBytes(2).toString("hex")}` });
    open.push(c);
    if (priority !== undefined) {
      await c.xmpp.send(xml("presence", {}, xml("priority", {}, String(priority))));
    }
    await ping(c);
    return c;
  }

  async function ping(c: ConnectedClient): Promise<void> {
    await c.xmpp.iqCaller.request(xml("iq", { type: "get", to: ts.domain }, xml("ping", { xmlns: "urn:xmpp:ping" })));
  }

  const id = () => `m-${randomBytes(4).toString("hex")}`;
  const withId = (i: string) => (s: XmlElement) => s.attrs.id === i;

  /** Sends `stanza`, then markers to each of `watch`; returns which of them got the stanza. */
  async function deliveredTo(
    sender: ConnectedClient,
    stanza: XmlElement,
    watch: ConnectedClient[],
  ): Promise<boolean[]> {
    await sender.xmpp.send(stanza);
    const markers = watch.map((w) => {
      const m = id();
      void sender.xmpp.send(xml("message", { to: w.jid, id: m, type: "chat" }, xml("body", {}, "marker")));
      return m;
    });
    await Promise.all(watch.map((w, i) => w.waitFor(withId(markers[i] as string))));
    return watch.map((w) => w.received.some(withId(stanza.attrs.id as string)));
  }

  /** Waits for the error bounce of `stanzaId` at the sender and returns its condition. */
  async function bounced(
    sender: ConnectedClient,
    stanzaId: string,
  ): Promise<{ condition: string | undefined; el: XmlElement }> {
    const el = await sender.waitFor((s) => s.attrs.id === stanzaId && s.attrs.type === "error");
    const error = el.getChild("error");
    const condition = error?.children.find(
      (c): c is XmlElement => typeof c !== "string" && c.attrs.xmlns === NS_STANZAS && c.name !== "text",
    )?.name;
    return { condition, el };
  }

  /** Nothing came back for `stanzaId`: a ping sent after it is answered first. */
  async function noReply(sender: ConnectedClient, stanzaId: string): Promise<void> {
    await ping(sender);
    // Bounces go through the router like the ping's result; give a bounce one more turn to arrive.
    await ping(sender);
    assert.equal(sender.received.find(withId(stanzaId)), undefined, "no reply at all");
  }

  test("chat to the bare JID goes only to the highest-priority resource (§8.5.2.1.1)", async () => {
    try {
      const high = await online("bob", "high", 5);
      const low = await online("bob", "low", 1);
      const alice = await online("alice", "sender", 0);
      for (const type of ["chat", "normal"]) {
        const m = xml("message", { to: "bob@localhost", type, id: id() }, xml("body", {}, type));
        assert.deepEqual(await deliveredTo(alice, m, [high, low]), [true, false], type);
      }
      const got = high.received.find((s) => s.name === "message" && s.getChildText("body") === "chat");
      assert.equal(got?.attrs.to, "bob@localhost", "the bare JID is kept as the address");
      assert.equal(got?.attrs.from, alice.jid);
    } finally {
      await closeAll();
    }
  });

  test("equal priorities: every resource with the highest priority gets it (§8.5.2.1.1)", async () => {
    try {
      const a = await online("bob", "a", 3);
      const b = await online("bob", "b", 3);
      const c = await online("bob", "c", 2);
      const alice = await online("alice", "sender", 0);
      const m = xml("message", { to: "bob@localhost", type: "chat", id: id() }, xml("body", {}, "tie"));
      assert.deepEqual(await deliveredTo(alice, m, [a, b, c]), [true, true, false]);
    } finally {
      await closeAll();
    }
  });

  test("a negative-priority resource gets nothing via the bare JID, but does via its full JID (§8.5.2.1.1, §8.5.3.1)", async () => {
    try {
      const neg = await online("bob", "negative", -1);
      const pos = await online("bob", "positive", 0);
      const alice = await online("alice", "sender", 0);
      const bare = xml("message", { to: "bob@localhost", type: "chat", id: id() }, xml("body", {}, "bare"));
      assert.deepEqual(await deliveredTo(alice, bare, [neg, pos]), [false, true]);
      const full = xml("message", { to: neg.jid, type: "chat", id: id() }, xml("body", {}, "full"));
      assert.deepEqual(await deliveredTo(alice, full, [neg, pos]), [true, false]);
    } finally {
      await closeAll();
    }
  });

  test("only negative-priority resources: a chat to the bare JID is not delivered and bounces (§8.5.2.2.1)", async () => {
    try {
      const neg = await online("bob", "negative", -5);
      const alice = await online("alice", "sender", 0);
      const mid = id();
      const m = xml("message", { to: "bob@localhost", type: "chat", id: mid }, xml("body", {}, "anyone?"));
      // No offline storage is loaded on the test server: service-unavailable.
      assert.deepEqual(await deliveredTo(alice, m, [neg]), [false]);
      const { condition, el } = await bounced(alice, mid);
      assert.equal(condition, "service-unavailable");
      assert.equal(el.attrs.from, "bob@localhost");
    } finally {
      await closeAll();
    }
  });

  test("a headline to the bare JID goes to every non-negative resource (§8.5.2.1.1)", async () => {
    try {
      const high = await online("bob", "high", 10);
      const low = await online("bob", "low", 0);
      const neg = await online("bob", "neg", -1);
      const alice = await online("alice", "sender", 0);
      const m = xml("message", { to: "bob@localhost", type: "headline", id: id() }, xml("body", {}, "news"));
      assert.deepEqual(await deliveredTo(alice, m, [high, low, neg]), [true, true, false]);
    } finally {
      await closeAll();
    }
  });

  test("a headline to a user with no available resource is silently dropped (§8.5.2.2.1)", async () => {
    try {
      const alice = await online("alice", "sender", 0);
      const mid = id();
      await alice.xmpp.send(
        xml("message", { to: "carol@localhost", type: "headline", id: mid }, xml("body", {}, "news")),
      );
      await noReply(alice, mid);
    } finally {
      await closeAll();
    }
  });

  test("a resource without presence is not a target for the bare JID (§8.5.2.1.1: available resources)", async () => {
    try {
      const silent = await online("bob", "silent");
      const present = await online("bob", "present", 0);
      const alice = await online("alice", "sender", 0);
      const m = xml("message", { to: "bob@localhost", type: "chat", id: id() }, xml("body", {}, "hi"));
      assert.deepEqual(await deliveredTo(alice, m, [silent, present]), [false, true]);
    } finally {
      await closeAll();
    }
  });

  test("type=error to an unknown user is silently dropped; other types bounce (§8.5.1)", async () => {
    try {
      const alice = await online("alice", "sender", 0);
      const errId = id();
      await alice.xmpp.send(
        xml(
          "message",
          { to: "nobody@localhost", type: "error", id: errId },
          xml("error", { type: "cancel" }, xml("item-not-found", { xmlns: NS_STANZAS })),
        ),
      );
      await noReply(alice, errId);
      const chatId = id();
      await alice.xmpp.send(
        xml("message", { to: "nobody@localhost", type: "chat", id: chatId }, xml("body", {}, "hi")),
      );
      const { condition, el } = await bounced(alice, chatId);
      assert.equal(condition, "service-unavailable");
      assert.equal(el.attrs.from, "nobody@localhost");
      // An iq to an unknown user's full JID bounces too (§8.5.1).
      const iqId = id();
      await alice.xmpp.send(
        xml("iq", { to: "nobody@localhost/x", type: "get", id: iqId }, xml("query", { xmlns: "urn:example:x" })),
      );
      assert.equal((await bounced(alice, iqId)).condition, "service-unavailable");
    } finally {
      await closeAll();
    }
  });

  test("an iq to another user's bare JID that no module handles → service-unavailable from the bare JID (§8.5.2.1.3)", async () => {
    try {
      const bob = await online("bob", "online", 0);
      const alice = await online("alice", "sender", 0);
      const iqId = id();
      await alice.xmpp.send(
        xml(
          "iq",
          { to: "bob@localhost", type: "get", id: iqId },
          xml("query", { xmlns: "urn:example:nobody-handles-this" }),
        ),
      );
      const { condition, el } = await bounced(alice, iqId);
      assert.equal(condition, "service-unavailable");
      assert.equal(el.attrs.from, "bob@localhost");
      assert.equal(el.attrs.to, alice.jid);
      assert.equal(el.getChild("error")?.attrs.type, "cancel");
      // The server answered on bob's behalf: bob's resource never saw it.
      await ping(bob);
      assert.equal(bob.received.find(withId(iqId)), undefined);
      // Same for a user who is offline.
      const offId = id();
      await alice.xmpp.send(
        xml("iq", { to: "carol@localhost", type: "set", id: offId }, xml("query", { xmlns: "urn:example:x" })),
      );
      assert.equal((await bounced(alice, offId)).condition, "service-unavailable");
    } finally {
      await closeAll();
    }
  });

  test("an iq to another user's full JID reaches that resource, and its answer comes back (§8.5.3.1)", async () => {
    try {
      const bob = await online("bob", "online", 0);
      const alice = await online("alice", "sender", 0);
      bob.xmpp.on("stanza", (s: XmlElement) => {
        if (s.name === "iq" && s.attrs.type === "get" && s.getChild("query", "urn:example:echo")) {
          void bob.xmpp.send(xml("iq", { to: s.attrs.from, type: "result", id: s.attrs.id }));
        }
      });
      const result = await alice.xmpp.iqCaller.request(
        xml("iq", { to: bob.jid, type: "get" }, xml("query", { xmlns: "urn:example:echo" })),
      );
      assert.equal(result.attrs.type, "result");
      assert.equal(result.attrs.from, bob.jid);
    } finally {
      await closeAll();
    }
  });

  test("a full JID whose resource is offline: chat falls back to an available resource, others bounce (§8.5.3.2.1)", async () => {
    try {
      const other = await online("bob", "other", 0);
      const alice = await online("alice", "sender", 0);
      const gone = "bob@localhost/gone-away";
      const chat = xml("message", { to: gone, type: "chat", id: id() }, xml("body", {}, "chat"));
      assert.deepEqual(await deliveredTo(alice, chat, [other]), [true]);
      const got = other.received.find(withId(chat.attrs.id as string));
      assert.equal(got?.attrs.to, gone, "the address is not rewritten");
      for (const type of ["normal", "headline"]) {
        const mid = id();
        const m = xml("message", { to: gone, type, id: mid }, xml("body", {}, type));
        assert.deepEqual(await deliveredTo(alice, m, [other]), [false], type);
        assert.equal((await bounced(alice, mid)).condition, "service-unavailable", type);
      }
      // §8.5.3.2.3: an iq to a missing resource → service-unavailable.
      const iqId = id();
      await alice.xmpp.send(xml("iq", { to: gone, type: "get", id: iqId }, xml("ping", { xmlns: "urn:xmpp:ping" })));
      assert.equal((await bounced(alice, iqId)).condition, "service-unavailable");
    } finally {
      await closeAll();
    }
  });

  test("groupchat to a bare JID → service-unavailable (§8.5.2.1.1)", async () => {
    try {
      const bob = await online("bob", "online", 0);
      const alice = await online("alice", "sender", 0);
      const mid = id();
      const m = xml("message", { to: "bob@localhost", type: "groupchat", id: mid }, xml("body", {}, "room?"));
      assert.deepEqual(await deliveredTo(alice, m, [bob]), [false]);
      const { condition, el } = await bounced(alice, mid);
      assert.equal(condition, "service-unavailable");
      assert.equal(el.attrs.from, "bob@localhost");
    } finally {
      await closeAll();
    }
  });

  test("a message without `to` is delivered as if to the sender's own bare JID (RFC 6120 §10.3.1)", async () => {
    try {
      const mine1 = await online("alice", "one", 1);
      const mine2 = await online("alice", "two", 1);
      const lower = await online("alice", "three", 0);
      const m = xml("message", { type: "chat", id: id() }, xml("body", {}, "note to self"));
      assert.deepEqual(await deliveredTo(mine1, m, [mine1, mine2, lower]), [true, true, false]);
      const got = mine2.received.find(withId(m.attrs.id as string));
      assert.equal(got?.attrs.from, mine1.jid);
      assert.equal(got?.attrs.to, "alice@localhost");
    } finally {
      await closeAll();
    }
  });

  test("a message to the full JID of a connected resource reaches it whatever its priority or presence (§8.5.3.1)", async () => {
    try {
      const silent = await online("bob", "silent");
      const alice = await online("alice", "sender", 0);
      const m = xml("message", { to: silent.jid, type: "normal", id: id() }, xml("body", {}, "direct"));
      assert.deepEqual(await deliveredTo(alice, m, [silent]), [true]);
    } finally {
      await closeAll();
    }
  });
});
