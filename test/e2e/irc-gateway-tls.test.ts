// The IRC gateway over TLS to a real ngircd with a certificate from a test CA: the certificate is verified by
// default (a server whose CA is not trusted is refused, the join fails), and trusted through the entry's ca_file.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ircClient, type Ngircd, startNgircd } from "../helpers/ngircd.js";
import { createTestCa, issueCertificate } from "../helpers/test-ca.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { type ConnectedClient, connect, type XmlElement, xml } from "../helpers/xmpp-client.js";

const NS_MUC = "http://jabber.org/protocol/muc";
const NS_MUC_USER = "http://jabber.org/protocol/muc#user";

describe("irc-gateway over TLS", { timeout: 120_000 }, () => {
  let irc: Ngircd;
  let ts: TestServer;
  let alice: ConnectedClient;

  before(async () => {
    const ca = await createTestCa();
    const leaf = await issueCertificate(ca, ["localhost", "127.0.0.1"]);
    irc = await startNgircd({ tls: { cert: leaf.chain, key: leaf.key } });
    const caFile = join(irc.dir, "ca.pem");
    writeFileSync(caFile, ca.cert);
    ts = await startTestServer({
      yaml: [
        "modules:",
        "  irc-gateway:",
        "    servers:",
        // The same server twice: by name with its CA trusted, by address with only the system CAs.
        `      - { host: "localhost", port: ${irc.tlsPort}, tls: true, ca_file: ${JSON.stringify(caFile)} }`,
        `      - { host: "127.0.0.1", port: ${irc.tlsPort} }`,
      ].join("\n"),
    });
    await ts.addUser("alice", "pw");
    alice = await connect(ts, "alice", "pw");
  });

  after(async () => {
    await alice?.stop();
    await ts?.stop();
    await irc?.stop();
  });

  it("a certificate signed by an untrusted CA is refused: the join fails with remote-server-not-found", async () => {
    const room = "#secure%127.0.0.1@irc.localhost";
    await alice.xmpp.send(xml("presence", { to: `${room}/alice` }, xml("x", { xmlns: NS_MUC })));
    const err = await alice.waitFor(
      (s) => s.is("presence") && s.attrs.type === "error" && s.attrs.from?.startsWith(room) === true,
      15_000,
    );
    assert.ok(err.getChild("error")?.getChild("remote-server-not-found"), err.toString());
    assert.ok(
      ts.logs.some((l) => typeof l.reason === "string" && /certificate/i.test(l.reason)),
      "the log says why",
    );
  });

  it("with the server's CA in ca_file the TLS connection is verified and the user talks", async () => {
    const bob = await ircClient(irc.port, "bob");
    try {
      bob.send("JOIN #secure");
      await bob.waitFor((l) => l.command === "366");
      const room = "#secure%localhost@irc.localhost";
      await alice.xmpp.send(xml("presence", { to: `${room}/alice` }, xml("x", { xmlns: NS_MUC })));
      const self = await alice.waitFor(
        (s: XmlElement) =>
          s.is("presence") &&
          s.attrs.from === `${room}/alice` &&
          (s.getChild("x", NS_MUC_USER)?.getChildren("status") ?? []).some((c) => c.attrs.code === "110"),
        15_000,
      );
      assert.equal(self.attrs.type, undefined);
      await alice.xmpp.send(xml("message", { to: room, type: "groupchat" }, xml("body", {}, "over tls")));
      const got = await bob.waitFor((l) => l.command === "PRIVMSG");
      assert.equal(got.params[1], "over tls");
    } finally {
      bob.close();
    }
  });
});
