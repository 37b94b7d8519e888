// Metrics and health as an operator's tools see them: after real traffic (@xmpp/client over TCP and WebSocket,
// Strophe.js over BOSH, one failed login, chat messages, a stanza the router cannot deliver, a room joined),
// /metrics is scraped over HTTP, parsed as Prometheus text, and its numbers must match what happened. A scrape
// from an address not allowed gets 403; /healthz and /readyz answer load balancers.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { closeNodeXhrAgents } from "../helpers/node-xhr.js";
import { rawHttp } from "../helpers/raw-http.js";
import { type StropheClient, stropheConnect } from "../helpers/strophe.js";
import { freePort, startTestServer, type TestServer } from "../helpers/test-server.js";
import { type ConnectedClient, connect, xml } from "../helpers/xmpp-client.js";

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The Prometheus text format (0.0.4): `name{label="value",…} number` lines; # lines are comments. */
function parsePrometheus(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[l[1] as string] = l[2] as string;
    out.push({ name: m[1] as string, labels, value: Number(m[3]) });
  }
  return out;
}

/** The samples of one metric whose labels include `match`. */
function pick(samples: Sample[], name: string, match: Record<string, string> = {}): Sample[] {
  return samples.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v));
}

function value(samples: Sample[], name: string, match: Record<string, string> = {}): number {
  const found = pick(samples, name, match);
  assert.equal(found.length, 1, `exactly one ${name} ${JSON.stringify(match)}; got ${JSON.stringify(found)}`);
  return (found[0] as Sample).value;
}

const N = 25;

describe("metrics and health endpoints", () => {
  let ts: TestServer;
  let alice: ConnectedClient;
  let bob: ConnectedClient;
  let carol: StropheClient;
  let failedMechanism: string | undefined;

  before(async () => {
    ts = await startTestServer();
    for (const u of ["alice", "bob", "carol"]) await ts.addUser(u, `${u}-pw`);
    alice = await connect(ts, "alice", "alice-pw", { resource: "tcp" });
    bob = await connect(ts, "bob", "bob-pw", { resource: "web", websocket: "wss" });
    carol = await stropheConnect(`https://127.0.0.1:${ts.httpsPort}/http-bind`, `carol@${ts.domain}/bosh`, "carol-pw");
    // One failed login: a wrong password, from the same independent client.
    await assert.rejects(connect(ts, "alice", "wrong-pw", { resource: "nope" }));
    const failure = ts.logs.find((l) => l.msg === "authentication failed");
    assert.ok(failure, "the failure is logged");
  });

  after(async () => {
    await alice?.stop();
    await bob?.stop();
    await carol?.disconnect().catch(() => {});
    closeNodeXhrAgents();
    await ts?.stop();
  });

  const scrape = async () => {
    const res = await rawHttp({ port: ts.httpPort as number, path: "/metrics" });
    assert.equal(res.status, 200, res.body);
    return { res, samples: parsePrometheus(res.body) };
  };

  it("serves the Prometheus text format 0.0.4 to loopback", async () => {
    const { res, samples } = await scrape();
    assert.equal(res.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
    assert.equal(res.headers["cache-control"], "no-store");
    // prom-client's default metrics are on the server's registry: event-loop lag, memory, GC.
    assert.ok(pick(samples, "nodejs_eventloop_lag_seconds").length === 1);
    assert.ok(value(samples, "process_resident_memory_bytes") > 0);
    assert.ok(value(samples, "nodejs_heap_size_used_bytes") > 0);
    assert.equal(value(samples, "natter_info", { version: ts.server.core.version }), 1);
  });

  it("counts sessions by transport, from the session registry", async () => {
    const { samples } = await scrape();
    const host = ts.domain;
    assert.equal(value(samples, "natter_sessions", { host, transport: "tcp" }), 1);
    assert.equal(value(samples, "natter_sessions", { host, transport: "websocket" }), 1);
    assert.equal(value(samples, "natter_sessions", { host, transport: "bosh" }), 1);
  });

  it("counts the messages read and written, by kind", async () => {
    const before = await scrape();
    const inBefore = value(before.samples, "natter_stanzas_total", { direction: "in", kind: "message" });
    const outBefore = value(before.samples, "natter_stanzas_total", { direction: "out", kind: "message" });
    for (let i = 0; i < N; i++) {
      await alice.xmpp.send(xml("message", { to: bob.jid, type: "chat", id: `m${i}` }, xml("body", {}, `hello ${i}`)));
    }
    await bob.waitFor((s) => s.is("message") && s.attrs.id === `m${N - 1}`);
    const { samples } = await scrape();
    const read = value(samples, "natter_stanzas_total", { direction: "in", kind: "message" }) - inBefore;
    const written = value(samples, "natter_stanzas_total", { direction: "out", kind: "message" }) - outBefore;
    // Exactly N here: no one else sends messages meanwhile (no MAM or carbons copies go to other sessions).
    assert.equal(read, N);
    assert.equal(written, N);
    assert.ok(value(samples, "natter_stanzas_total", { direction: "in", kind: "iq" }) >= 3, "the three binds at least");
    assert.ok(value(samples, "natter_stanzas_total", { direction: "in", kind: "presence" }) >= 0);
  });

  it("counts SASL outcomes by mechanism: the one failure, and the three logins", async () => {
    const { samples } = await scrape();
    const failures = pick(samples, "natter_sasl_auth_total", { result: "failure" });
    assert.equal(failures.length, 1, JSON.stringify(failures));
    const failure = failures[0] as Sample;
    assert.equal(failure.value, 1);
    failedMechanism = failure.labels.mechanism;
    assert.notEqual(failedMechanism, "unknown");
    const successes = pick(samples, "natter_sasl_auth_total", { result: "success" });
    assert.equal(
      successes.reduce((n, s) => n + s.value, 0),
      3,
    );
    // The failed attempt came from @xmpp/client, as did alice's and bob's logins: the same mechanism succeeded twice.
    assert.ok(
      value(samples, "natter_sasl_auth_total", { result: "success", mechanism: failedMechanism as string }) >= 2,
    );
  });

  it("counts routing errors by RFC 6120 condition", async () => {
    const before =
      pick((await scrape()).samples, "natter_routing_errors_total", { condition: "service-unavailable" })[0]?.value ??
      0;
    // RFC 6121 §8.5.3.2.3: an iq to a full JID with no such resource gets service-unavailable.
    await alice.xmpp.send(
      xml("iq", { to: `bob@${ts.domain}/gone`, type: "get", id: "q1" }, xml("query", { xmlns: "jabber:iq:version" })),
    );
    await alice.waitFor((s) => s.is("iq") && s.attrs.id === "q1" && s.attrs.type === "error");
    const { samples } = await scrape();
    assert.equal(value(samples, "natter_routing_errors_total", { condition: "service-unavailable" }), before + 1);
  });

  it("counts MUC rooms and occupants through the muc module", async () => {
    const room = `metrics@conference.${ts.domain}`;
    await alice.xmpp.send(
      xml("presence", { to: `${room}/alice` }, xml("x", { xmlns: "http://jabber.org/protocol/muc" })),
    );
    await alice.waitFor((s) => s.is("presence") && s.attrs.from === `${room}/alice`);
    const { samples } = await scrape();
    assert.equal(value(samples, "natter_muc_rooms"), 1);
    assert.equal(value(samples, "natter_muc_occupants"), 1);
  });

  it("times storage operations in a histogram by operation", async () => {
    const { samples } = await scrape();
    const counts = pick(samples, "natter_storage_operation_seconds_count");
    assert.ok(counts.length > 0, "some storage operation was timed");
    for (const c of counts) {
      assert.match(c.labels.operation as string, /^(keyval|map|archive)\.[a-zA-Z]+$|^deleteUser$/);
      const inf = value(samples, "natter_storage_operation_seconds_bucket", {
        operation: c.labels.operation as string,
        le: "+Inf",
      });
      assert.equal(inf, c.value, "the +Inf bucket holds every observation");
    }
    assert.ok(counts.reduce((n, c) => n + c.value, 0) > 0);
  });

  it("never puts a JID, a user or a resource in a label", async () => {
    const { res } = await scrape();
    assert.doesNotMatch(res.body, /alice|bob|carol|@/);
  });

  it("answers only GET and HEAD on the exact path", async () => {
    const post = await rawHttp({ port: ts.httpPort as number, path: "/metrics", method: "POST" });
    assert.equal(post.status, 405);
    const below = await rawHttp({ port: ts.httpPort as number, path: "/metrics/x" });
    assert.equal(below.status, 404);
    const head = await rawHttp({ port: ts.httpPort as number, path: "/metrics", method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(head.body, "");
  });

  it("/healthz and /readyz answer 200 once the server has started", async () => {
    const health = await rawHttp({ port: ts.httpPort as number, path: "/healthz" });
    assert.equal(health.status, 200);
    const ready = await rawHttp({ port: ts.httpPort as number, path: "/readyz" });
    assert.equal(ready.status, 200, ready.body);
    assert.equal(ready.body, "ready\n");
  });
});

describe("metrics access control", () => {
  let ts: TestServer;
  let off: TestServer;

  before(async () => {
    // Loopback is not in the list: the test's own scrape is a stranger's.
    ts = await startTestServer({ yaml: 'metrics: { allowed_addresses: ["192.0.2.0/24", "2001:db8::/32"] }' });
    off = await startTestServer({ yaml: "metrics: { enabled: false }" });
  });

  after(async () => {
    await ts?.stop();
    await off?.stop();
  });

  it("refuses a scrape from an address not allowed with 403 and nothing else", async () => {
    const res = await rawHttp({ port: ts.httpPort as number, path: "/metrics" });
    assert.equal(res.status, 403);
    assert.equal(res.body, "forbidden\n");
    const also = await rawHttp({ port: ts.httpsPort as number, path: "/metrics", secure: true });
    assert.equal(also.status, 403, "HTTPS too");
    assert.ok(
      ts.logs.some(
        (l) => l.msg === "metrics scrape refused: address not in metrics.allowed_addresses" && l.ip === "127.0.0.1",
      ),
    );
  });

  it("keeps /healthz and /readyz open to every address", async () => {
    assert.equal((await rawHttp({ port: ts.httpPort as number, path: "/healthz" })).status, 200);
    assert.equal((await rawHttp({ port: ts.httpPort as number, path: "/readyz" })).status, 200);
  });

  it("does not serve /metrics at all with metrics.enabled false; health stays", async () => {
    assert.equal((await rawHttp({ port: off.httpPort as number, path: "/metrics" })).status, 404);
    assert.equal((await rawHttp({ port: off.httpPort as number, path: "/healthz" })).status, 200);
    assert.equal((await rawHttp({ port: off.httpPort as number, path: "/readyz" })).status, 200);
  });
});

describe("metrics of federation", () => {
  let a: TestServer;
  let b: TestServer;

  before(async () => {
    const [portA, portB] = [await freePort(), await freePort()];
    const s2s = (peer: string, port: number) => [
      "secure: false",
      "resolve:",
      `  ${JSON.stringify(peer)}: "127.0.0.1:${port}"`,
    ];
    [a, b] = await Promise.all([
      startTestServer({ domain: "verona.test", s2sPort: portA, s2s: s2s("mantua.test", portB) }),
      startTestServer({ domain: "mantua.test", s2sPort: portB, s2s: s2s("verona.test", portA) }),
    ]);
  });

  after(async () => {
    await a?.stop();
    await b?.stop();
  });

  it("counts the s2s links and the stanzas that crossed them", async () => {
    await a.addUser("romeo", "pw");
    await b.addUser("juliet", "pw");
    const romeo = await connect(a, "romeo", "pw", { resource: "r" });
    const juliet = await connect(b, "juliet", "pw", { resource: "r" });
    try {
      const scrapeOf = async (ts: TestServer) =>
        parsePrometheus((await rawHttp({ port: ts.httpPort as number, path: "/metrics" })).body);
      const before = value(await scrapeOf(b), "natter_stanzas_total", { direction: "in", kind: "message" });
      await romeo.xmpp.send(
        xml("message", { to: "juliet@mantua.test/r", type: "chat", id: "f1" }, xml("body", {}, "wherefore")),
      );
      await juliet.waitFor((s) => s.is("message") && s.attrs.id === "f1", 10_000);
      const [atA, atB] = [await scrapeOf(a), await scrapeOf(b)];
      assert.equal(value(atA, "natter_s2s_links", { direction: "out" }), 1);
      assert.equal(value(atB, "natter_s2s_links", { direction: "in" }), 1);
      // At mantua the message was read once (from verona's s2s stream), not from any client of its own.
      assert.equal(value(atB, "natter_stanzas_total", { direction: "in", kind: "message" }) - before, 1);
      // What the console charts: one sample now, with the links in it (verona also holds mantua's dialback
      // verification connection, XEP-0220 §2.3, which is an inbound link).
      const sample = a.server.stats.sample();
      assert.equal(sample.s2sLinks, 1 + value(atA, "natter_s2s_links", { direction: "in" }));
      assert.equal(sample.sessions, 1);
    } finally {
      await romeo.stop();
      await juliet.stop();
    }
  });
});
