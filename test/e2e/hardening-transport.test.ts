// Issue 11, bounded transport state, over real sockets: sessions per account (RFC 6120 §7.6.2.1), the
// XEP-0198 unacknowledged queue in bytes, the s2s queue per remote domain in bytes (RFC 6120 §8.3.3.18),
// and per-connection input rates on c2s (before and after authentication), s2s and components: a flooder
// is slowed to its rate while everyone else is served.
import assert from "node:assert/strict";
import { type Server, type Socket, createServer } from "node:net";
import { after, before, describe, test } from "node:test";
import { handshakeDigest } from "../../src/transports/component/handshake.js";
import { RawClient, STREAM_OPEN } from "../helpers/raw-client.js";
import { type TestServer, startTestServer } from "../helpers/test-server.js";
import { connect, xml } from "../helpers/xmpp-client.js";
import {
  FEATURES_END,
  NS_BIND,
  expectStreamError,
  plainAuth,
  rawAuthenticated as authenticated,
  rawLogin,
  rawPing,
  rawTls,
  stanzaErrorCondition,
  waitForElement,
} from "./raw-helpers.js";

const NS_SM = "urn:xmpp:sm:3";
const NS_PING = "urn:xmpp:ping";


/** Sends a bind request; resolves with the server's iq answer. */
let bindCount = 0;
async function bind(rc: RawClient, resource: string) {
  const id = `bind-${++bindCount}`;
  rc.send(`<iq type='set' id='${id}'><bind xmlns='${NS_BIND}'><resource>${resource}</resource></bind></iq>`);
  return waitForElement(rc, (el) => el.name === "iq" && el.attrs.id === id);
}

/** Writes `total` bytes of whitespace (legal between stanzas, RFC 6120 §11.7) in 16 KiB writes. */
function whitespace(write: (s: string) => void, total: number): void {
  const chunk = " ".repeat(16_384);
  for (let sent = 0; sent < total; sent += chunk.length) write(chunk.slice(0, Math.min(chunk.length, total - sent)));
}

describe("sessions per account (c2s.max_sessions_per_account, default 10)", () => {
  let ts: TestServer;
  const open: RawClient[] = [];

  before(async () => {
    // The default limit: this test also shows that the default is in force.
    ts = await startTestServer({ c2s: ["stream_management: { resume_timeout: 30 }"] });
    await ts.addUser("alice", "alice-pw");
    await ts.addUser("bob", "bob-pw");
  });
  after(async () => {
    for (const rc of open) rc.destroy();
    await ts?.stop();
  });

  test("ten sessions bind, the eleventh gets resource-constraint (type wait); a takeover adds none; a session waiting for resumption gives way", async () => {
    for (let i = 1; i <= 10; i++) open.push((await rawLogin(ts, "alice", "alice-pw", `r${i}`)).rc);
    assert.equal(ts.server.core.sessions.resourcesOf("alice@localhost").length, 10);

    const eleventh = await authenticated(ts, "alice", "alice-pw");
    open.push(eleventh);
    const refused = await bind(eleventh, "r11");
    assert.equal(refused.attrs.type, "error");
    assert.equal(stanzaErrorCondition(refused), "resource-constraint");
    assert.equal(refused.getChild("error")?.attrs.type, "wait", "RFC 6120 §7.6.2.1: type wait");
    assert.ok(ts.logs.some((l) => l.msg === "bind refused: too many sessions for the account"));
    assert.equal(ts.server.core.sessions.resourcesOf("alice@localhost").length, 10, "nothing was bound");

    // Taking over a bound resource replaces it (RFC 6120 §7.7.2.2) and adds none: allowed at the limit.
    const takeover = await bind(eleventh, "r1");
    assert.equal(takeover.attrs.type, "result");
    await expectStreamError(ts, open[0]!, "conflict");
    assert.equal(ts.server.core.sessions.resourcesOf("alice@localhost").length, 10);

    // One session loses its connection with resumption enabled: it still counts (detached, waiting) …
    const r2 = open[1]!;
    r2.send(`<enable xmlns='${NS_SM}' resume='true'/>`);
    await waitForElement(r2, (el) => el.name === "enabled");
    const bob = await connect(ts, "bob", "bob-pw", { resource: "desk" });
    r2.destroy();
    await r2.closed;
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(ts.server.core.sessions.resourcesOf("alice@localhost").length, 10, "the detached session still counts");
    await bob.xmpp.send(xml("message", { to: "alice@localhost/r2", type: "chat", id: "for-r2" }, xml("body", {}, "held for r2")));
    await new Promise((r) => setTimeout(r, 100));
    // … and gives way to a client that is here; the message it held is not lost (re-routed to the account).
    const again = await authenticated(ts, "alice", "alice-pw");
    open.push(again);
    const ok = await bind(again, "r12");
    assert.equal(ok.attrs.type, "result");
    assert.ok(ts.logs.some((l) => l.msg === "session limit: a session waiting for resumption gives way" && l.ended === "alice@localhost/r2"));
    assert.equal(ts.server.core.sessions.resourcesOf("alice@localhost").length, 10);
    again.send("<presence/>");
    const held = await waitForElement(again, (el) => el.name === "message" && el.attrs.id === "for-r2", 8000);
    assert.equal(held.getChildText("body"), "held for r2");
    await bob.stop();
    await rawPing(again);
  });
});

describe("gross excess of the stanza rate is cut (c2s.rate_limits.unauthenticated defaults: 10/s, burst 50)", () => {
  let ts: TestServer;

  before(async () => {
    ts = await startTestServer();
    await ts.addUser("alice", "alice-pw");
  });
  after(async () => {
    await ts?.stop();
  });

  test("200 elements at once before authentication end the stream with policy-violation, before any is handled", async () => {
    const rc = await RawClient.connect(ts.port);
    rc.send(STREAM_OPEN(ts.domain));
    await rc.waitFor(FEATURES_END);
    // 150 over the burst at 10/s is 15 s of backlog: more than a stream may hold (10 s).
    rc.send(`<r xmlns='${NS_SM}'/>`.repeat(200));
    await expectStreamError(ts, rc, "policy-violation");
    await rawPing((await rawLogin(ts, "alice", "alice-pw", "after-flood")).rc);
  });
});

describe("XEP-0198 unacknowledged queue in bytes (c2s.stream_management.max_unacked_bytes)", () => {
  let ts: TestServer;

  before(async () => {
    ts = await startTestServer({ c2s: ["stream_management: { max_unacked_bytes: 65536 }"] });
    await ts.addUser("alice", "alice-pw");
    await ts.addUser("bob", "bob-pw");
  });
  after(async () => {
    await ts?.stop();
  });

  test("a client that never acknowledges loses its session past the byte limit; the messages wait offline and arrive at the next login", async () => {
    const { rc } = await rawLogin(ts, "alice", "alice-pw", "slow");
    rc.send(`<enable xmlns='${NS_SM}' resume='true'/>`);
    await waitForElement(rc, (el) => el.name === "enabled");
    rc.send("<presence/>");
    await waitForElement(rc, (el) => el.name === "presence");
    const bob = await connect(ts, "bob", "bob-pw", { resource: "desk" });
    try {
      // 14 × ~10 KB = ~140 KB, over twice the 64 KiB limit (a client that does not acknowledge is cut there
      // at once) and far under the count limit (1000): only bytes can end the session.
      const ids = Array.from({ length: 14 }, (_, i) => `big-${i}`);
      for (const id of ids) {
        await bob.xmpp.send(xml("message", { to: "alice@localhost/slow", type: "chat", id }, xml("body", {}, `${id} ${"x".repeat(10_000)}`)));
      }
      await expectStreamError(ts, rc, "resource-constraint");
      assert.ok(ts.logs.some((l) => l.msg === "too many unacknowledged stanzas; ending the session" && (l.bytes as number) > 65_536));
      // Nothing lost: every message went to offline storage and comes at the next login, delay-stamped
      // (a login without stream management: this backlog is over the limit too).
      const { rc: next } = await rawLogin(ts, "alice", "alice-pw", "next");
      next.send("<presence/>");
      for (const id of ids) {
        const got = await waitForElement(next, (el) => el.name === "message" && el.attrs.id === id, 8000);
        assert.ok(got.getChildText("body")?.startsWith(id));
        assert.ok(got.getChild("delay", "urn:xmpp:delay"), "from offline storage");
      }
      await new Promise((r) => setTimeout(r, 200));
      const copies = [...next.data.matchAll(/<message[^>]* id="(big-\d+)"/g)].map((m) => m[1]);
      assert.deepEqual(copies.sort(), [...ids].sort(), "each message exactly once");
      next.destroy();
    } finally {
      await bob.stop();
    }
  });

  test("a client that acknowledges keeps its session through a backlog over the limit (offline messages at login)", async () => {
    const bob = await connect(ts, "bob", "bob-pw", { resource: "desk2" });
    try {
      // ~80 KB for offline alice: over 64 KiB, under twice it.
      const ids = Array.from({ length: 8 }, (_, i) => `backlog-${i}`);
      for (const id of ids) {
        await bob.xmpp.send(xml("message", { to: "alice@localhost", type: "chat", id }, xml("body", {}, `${id} ${"z".repeat(10_000)}`)));
      }
      await new Promise((r) => setTimeout(r, 200));
      const alice = await connect(ts, "alice", "alice-pw", { resource: "phone", reconnect: true });
      try {
        for (let i = 0; i < 100 && !alice.xmpp.streamManagement.enabled; i++) await new Promise((r) => setTimeout(r, 20));
        assert.equal(alice.xmpp.streamManagement.enabled, true, "xmpp.js enabled stream management");
        await alice.xmpp.send(xml("presence"));
        for (const id of ids) await alice.waitFor((s) => s.name === "message" && s.attrs.id === id, 8000);
        // xmpp.js answers the server's <r/>; the session lives on.
        await new Promise((r) => setTimeout(r, 500));
        await alice.xmpp.iqCaller.request(xml("iq", { type: "get", to: "localhost" }, xml("ping", { xmlns: NS_PING })));
        assert.ok(!ts.logs.some((l) => l.msg === "too many unacknowledged stanzas; ending the session" && l.jid === "alice@localhost/phone"));
      } finally {
        await alice.stop();
      }
    } finally {
      await bob.stop();
    }
  });
});

describe("s2s outbound queue per remote domain in bytes (s2s.max_queue_bytes)", () => {
  let ts: TestServer;
  let mute: Server;
  const sockets: Socket[] = [];

  before(async () => {
    // A peer that accepts the connection and never says a word: stanzas for it stay queued.
    mute = createServer((s) => {
      s.on("error", () => {});
      sockets.push(s);
    });
    await new Promise<void>((r) => mute.listen(0, "127.0.0.1", () => r()));
    const port = (mute.address() as { port: number }).port;
    ts = await startTestServer({
      s2s: ["secure: false", "negotiation_timeout: 30", "max_queue_bytes: 65536", "resolve:", `  silent.test: "127.0.0.1:${port}"`],
    });
    await ts.addUser("juliet", "pw");
  });
  after(async () => {
    await ts?.stop();
    for (const s of sockets) s.destroy();
    mute?.close();
  });

  test("the stanza that would take the queue over the limit bounces with resource-constraint at once; the others keep waiting", async () => {
    const juliet = await connect(ts, "juliet", "pw");
    try {
      const started = Date.now();
      // ~20 KB each: the first three fit in 64 KiB, the fourth does not.
      for (const id of ["q1", "q2", "q3", "q4"]) {
        await juliet.xmpp.send(xml("message", { to: "romeo@silent.test", type: "chat", id }, xml("body", {}, "y".repeat(20_000))));
      }
      const bounced = await juliet.waitFor((s) => s.name === "message" && s.attrs.type === "error", 10_000);
      assert.equal(bounced.attrs.id, "q4");
      const condition = bounced.getChild("error")?.children.find((c) => typeof c !== "string" && c.name !== "text");
      assert.equal(typeof condition === "string" ? "" : condition?.name, "resource-constraint");
      assert.ok(Date.now() - started < 5000, "bounced at once, not at the negotiation timeout");
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(
        juliet.received.filter((s) => s.attrs.type === "error").map((s) => s.attrs.id),
        ["q4"],
        "the queued ones are still waiting",
      );
      assert.ok(ts.logs.some((l) => l.msg === "s2s queue full (bytes); stanza bounced"));
    } finally {
      await juliet.stop();
    }
  });
});

describe("c2s input rate limits (c2s.rate_limits)", () => {
  let ts: TestServer;

  before(async () => {
    ts = await startTestServer({
      c2s: [
        "rate_limits:",
        "  unauthenticated: { bytes_per_second: 20000, burst_bytes: 20000, stanzas_per_second: 0 }",
        "  authenticated: { bytes_per_second: 50000, burst_bytes: 50000, stanzas_per_second: 0 }",
      ],
    });
    for (const u of ["flood", "calm"]) await ts.addUser(u, `${u}-pw`);
  });
  after(async () => {
    await ts?.stop();
  });

  test("a client sending 200 kB at once is read at about 50 kB/s, while another client's pings are answered promptly", async () => {
    const { rc: flooder } = await rawLogin(ts, "flood", "flood-pw", "hose");
    const { rc: calm } = await rawLogin(ts, "calm", "calm-pw", "quiet");
    const started = performance.now();
    whitespace((s) => flooder.send(s), 200_000);
    flooder.send(`<iq type='get' id='after-flood' to='localhost'><ping xmlns='${NS_PING}'/></iq>`);
    const done = waitForElement(flooder, (el) => el.name === "iq" && el.attrs.id === "after-flood", 20_000).then(
      () => performance.now() - started,
    );
    // Meanwhile the other client is served as usual.
    let slowest = 0;
    let finished = false;
    void done.finally(() => (finished = true));
    while (!finished) {
      const t = performance.now();
      await rawPing(calm);
      slowest = Math.max(slowest, performance.now() - t);
      await new Promise((r) => setTimeout(r, 100));
    }
    const elapsed = await done;
    // (200 kB − 50 kB burst) / 50 kB/s = 3 s; without a limit it takes a few ms.
    assert.ok(elapsed >= 2200, `the flood took ${Math.round(elapsed)} ms; it should be slowed to about 3000 ms`);
    assert.ok(elapsed <= 9000, `the flood took ${Math.round(elapsed)} ms; it should be about 3000 ms`);
    assert.ok(slowest < 1000, `the other client's slowest ping took ${Math.round(slowest)} ms`);
    assert.ok(ts.logs.some((l) => l.msg === "input rate limit reached; reading paused" && l.limit === "bytes"));
    // Throttled, not cut: the flooder's stream still works.
    await rawPing(flooder);
    flooder.destroy();
    calm.destroy();
  });

  test("before authentication the stricter limit applies: 80 kB before <starttls/> take about 3 s at 20 kB/s", async () => {
    const rc = await RawClient.connect(ts.port);
    rc.send(STREAM_OPEN(ts.domain));
    await rc.waitFor(FEATURES_END);
    const started = performance.now();
    whitespace((s) => rc.send(s), 80_000);
    rc.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
    await rc.waitFor(/<proceed/, 20_000);
    const elapsed = performance.now() - started;
    // (80 kB − 20 kB burst) / 20 kB/s = 3 s.
    assert.ok(elapsed >= 2200 && elapsed <= 9000, `took ${Math.round(elapsed)} ms; expected about 3000 ms`);
    rc.destroy();
  });
});

describe("c2s stanza rate (c2s.rate_limits.authenticated.stanzas_per_second)", () => {
  let ts: TestServer;

  before(async () => {
    ts = await startTestServer({
      c2s: ["rate_limits:", "  authenticated: { bytes_per_second: 0, stanzas_per_second: 50, burst_stanzas: 20 }"],
    });
    await ts.addUser("chatty", "chatty-pw");
  });
  after(async () => {
    await ts?.stop();
  });

  test("120 pings sent at once are handled at about 50 a second, every one answered", async () => {
    const { rc } = await rawLogin(ts, "chatty", "chatty-pw", "bot");
    const started = performance.now();
    let burst = "";
    for (let i = 0; i < 120; i++) burst += `<iq type='get' id='p${i}' to='localhost'><ping xmlns='${NS_PING}'/></iq>`;
    rc.send(burst);
    await waitForElement(rc, (el) => el.name === "iq" && el.attrs.id === "p119", 20_000);
    const elapsed = performance.now() - started;
    // (120 − 20 burst, less the bind already taken) / 50 per second ≈ 2 s.
    assert.ok(elapsed >= 1400 && elapsed <= 8000, `took ${Math.round(elapsed)} ms; expected about 2000 ms`);
    const answered = (rc.data.match(/<iq [^>]*type=["']result["']/g) ?? []).length;
    assert.ok(answered >= 120, `every ping answered (${answered} results incl. bind)`);
    rc.destroy();
  });
});

describe("slow readers (c2s.max_unsent_bytes)", () => {
  let ts: TestServer;

  before(async () => {
    ts = await startTestServer({
      c2s: ["max_unsent_bytes: 1048576", "rate_limits:", "  authenticated: { bytes_per_second: 0, stanzas_per_second: 0 }"],
    });
    await ts.addUser("sleepy", "sleepy-pw");
    await ts.addUser("talker", "talker-pw");
  });
  after(async () => {
    await ts?.stop();
  });

  test("a client that stops reading is cut once 1 MiB waits for it; the sender is served on", async () => {
    const { rc: sleepy, jid } = await rawLogin(ts, "sleepy", "sleepy-pw", "zzz");
    // Stop reading: the kernel buffers fill, then Natter's own output queue grows.
    (sleepy as unknown as { socket: { pause(): void } }).socket.pause();
    const { rc: talker } = await rawLogin(ts, "talker", "talker-pw", "loud");
    const body = "w".repeat(200_000);
    for (let i = 0; i < 40; i++) talker.send(`<message to='${jid}' type='chat' id='s${i}'><body>${body}</body></message>`);
    const deadline = Date.now() + 20_000;
    while (!ts.logs.some((l) => l.msg === "client is not reading; closing") && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const cut = ts.logs.find((l) => l.msg === "client is not reading; closing");
    assert.ok(cut, "the slow reader was cut");
    assert.ok((cut.pending as number) > 1_048_576 && (cut.pending as number) < 2 * 1_048_576 + 300_000, `pending ${cut.pending}`);
    assert.equal(ts.server.core.sessions.resourcesOf("sleepy@localhost").length, 0, "its session ended");
    await rawPing(talker);
    talker.destroy();
    sleepy.destroy();
  });
});

describe("s2s and component input rates (s2s.rate_limit, components[].rate_limit)", () => {
  let ts: TestServer;
  const BOT = "bot.localhost";
  const SECRET = "bot-secret";

  before(async () => {
    ts = await startTestServer({
      s2s: ["secure: false", "rate_limit: { bytes_per_second: 20000, burst_bytes: 20000, stanzas_per_second: 0 }"],
      yaml: [
        "components:",
        `  - { domain: ${BOT}, secret: ${SECRET}, rate_limit: { bytes_per_second: 20000, burst_bytes: 20000, stanzas_per_second: 0 } }`,
      ].join("\n"),
    });
  });
  after(async () => {
    await ts?.stop();
  });

  test("an s2s connection sending 80 kB before <starttls/> is read at about 20 kB/s", async () => {
    const peer = await RawClient.connect(ts.s2sPort!);
    peer.send(
      "<?xml version='1.0'?><stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' xmlns:db='jabber:server:dialback' from='remote.test' to='localhost' version='1.0'>",
    );
    await peer.waitFor(FEATURES_END);
    const started = performance.now();
    whitespace((s) => peer.send(s), 80_000);
    peer.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
    await peer.waitFor(/<proceed/, 20_000);
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 2000 && elapsed <= 9000, `took ${Math.round(elapsed)} ms; expected about 3000 ms`);
    peer.destroy();
  });

  test("a component sending 80 kB after its handshake is read at about 20 kB/s", async () => {
    const rc = await RawClient.connect(ts.componentPort!);
    rc.send(`<stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' to='${BOT}'>`);
    const [, id] = await rc.waitFor(/<stream:stream[^>]* id=['"]([^'"]+)['"]/);
    rc.send(`<handshake>${handshakeDigest(id!, SECRET)}</handshake>`);
    await rc.waitFor(/<handshake\/>/);
    const started = performance.now();
    whitespace((s) => rc.send(s), 80_000);
    rc.send(`<iq type='get' id='c1' from='${BOT}' to='localhost'><ping xmlns='${NS_PING}'/></iq>`);
    await rc.waitFor(/<iq[^>]* id=['"]c1['"]/, 20_000);
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 2000 && elapsed <= 9000, `took ${Math.round(elapsed)} ms; expected about 3000 ms`);
    rc.destroy();
  });
});
