// Issue 12: "strophe.js (npm) over BOSH and WebSocket" — the WebSocket half (BOSH is in bosh.test.ts).
// Strophe.js, an independent RFC 7395 client, logs in with SCRAM over wss:, chats with a TCP client both ways and
// closes its stream with <close/>, which the server sees as the client's own close.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { stropheConnect } from "../helpers/strophe.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { type ConnectedClient, connect, xml } from "../helpers/xmpp-client.js";

describe("Strophe.js over WebSocket (RFC 7395)", () => {
  let ts: TestServer;
  let bob: ConnectedClient;

  before(async () => {
    ts = await startTestServer();
    for (const u of ["alice", "bob"]) await ts.addUser(u, `${u}-pw`);
    bob = await connect(ts, "bob", "bob-pw", { resource: "tcp" });
  });

  after(async () => {
    await bob?.stop();
    await ts?.stop();
  });

  it("logs in with SCRAM over wss:, sends a message to a TCP client and gets one back, disconnects cleanly", async () => {
    const strophe = await stropheConnect(
      `wss://127.0.0.1:${ts.httpsPort}/xmpp-websocket`,
      "alice@localhost/strophe",
      "alice-pw",
    );
    assert.equal(strophe.conn.jid, "alice@localhost/strophe");
    const auth = ts.logs.filter((l) => l.msg === "authentication succeeded" && l.user === "alice@localhost");
    assert.equal(auth.length, 1);
    assert.match(String(auth[0]?.mechanism), /^SCRAM-SHA-(1|256|384|512)$/, "Strophe chose SCRAM");
    const stream = auth[0]?.stream;

    strophe.sendChat("bob@localhost/tcp", "hello from Strophe over WebSocket");
    const got = await bob.waitFor(
      (s) => s.is("message") && s.getChildText("body") === "hello from Strophe over WebSocket",
    );
    assert.equal(got.attrs.from, "alice@localhost/strophe");
    assert.equal(got.attrs.type, "chat");

    const incoming = strophe.nextChat();
    await bob.xmpp.send(xml("message", { to: "alice@localhost/strophe", type: "chat" }, xml("body", {}, "hello back")));
    assert.deepEqual(await incoming, { from: "bob@localhost/tcp", body: "hello back" });

    await strophe.disconnect();
    // RFC 7395 §3.6: the client's <close/> ends the stream; the server logs it as the peer's close, then the
    // connection's end, and the session is gone.
    const ofStream = (msg: string) => ts.logs.some((l) => l.stream === stream && l.msg === msg);
    const deadline = Date.now() + 5000;
    while (!ofStream("c2s connection closed") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(ofStream("peer closed the stream"), "the server saw the client close the stream");
    assert.ok(ofStream("c2s connection closed"));
    // RFC 6121 §8.5.3.2.1: an IQ to a full JID that has no session is answered <service-unavailable/>.
    await assert.rejects(
      bob.xmpp.iqCaller.request(
        xml("iq", { type: "get", to: "alice@localhost/strophe" }, xml("ping", "urn:xmpp:ping")),
      ),
      (err: { condition?: string }) => err.condition === "service-unavailable",
    );
  });
});
