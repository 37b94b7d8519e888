// Live reload of client stream settings (issue 14): a reload's c2s, auth, unauthenticated, websocket and
// hide_account_existence settings reach new connections and logins, while clients connected before it keep
// chatting with the settings they started with (input rate limits excepted: they reach every stream).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { after, afterEach, before, describe, it } from "node:test";
import { WebSocket } from "ws";
import { RawBosh } from "../helpers/bosh-raw.js";
import { ScramTestClient } from "../../src/auth/scram-test-client.js";
import { RawClient, STREAM_OPEN } from "../helpers/raw-client.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { type ConnectedClient, connect, xml } from "../helpers/xmpp-client.js";
import {
  FEATURES_END,
  NS_BIND,
  NS_SASL,
  expectStreamError,
  plainAuth,
  rawLogin,
  rawPing,
  rawTls,
  waitForElement,
} from "./raw-helpers.js";

/** STARTTLS from a chosen loopback address, then one PLAIN attempt; resolves with the SASL answer's condition. */
async function plainLoginFrom(ts: TestServer, localAddress: string, user: string, password: string): Promise<string> {
  const rc = await rawTls(ts, { localAddress });
  try {
    rc.send(plainAuth(user, password));
    const answer = await waitForElement(rc, (e) => e.ns === NS_SASL && (e.name === "success" || e.name === "failure"), 15_000);
    return answer.name === "success" ? "success" : (answer.elements()[0]?.name ?? "?");
  } finally {
    rc.destroy();
  }
}

/** A WebSocket handshake with an Origin header: the open socket, or the HTTP status that refused it. */
function webSocketFrom(ts: TestServer, origin: string): Promise<WebSocket | number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${ts.httpPort}/xmpp-websocket`, ["xmpp"], { headers: { Origin: origin } });
    ws.on("error", () => {});
    ws.once("open", () => resolve(ws));
    ws.once("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
    ws.once("close", () => reject(new Error("closed before the handshake")));
  });
}

describe("live reload of client stream settings", { timeout: 120_000 }, () => {
  let ts: TestServer;
  let alice: ConnectedClient;
  let bob: ConnectedClient;

  /** Writes the test server's config changed by `edit`, reloads, and returns the changes. */
  async function reloadWith(edit: (yaml: string) => string): Promise<string[]> {
    const yaml = edit(ts.configYaml);
    assert.notEqual(yaml, ts.configYaml, "the edit changed the config");
    writeFileSync(ts.configPath, yaml);
    const result = await ts.server.reload();
    assert.ok(result.ok, JSON.stringify(result));
    return result.changes;
  }

  const inC2s = (lines: string) => (yaml: string) => yaml.replace("\nc2s:\n", `\nc2s:\n  ${lines}\n`);

  async function chat(from: ConnectedClient, to: ConnectedClient, body = `hello ${randomBytes(4).toString("hex")}`): Promise<void> {
    await from.xmpp.send(xml("message", { to: to.jid, type: "chat" }, xml("body", {}, body)));
    await to.waitFor((s) => s.name === "message" && s.getChildText("body") === body);
  }

  before(async () => {
    ts = await startTestServer({ requireEncryption: false });
    for (const user of ["alice", "bob", "carol", "dave"]) await ts.addUser(user, `${user}-pw`);
    alice = await connect(ts, "alice", "alice-pw");
    bob = await connect(ts, "bob", "bob-pw");
  });

  afterEach(async () => {
    // Back to the file the server started with.
    writeFileSync(ts.configPath, ts.configYaml);
    const result = await ts.server.reload();
    assert.ok(result.ok, JSON.stringify(result));
  });

  after(async () => {
    await alice?.stop();
    await bob?.stop();
    await ts?.stop();
  });

  it("a lower c2s.max_stanza_size holds a new connection to it, while a client connected before keeps its own", async () => {
    const changes = await reloadWith(inC2s("max_stanza_size: 20000"));
    // c2s.max_stanza_size is also the largest WebSocket message.
    assert.deepEqual(changes, ["c2s: new settings for new connections", "websocket: new settings for new WebSocket connections"]);
    assert.equal(ts.server.config.c2s.max_stanza_size, 20000);
    const big = "x".repeat(50_000);
    // Alice's stream started with the old limit (262144): her large message still goes through.
    await chat(alice, bob, big);
    const { rc } = await rawLogin(ts, "carol", "carol-pw");
    rc.send(`<message to='bob@${ts.domain}' type='chat'><body>${big}</body></message>`);
    await expectStreamError(ts, rc, "policy-violation");
    assert.ok(!bob.received.some((s) => s.getChildText("body") === big && s.attrs.from?.startsWith("carol@")));
    await chat(bob, alice);
  });

  it("a changed login throttle refuses an address after the new number of failures", async () => {
    // The test server starts with the throttle off: any number of failures pass.
    for (let i = 0; i < 3; i++) assert.equal(await plainLoginFrom(ts, "127.0.0.21", "dave", `wrong-${i}`), "not-authorized");
    const changes = await reloadWith((yaml) =>
      yaml.replace("per_ip: { delay_after: 0, attempts: 0 }", "per_ip: { delay_after: 0, attempts: 2 }"),
    );
    assert.deepEqual(changes, ["auth: new throttle and SCRAM settings for new logins and passwords"]);
    for (let i = 0; i < 2; i++) assert.equal(await plainLoginFrom(ts, "127.0.0.22", "dave", `wrong-${i}`), "not-authorized");
    // Refused from that address, even with the right password …
    assert.equal(await plainLoginFrom(ts, "127.0.0.22", "dave", "dave-pw"), "temporary-auth-failure");
    // … and not from another.
    assert.equal(await plainLoginFrom(ts, "127.0.0.23", "dave", "dave-pw"), "success");
    await chat(alice, bob);
  });

  it("a changed websocket.allowed_origins refuses a new handshake from an origin no longer allowed; an open WebSocket goes on", async () => {
    const before = await webSocketFrom(ts, "https://evil.example");
    assert.ok(before instanceof WebSocket, `allowed before the reload (got ${String(before)})`);
    const changes = await reloadWith((yaml) => `${yaml}\nwebsocket: { allowed_origins: ["https://chat.example.org"] }\n`);
    assert.deepEqual(changes, ["websocket: new settings for new WebSocket connections"]);
    assert.equal(await webSocketFrom(ts, "https://evil.example"), 403);
    const allowed = await webSocketFrom(ts, "https://chat.example.org");
    assert.ok(allowed instanceof WebSocket);
    allowed.close();
    // The socket opened before the reload still gets its stream.
    const answer = new Promise<string>((resolve) => before.once("message", (d) => resolve(d.toString())));
    before.send(`<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='${ts.domain}' version='1.0'/>`);
    assert.match(await answer, /<open /);
    before.close();
  });

  it("require_encryption turned on refuses a new plaintext login; a plaintext session from before goes on", async () => {
    const login = async () => {
      const rc = await RawClient.connect(ts.port);
      rc.send(STREAM_OPEN(ts.domain));
      await rc.waitFor(FEATURES_END);
      const required = /<required\/>/.test(rc.data);
      // SCRAM: PLAIN is never offered without TLS.
      const scram = new ScramTestClient("SHA-256", {
        username: "carol",
        password: "carol-pw",
        clientNonce: randomBytes(18).toString("base64"),
        gs2Header: "n,,",
      });
      rc.send(`<auth xmlns='${NS_SASL}' mechanism='SCRAM-SHA-256'>${scram.clientFirst().toString("base64")}</auth>`);
      const answer = async () => waitForElement(rc, (e) => e.ns === NS_SASL && e.name !== "auth" && e.name !== "response", 15_000);
      let el = await answer();
      if (el.name === "challenge") {
        const final = await scram.clientFinal(Buffer.from(el.text(), "base64"));
        rc.data = "";
        rc.send(`<response xmlns='${NS_SASL}'>${final.toString("base64")}</response>`);
        el = await answer();
      }
      return { rc, required, outcome: el.name === "success" ? "success" : el.elements()[0]?.name };
    };
    const old = await login();
    assert.deepEqual([old.required, old.outcome], [false, "success"]);
    old.rc.data = "";
    old.rc.send(STREAM_OPEN(ts.domain));
    await old.rc.waitFor(FEATURES_END);
    old.rc.send(`<iq type='set' id='bind1'><bind xmlns='${NS_BIND}'/></iq>`);
    await old.rc.waitFor(/<jid>/);

    const changes = await reloadWith((yaml) => yaml.replace("require_encryption: false", "require_encryption: true"));
    assert.deepEqual(changes, ["c2s: new settings for new connections"]);
    const refused = await login();
    refused.rc.destroy();
    assert.deepEqual([refused.required, refused.outcome], [true, "encryption-required"]);
    await rawPing(old.rc, ts.domain);
    old.rc.destroy();
  });

  it("changed c2s.rate_limits reach the streams already open", async () => {
    const changes = await reloadWith(inC2s("rate_limits: { authenticated: { stanzas_per_second: 1, burst_stanzas: 1 } }"));
    assert.deepEqual(changes, ["c2s: new settings for new connections", "c2s.rate_limits: applied to every open client stream"]);
    const start = Date.now();
    await Promise.all(
      [1, 2, 3].map(() => alice.xmpp.iqCaller.request(xml("iq", { type: "get", to: ts.domain }, xml("ping", "urn:xmpp:ping")), 15_000)),
    );
    // One at once (the burst), then one a second.
    assert.ok(Date.now() - start >= 1500, `three pings took ${Date.now() - start} ms`);
  });

  it("a lower unauthenticated.max_connections_per_address refuses the next stranger's connection", async () => {
    const changes = await reloadWith((yaml) => `${yaml}\nunauthenticated: { max_connections_per_address: 2 }\n`);
    assert.deepEqual(changes, ["unauthenticated: new caps for new connections"]);
    const from = { localAddress: "127.0.0.31" };
    const waiting = [await RawClient.connect(ts.port, from), await RawClient.connect(ts.port, from)];
    const third = await RawClient.connect(ts.port, from);
    third.send(STREAM_OPEN(ts.domain));
    await expectStreamError(ts, third, "policy-violation");
    for (const rc of waiting) rc.destroy();
  });

  it("hide_account_existence turned on: a message to an unknown account is dropped silently", async () => {
    const toNobody = async () => {
      const id = `m-${randomBytes(4).toString("hex")}`;
      await alice.xmpp.send(xml("message", { to: `nobody@${ts.domain}`, type: "chat", id }, xml("body", {}, "hi")));
      // A ping after it: its answer comes after any error for the message.
      await alice.xmpp.iqCaller.request(xml("iq", { type: "get", to: ts.domain }, xml("ping", "urn:xmpp:ping")));
      return alice.received.some((s) => s.name === "message" && s.attrs.id === id && s.attrs.type === "error");
    };
    assert.equal(await toNobody(), true, "service-unavailable before the reload");
    const changes = await reloadWith((yaml) => `${yaml}\nhide_account_existence: true\n`);
    assert.deepEqual(changes, ["hide_account_existence: now true"]);
    assert.equal(await toNobody(), false, "silent after it");
  });

  it("a new auth.scram_iterations applies to passwords set after the reload", async () => {
    const changes = await reloadWith((yaml) => yaml.replace("\nauth:\n", "\nauth:\n  scram_iterations: 5000\n"));
    assert.deepEqual(changes, ["auth: new throttle and SCRAM settings for new logins and passwords"]);
    await ts.addUser("erin", "erin-pw");
    const iterations = async (user: string) => {
      const rc = await RawClient.connect(ts.port);
      rc.send(STREAM_OPEN(ts.domain));
      await rc.waitFor(FEATURES_END);
      rc.send(`<auth xmlns='${NS_SASL}' mechanism='SCRAM-SHA-256'>${Buffer.from(`n,,n=${user},r=abcdefgh`).toString("base64")}</auth>`);
      const challenge = await waitForElement(rc, (e) => e.ns === NS_SASL && e.name === "challenge");
      rc.destroy();
      return /,i=(\d+)/.exec(Buffer.from(challenge.text(), "base64").toString())?.[1];
    };
    assert.equal(await iterations("erin"), "5000");
    assert.notEqual(await iterations("carol"), "5000");
  });

  it("a changed bosh.inactivity is what a new BOSH session gets; a session from before keeps its own and goes on", async () => {
    const old = new RawBosh(ts.httpPort!, false);
    const fresh = new RawBosh(ts.httpPort!, false);
    try {
      const before = await old.create(ts.domain, "wait='1' hold='1' ver='1.11'");
      assert.match(before.text, /inactivity='60'/);
      const changes = await reloadWith((yaml) => `${yaml}\nbosh: { inactivity: 30 }\n`);
      assert.deepEqual(changes, ["bosh: new settings for new sessions and requests"]);
      assert.match((await fresh.create(ts.domain, "wait='1' hold='1' ver='1.11'")).text, /inactivity='30'/);
      const next = await old.send();
      assert.equal(next.status, 200);
      assert.doesNotMatch(next.text, /type='terminate'/);
    } finally {
      old.close();
      fresh.close();
    }
  });
});
