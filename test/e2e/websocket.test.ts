// XMPP over WebSocket (RFC 7395) as clients see it: @xmpp/client logs in over wss: on the HTTPS listener,
// chats with a TCP client both ways, resumes its session (XEP-0198) over a new WebSocket, and the handshake
// refuses what is not an XMPP client.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { WebSocket } from "ws";
import { type TestServer, startTestServer } from "../helpers/test-server.js";
import { type ConnectedClient, connect, xml } from "../helpers/xmpp-client.js";

const FRAMING = "urn:ietf:params:xml:ns:xmpp-framing";

/** A raw RFC 7395 client: every message it receives, in order. */
async function rawSocket(ts: TestServer, protocols: string[] = ["xmpp"], headers: Record<string, string> = {}) {
  const ws = new WebSocket(`wss://127.0.0.1:${ts.httpsPort}/xmpp-websocket`, protocols, { rejectUnauthorized: false, headers });
  const messages: string[] = [];
  ws.on("message", (d) => messages.push(d.toString()));
  const closed = new Promise<number>((resolve) => ws.on("close", (code) => resolve(code)));
  ws.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("unexpected-response", (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once("error", reject);
  });
  const waitFor = async (pred: (m: string) => boolean, ms = 5000) => {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      const found = messages.find(pred);
      if (found) return found;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`no such message; got ${JSON.stringify(messages)}`);
  };
  return { ws, messages, closed, waitFor };
}

describe("WebSocket (RFC 7395)", () => {
  let ts: TestServer;
  let tcp: ConnectedClient;
  let web: ConnectedClient;

  before(async () => {
    ts = await startTestServer();
    await ts.addUser("alice", "alice-secret");
    await ts.addUser("bob", "bob-secret");
    tcp = await connect(ts, "bob", "bob-secret", { resource: "tcp" });
    web = await connect(ts, "alice", "alice-secret", { resource: "browser", websocket: "wss" });
  });

  after(async () => {
    await web?.stop();
    await tcp?.stop();
    await ts?.stop();
  });

  it("logs in over wss: (SASL, bind) and chats with a TCP client both ways", async () => {
    assert.equal(web.jid, "alice@localhost/browser");
    await tcp.xmpp.send(xml("presence"));
    await web.xmpp.send(xml("presence"));
    await web.xmpp.send(xml("message", { to: "bob@localhost/tcp", type: "chat", id: "w1" }, xml("body", {}, "from the browser")));
    const atTcp = await tcp.waitFor((s) => s.is("message") && s.attrs.id === "w1");
    assert.equal(atTcp.getChildText("body"), "from the browser");
    assert.equal(atTcp.attrs.from, "alice@localhost/browser");
    await tcp.xmpp.send(xml("message", { to: "alice@localhost", type: "chat", id: "t1" }, xml("body", {}, "from TCP")));
    const atWeb = await web.waitFor((s) => s.is("message") && s.attrs.id === "t1");
    assert.equal(atWeb.getChildText("body"), "from TCP");
    // Once authenticated, c2s.max_stanza_size applies: a 20 kB message passes.
    const big = "b".repeat(20_000);
    await web.xmpp.send(xml("message", { to: "bob@localhost/tcp", type: "chat", id: "w2" }, xml("body", {}, big)));
    assert.equal((await tcp.waitFor((s) => s.is("message") && s.attrs.id === "w2")).getChildText("body"), big);
  });

  it("delivers a burst of messages whole and in order (the frames of one tick share a corked write)", async () => {
    for (let i = 0; i < 200; i++) {
      await tcp.xmpp.send(xml("message", { to: "alice@localhost/browser", type: "chat", id: `burst${i}` }, xml("body", {}, `n${i}`)));
    }
    await web.waitFor((s) => s.is("message") && s.attrs.id === "burst199");
    const ids = web.received.filter((s) => s.is("message") && String(s.attrs.id).startsWith("burst")).map((s) => s.attrs.id);
    assert.deepEqual(ids, Array.from({ length: 200 }, (_, i) => `burst${i}`));
  });

  it("answers iq over the WebSocket (disco#info of the server)", async () => {
    const res = await web.xmpp.iqCaller.request(xml("iq", { type: "get", to: "localhost" }, xml("query", "http://jabber.org/protocol/disco#info")));
    assert.equal(res.attrs.type, "result");
  });

  it("opens with <open/>, offers SASL with channel binding over wss:, and closes with <close/>", async () => {
    const c = await rawSocket(ts);
    c.ws.send(`<open xmlns='${FRAMING}' to='localhost' version='1.0'/>`);
    const open = await c.waitFor((m) => m.startsWith("<open"));
    assert.match(open, /xmlns='urn:ietf:params:xml:ns:xmpp-framing'/);
    assert.match(open, /from='localhost'/);
    const features = await c.waitFor((m) => m.includes("features"));
    assert.match(features, /^<stream:features xmlns:stream="http:\/\/etherx.jabber.org\/streams"/);
    assert.match(features, /SCRAM-SHA-256-PLUS/);
    assert.doesNotMatch(features, /starttls/);
    c.ws.send(`<close xmlns='${FRAMING}'/>`);
    await c.waitFor((m) => m.startsWith("<close"));
    assert.equal(await c.closed, 1000);
  });

  it("answers a stream error inside the framing: a stanza before <open/>, a message of two elements", async () => {
    const c = await rawSocket(ts);
    c.ws.send(`<message xmlns='jabber:client' to='bob@localhost'><body>x</body></message>`);
    await c.waitFor((m) => m.includes("bad-format"));
    await c.waitFor((m) => m.startsWith("<close"));
    await c.closed;
    const d = await rawSocket(ts);
    d.ws.send(`<open xmlns='${FRAMING}' to='localhost' version='1.0'/>`);
    await d.waitFor((m) => m.includes("features"));
    d.ws.send("<a/><b/>");
    await d.waitFor((m) => m.includes("not-well-formed"));
    await d.closed;
  });

  it("refuses a handshake without the xmpp subprotocol, and closes an oversized frame", async () => {
    await assert.rejects(rawSocket(ts, ["chat"]), /HTTP 400/);
    const c = await rawSocket(ts);
    c.ws.send(`<open xmlns='${FRAMING}' to='localhost' version='1.0'/>`);
    await c.waitFor((m) => m.includes("features"));
    // Before authentication the pre-auth stanza limit (c2s.pre_auth.max_stanza_size, 4096) is the WebSocket's own
    // message cap: a larger frame is refused from its header (RFC 6455 1009), before ws buffers it.
    c.ws.send(`<iq xmlns='jabber:client' type='get' id='x'><query xmlns='jabber:iq:version'>${"a".repeat(8000)}</query></iq>`);
    assert.equal(await c.closed, 1009);
    assert.ok(ts.logs.some((l) => typeof l.reason === "string" && l.reason.includes("Max payload size exceeded")), "logged");
    // Beyond c2s.max_stanza_size the WebSocket layer itself refuses the frame (RFC 6455 1009).
    const d = await rawSocket(ts);
    d.ws.send("x".repeat(300_000));
    assert.equal(await d.closed, 1009);
    // The server still serves others.
    const res = await web.xmpp.iqCaller.request(xml("iq", { type: "get", to: "localhost" }, xml("ping", "urn:xmpp:ping")));
    assert.equal(res.attrs.type, "result");
  });

  it("resumes a session (XEP-0198) over a new WebSocket and gets what was sent meanwhile", async () => {
    const c = await connect(ts, "alice", "alice-secret", { resource: "resumer", websocket: "wss", reconnect: true });
    const sm = (c.xmpp as unknown as { streamManagement: { id: string; enabled: boolean } }).streamManagement;
    const deadline = Date.now() + 5000;
    while (!sm.enabled && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(sm.enabled && sm.id, "stream management enabled with resumption");
    const resumed = new Promise<void>((resolve) => c.xmpp.once("online", () => resolve()));
    // Kill the WebSocket under the client: the session waits for resumption.
    const socket = (c.xmpp as unknown as { socket: { socket: WebSocket } }).socket.socket;
    socket.terminate();
    await tcp.xmpp.send(xml("message", { to: "alice@localhost/resumer", type: "chat", id: "r1" }, xml("body", {}, "while away")));
    const m = await c.waitFor((s) => s.is("message") && s.attrs.id === "r1", 15_000);
    assert.equal(m.getChildText("body"), "while away");
    await Promise.race([resumed, new Promise((r) => setTimeout(r, 100))]);
    assert.ok(ts.logs.some((l) => l.msg === "session resumed" && l.jid === "alice@localhost/resumer"));
    await c.stop();
  });

  it("is refused from an origin not in websocket.allowed_origins", async () => {
    const other = await startTestServer({ yaml: "websocket: { allowed_origins: ['https://chat.example.org'] }" });
    try {
      await assert.rejects(rawSocket(other, ["xmpp"], { Origin: "https://evil.example" }), /HTTP 403/);
      const ok = await rawSocket(other, ["xmpp"], { Origin: "https://chat.example.org" });
      ok.ws.close();
    } finally {
      await other.stop();
    }
  });
});

