// c2s.parser_release_after: a client that sent nothing for a while has its XML parser dropped (memory per idle
// session, issue 13) and gets a new one at its next input. What the client sees must not change: over TCP with
// STARTTLS (xmpp.js), over direct TLS and over WebSocket, stanzas after the idle spell are read as before,
// namespaces declared on the stream header included.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { type ConnectedClient, connect, xml } from "../helpers/xmpp-client.js";

const idle = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("idle streams drop their parser and read on (c2s.parser_release_after)", () => {
  let ts: TestServer;
  const clients: ConnectedClient[] = [];

  before(async () => {
    ts = await startTestServer({ c2s: ["parser_release_after: 0.1"] });
    await ts.addUser("alice", "alice-secret");
    await ts.addUser("bob", "bob-secret");
  });
  after(async () => {
    for (const c of clients) await c.stop();
    await ts.stop();
  });

  for (const [label, opts] of [
    ["TCP with STARTTLS", {}],
    ["direct TLS", { directTls: true }],
    ["WebSocket over HTTPS", { websocket: "wss" as const }],
  ] as const) {
    it(`${label}: a message and an iq after idle spells reach their targets whole`, async () => {
      const alice = await connect(ts, "alice", "alice-secret", { resource: `a-${clients.length}`, ...opts });
      const bob = await connect(ts, "bob", "bob-secret", { resource: `b-${clients.length}` });
      clients.push(alice, bob);
      for (let round = 0; round < 3; round++) {
        await idle(350); // more than twice the period: both parsers are dropped
        const body = `round ${round} ✓ 😀`;
        const got = bob.waitFor((s) => s.is("message") && s.getChildText("body") === body);
        await alice.xmpp.send(
          xml(
            "message",
            { to: bob.jid, type: "chat", id: `m${round}` },
            xml("body", {}, body),
            xml("x", { xmlns: "urn:example:idle" }, "payload"),
          ),
        );
        const message = await got;
        assert.equal(message.attrs.from, alice.jid);
        assert.equal(message.getChildText("x", "urn:example:idle"), "payload");
        await idle(350);
        const pong = await alice.xmpp.iqCaller.request(
          xml("iq", { type: "get", to: "localhost" }, xml("ping", "urn:xmpp:ping")),
        );
        assert.equal(pong.attrs.type, "result");
      }
    });
  }
});
