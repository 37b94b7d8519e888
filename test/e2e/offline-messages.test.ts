// XEP-0160 offline messages as users see them: stored while the recipient has no resource, delivered with a
// XEP-0203 delay on the next non-negative initial presence, kept across a restart, refused beyond the limit.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { type ConnectedClient, connect, type XmlElement, xml } from "../helpers/xmpp-client.js";

const NS_DELAY = "urn:xmpp:delay";
const NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas";

/** A ping round trip: the server handles a client's stanzas in order, so everything sent before has been routed. */
async function sync(c: ConnectedClient): Promise<void> {
  await c.xmpp.iqCaller.request(xml("iq", { type: "get", to: "localhost" }, xml("ping", "urn:xmpp:ping")));
}

function chat(id: string, body: string, to = "bob@localhost", type = "chat"): XmlElement {
  return xml("message", { to, type, id }, xml("body", {}, body));
}

const messages = (c: ConnectedClient, ids: string[]) =>
  c.received.filter((s) => s.is("message") && ids.includes(s.attrs.id));
const isError = (id: string) => (s: XmlElement) => s.is("message") && s.attrs.type === "error" && s.attrs.id === id;

/** Logs bob in and sends presence (priority when given), then waits until the server has handled it. */
async function bobOnline(ts: TestServer, resource: string, priority?: number): Promise<ConnectedClient> {
  const bob = await connect(ts, "bob", "bob-secret", { resource });
  await bob.xmpp.send(xml("presence", {}, ...(priority === undefined ? [] : [xml("priority", {}, String(priority))])));
  await sync(bob);
  return bob;
}

describe("offline messages (XEP-0160)", () => {
  let ts: TestServer;
  let alice: ConnectedClient;

  before(async () => {
    ts = await startTestServer({ yaml: "modules:\n  offline-messages:" });
    await ts.addUser("alice", "alice-secret");
    await ts.addUser("bob", "bob-secret");
    alice = await connect(ts, "alice", "alice-secret", { resource: "laptop" });
  });

  after(async () => {
    await alice?.stop();
    await ts?.stop();
  });

  it("stores chat messages for an offline account and delivers them in order with a delay stamp, once", async () => {
    const sentAt = Date.now();
    for (const n of [1, 2, 3]) await alice.xmpp.send(chat(`o${n}`, `message ${n} & <more>`));
    await sync(alice);
    assert.equal(alice.received.filter((s) => s.attrs.type === "error").length, 0, "no error for stored messages");

    const bob = await bobOnline(ts, "phone");
    try {
      await bob.waitFor((s) => s.is("message") && s.attrs.id === "o3");
      const got = messages(bob, ["o1", "o2", "o3"]);
      assert.deepEqual(
        got.map((m) => m.attrs.id),
        ["o1", "o2", "o3"],
      );
      let previous = 0;
      for (const [i, m] of got.entries()) {
        assert.equal(m.attrs.from, "alice@localhost/laptop");
        assert.equal(m.attrs.type, "chat");
        assert.equal(m.getChildText("body"), `message ${i + 1} & <more>`);
        // XEP-0203 §4: from the server's domain, stamped with the original receive time (XEP-0082 UTC).
        const delay = m.getChild("delay", NS_DELAY);
        assert.ok(delay, "delay added");
        assert.equal(delay.attrs.from, "localhost");
        assert.match(delay.attrs.stamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
        const stamp = Date.parse(delay.attrs.stamp);
        assert.ok(
          stamp >= sentAt - 1000 && stamp <= Date.now() && Date.now() - stamp < 60_000,
          "stamp within the last minute",
        );
        assert.ok(stamp >= previous, "stamps in order");
        previous = stamp;
      }
    } finally {
      await bob.stop();
    }

    // Delivered messages are deleted: the next login gets none.
    const again = await bobOnline(ts, "tablet");
    try {
      assert.equal(again.received.filter((s) => s.is("message")).length, 0);
    } finally {
      await again.stop();
    }
  });

  it("stores a chat to a full JID with no such resource (RFC 6121 §8.5.3.2.1)", async () => {
    await alice.xmpp.send(chat("full1", "to a gone resource", "bob@localhost/gone"));
    await sync(alice);
    const bob = await bobOnline(ts, "phone");
    try {
      const m = await bob.waitFor((s) => s.is("message") && s.attrs.id === "full1");
      assert.equal(m.getChildText("body"), "to a gone resource");
    } finally {
      await bob.stop();
    }
  });

  it("does not store headlines, chat-state-only messages or <no-store/> ones; only <no-store/> gets an error", async () => {
    await alice.xmpp.send(chat("h1", "news", "bob@localhost", "headline"));
    await alice.xmpp.send(
      xml(
        "message",
        { to: "bob@localhost", type: "chat", id: "cs1" },
        xml("composing", "http://jabber.org/protocol/chatstates"),
      ),
    );
    await alice.xmpp.send(
      xml(
        "message",
        { to: "bob@localhost", type: "chat", id: "ns1" },
        xml("body", {}, "x"),
        xml("no-store", "urn:xmpp:hints"),
      ),
    );
    // XEP-0160 §3: headline is not stored, and RFC 6121 §8.5.2.2.1 drops it silently.
    const refused = await alice.waitFor(isError("ns1"));
    assert.ok(refused.getChild("error")?.getChild("service-unavailable", NS_STANZAS));
    await sync(alice);
    assert.equal(alice.received.filter(isError("h1")).length, 0, "no error for a headline");
    assert.equal(alice.received.filter(isError("cs1")).length, 0, "no error for a chat state");

    const bob = await bobOnline(ts, "phone");
    try {
      assert.equal(messages(bob, ["h1", "cs1", "ns1"]).length, 0);
    } finally {
      await bob.stop();
    }
  });

  it("keeps messages from a negative-priority resource until a non-negative one comes (RFC 6121 §8.5.2.1.1)", async () => {
    const hidden = await bobOnline(ts, "bot", -1);
    try {
      await alice.xmpp.send(chat("np1", "for a real client"));
      await sync(alice);
      assert.equal(alice.received.filter(isError("np1")).length, 0, "stored, not refused");
      await sync(hidden);
      assert.equal(messages(hidden, ["np1"]).length, 0, "a negative-priority resource gets nothing");

      const bob = await bobOnline(ts, "phone", 0);
      try {
        const m = await bob.waitFor((s) => s.is("message") && s.attrs.id === "np1");
        assert.ok(m.getChild("delay", NS_DELAY));
      } finally {
        await bob.stop();
      }
      await sync(hidden);
      assert.equal(messages(hidden, ["np1"]).length, 0, "still nothing for the negative-priority resource");
    } finally {
      await hidden.stop();
    }
  });

  it("delivers to a resource whose priority rises from negative to non-negative", async () => {
    const bob = await bobOnline(ts, "desk", -5);
    try {
      await alice.xmpp.send(chat("rise1", "now you see me"));
      await sync(alice);
      await bob.xmpp.send(xml("presence", {}, xml("priority", {}, "1")));
      const m = await bob.waitFor((s) => s.is("message") && s.attrs.id === "rise1");
      assert.equal(m.getChild("delay", NS_DELAY)?.attrs.from, "localhost");
    } finally {
      await bob.stop();
    }
  });

  it("delivers a message stored while the recipient came online meanwhile, without waiting for its next login", async () => {
    // The router found no available resource for bob, and checks privacy before storing; bob's initial presence
    // is handled during that wait, so its look for stored messages comes before this one is stored.
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let paused = false;
    const remove = ts.server.core.hooks.add(
      "stanza.filter",
      (async ({ stanza, session }: { stanza: { attrs: Record<string, string> }; session: unknown }) => {
        if (stanza.attrs.id === "race-1" && session === undefined) {
          paused = true;
          await held;
        }
        return undefined;
      }) as never,
      "test",
      1000,
    );
    try {
      const bob = await connect(ts, "bob", "bob-secret", { resource: "racer" });
      await alice.xmpp.send(chat("race-1", "while you were connecting"));
      for (let i = 0; i < 100 && !paused; i++) await new Promise((r) => setTimeout(r, 20));
      assert.ok(paused, "the router waits in the privacy check");
      await bob.xmpp.send(xml("presence"));
      await sync(bob);
      release();
      const got = await bob.waitFor((s) => s.is("message") && s.attrs.id === "race-1", 5000);
      assert.equal(got.getChildText("body"), "while you were connecting");
      await bob.stop();
    } finally {
      release();
      remove();
    }
  });

  it("advertises msgoffline on the server (XEP-0160 §4)", async () => {
    const res = await alice.xmpp.iqCaller.request(
      xml("iq", { type: "get", to: "localhost" }, xml("query", "http://jabber.org/protocol/disco#info")),
    );
    const features = res
      .getChild("query", "http://jabber.org/protocol/disco#info")!
      .getChildren("feature")
      .map((f) => f.attrs.var);
    assert.ok(features.includes("msgoffline"));
  });
});

describe("offline messages across a restart", () => {
  let ts: TestServer;

  before(async () => {
    ts = await startTestServer({ yaml: "modules:\n  offline-messages:" });
    await ts.addUser("alice", "alice-secret");
    await ts.addUser("bob", "bob-secret");
  });

  after(async () => {
    await ts?.stop();
  });

  it("delivers a message stored before the restart", async () => {
    const alice = await connect(ts, "alice", "alice-secret", { resource: "laptop" });
    await alice.xmpp.send(chat("r1", "still here after the restart"));
    await sync(alice);
    await alice.stop();
    await ts.restart();
    const bob = await bobOnline(ts, "phone");
    try {
      const m = await bob.waitFor((s) => s.is("message") && s.attrs.id === "r1");
      assert.equal(m.getChildText("body"), "still here after the restart");
      assert.equal(m.attrs.from, "alice@localhost/laptop");
      assert.equal(m.getChild("delay", NS_DELAY)?.attrs.from, "localhost");
    } finally {
      await bob.stop();
    }
  });
});

describe("offline message limit", () => {
  let ts: TestServer;

  before(async () => {
    ts = await startTestServer({ yaml: "modules:\n  offline-messages:\n    max_per_user: 2" });
    await ts.addUser("alice", "alice-secret");
    await ts.addUser("bob", "bob-secret");
  });

  after(async () => {
    await ts?.stop();
  });

  it("answers service-unavailable beyond max_per_user (XEP-0160 §2)", async () => {
    const alice = await connect(ts, "alice", "alice-secret", { resource: "laptop" });
    try {
      for (const n of [1, 2, 3]) await alice.xmpp.send(chat(`l${n}`, `m${n}`));
      const err = await alice.waitFor(isError("l3"));
      assert.ok(err.getChild("error")?.getChild("service-unavailable", NS_STANZAS));
      await sync(alice);
      assert.equal(alice.received.filter(isError("l1")).length + alice.received.filter(isError("l2")).length, 0);
    } finally {
      await alice.stop();
    }
    const bob = await bobOnline(ts, "phone");
    try {
      await bob.waitFor((s) => s.is("message") && s.attrs.id === "l2");
      assert.deepEqual(
        messages(bob, ["l1", "l2", "l3"]).map((m) => m.attrs.id),
        ["l1", "l2"],
      );
    } finally {
      await bob.stop();
    }
  });
});
