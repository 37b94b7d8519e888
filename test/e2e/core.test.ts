// The foundation as a user sees it: log in with an independent client (@xmpp/client) over STARTTLS and
// direct TLS, chat between two accounts, the server's own services (disco, ping, version, time).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type TestServer, startTestServer } from "../helpers/test-server.js";
import { type ConnectedClient, connect, xml } from "../helpers/xmpp-client.js";

describe("foundation e2e (@xmpp/client)", () => {
  let ts: TestServer;
  let alice: ConnectedClient;
  let bob: ConnectedClient;

  before(async () => {
    ts = await startTestServer();
    await ts.addUser("alice", "alice-secret");
    await ts.addUser("bob", "bob-secret");
    alice = await connect(ts, "alice", "alice-secret", { resource: "laptop" });
    bob = await connect(ts, "bob", "bob-secret", { resource: "phone" });
  });

  after(async () => {
    await alice?.stop();
    await bob?.stop();
    await ts?.stop();
  });

  it("binds the requested resource over STARTTLS", () => {
    assert.equal(alice.jid, "alice@localhost/laptop");
    assert.equal(bob.jid, "bob@localhost/phone");
    assert.ok(ts.logs.some((l) => l.msg === "authentication succeeded" && l.user === "alice@localhost" && l.ip === "127.0.0.1"));
  });

  it("delivers a chat message to the bare JID of an available contact, with from stamped", async () => {
    await bob.xmpp.send(xml("presence"));
    await new Promise((r) => setTimeout(r, 100));
    await alice.xmpp.send(xml("message", { to: "bob@localhost", type: "chat", id: "m1" }, xml("body", {}, "hello bob")));
    const got = await bob.waitFor((s) => s.is("message") && s.attrs.id === "m1");
    assert.equal(got.getChildText("body"), "hello bob");
    assert.equal(got.attrs.from, "alice@localhost/laptop");
  });

  it("answers disco#info with the server identity and every module's feature", async () => {
    const res = await alice.xmpp.iqCaller.request(
      xml("iq", { type: "get", to: "localhost" }, xml("query", "http://jabber.org/protocol/disco#info")),
    );
    const query = res.getChild("query", "http://jabber.org/protocol/disco#info")!;
    const identity = query.getChild("identity")!;
    assert.equal(identity.attrs.category, "server");
    assert.equal(identity.attrs.type, "im");
    const features = query.getChildren("feature").map((f) => f.attrs.var);
    for (const ns of ["http://jabber.org/protocol/disco#info", "urn:xmpp:ping", "jabber:iq:version", "urn:xmpp:time"]) {
      assert.ok(features.includes(ns), `${ns} advertised`);
    }
  });

  it("answers ping, version and time", async () => {
    const ping = await alice.xmpp.iqCaller.request(xml("iq", { type: "get", to: "localhost" }, xml("ping", "urn:xmpp:ping")));
    assert.equal(ping.attrs.type, "result");
    const version = await alice.xmpp.iqCaller.request(
      xml("iq", { type: "get", to: "localhost" }, xml("query", "jabber:iq:version")),
    );
    assert.equal(version.getChild("query")!.getChildText("name"), "Natter");
    const time = await alice.xmpp.iqCaller.request(xml("iq", { type: "get", to: "localhost" }, xml("time", "urn:xmpp:time")));
    const utc = time.getChild("time")!.getChildText("utc")!;
    assert.ok(Math.abs(Date.parse(utc) - Date.now()) < 10_000);
  });

  it("refuses an unknown namespace with service-unavailable (RFC 6120 §8.4)", async () => {
    await assert.rejects(
      alice.xmpp.iqCaller.request(xml("iq", { type: "get", to: "localhost" }, xml("query", "urn:example:nothing"))),
      (err: { condition?: string }) => err.condition === "service-unavailable",
    );
  });

  it("logs in over direct TLS (XEP-0368)", async () => {
    const direct = await connect(ts, "alice", "alice-secret", { resource: "tls", directTls: true });
    try {
      assert.equal(direct.jid, "alice@localhost/tls");
    } finally {
      await direct.stop();
    }
  });

  it("refuses a wrong password", async () => {
    await assert.rejects(connect(ts, "alice", "wrong"), /not-authorized/);
    assert.ok(ts.logs.some((l) => l.msg === "authentication failed" && l.user === "alice@localhost"));
  });
});
