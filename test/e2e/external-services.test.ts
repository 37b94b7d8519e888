// XEP-0215 External Service Discovery as a calling client sees it: the configured STUN/TURN servers, TURN
// credentials a coturn with `use-auth-secret` accepts (checked here by recomputing the HMAC), the
// credentials request, and nothing for accounts of other domains or when nothing is configured.
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { type ConnectedClient, connect, type XmlElement, xml } from "../helpers/xmpp-client.js";

const NS_EXTDISCO = "urn:xmpp:extdisco:2";
const SECRET = "coturn shared secret";
const TTL = 3600;

const CONFIG = `modules:
  external-services:
    turn_secret: "${SECRET}"
    credential_ttl: ${TTL}
    services:
      - { type: stun, host: stun.example.org }
      - { type: turn, host: turn.example.org, port: 3478, transport: udp }
      - { type: turn, host: turn.example.org, port: 3479, transport: tcp }
      - { type: turns, host: turn.example.org, name: "TURN over TLS" }`;

const get = (c: ConnectedClient, payload: XmlElement, to = "localhost") =>
  c.xmpp.iqCaller.request(xml("iq", { type: "get", to }, payload));

const conditionOf = (condition: string) => (err: { condition?: string }) => {
  assert.equal(err.condition, condition);
  return true;
};

/** Checks REST-API credentials (draft-uberti-behave-turn-rest-00 §2.2) the way the TURN server would. */
function assertValidCredentials(s: XmlElement, user: string): void {
  const { username, password, expires } = s.attrs;
  const m = /^(\d+):(.+)$/.exec(username ?? "");
  assert.ok(m, `username is "<expiry>:<user>": ${username}`);
  assert.equal(m[2], user);
  const expiry = Number(m[1]);
  const now = Date.now() / 1000;
  assert.ok(expiry > now + TTL - 60 && expiry <= now + TTL + 1, "expires after credential_ttl");
  assert.equal(password, createHmac("sha1", SECRET).update(username as string).digest("base64"));
  assert.equal(Date.parse(expires as string) / 1000, expiry, "expires attribute (XEP-0082 UTC) matches");
  assert.match(expires as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.equal(s.attrs.restricted, "1");
}

describe("external service discovery (XEP-0215)", () => {
  let ts: TestServer;
  let alice: ConnectedClient;

  before(async () => {
    ts = await startTestServer({ yaml: CONFIG, hosts: ["other.localhost"] });
    await ts.addUser("alice", "alice-secret");
    alice = await connect(ts, "alice", "alice-secret", { resource: "phone" });
  });

  after(async () => {
    await alice?.stop();
    await ts?.stop();
  });

  it("advertises urn:xmpp:extdisco:2 on the server (§5)", async () => {
    const info = await get(alice, xml("query", "http://jabber.org/protocol/disco#info"));
    const features = info.getChild("query")?.getChildren("feature").map((f) => f.attrs.var);
    assert.ok(features?.includes(NS_EXTDISCO));
  });

  it("lists every configured service, TURN ones with temporary credentials (§3.1)", async () => {
    const res = await get(alice, xml("services", NS_EXTDISCO));
    const services = res.getChild("services", NS_EXTDISCO)?.getChildren("service") ?? [];
    assert.deepEqual(
      services.map((s) => [s.attrs.type, s.attrs.host, s.attrs.port, s.attrs.transport]),
      [
        ["stun", "stun.example.org", "3478", "udp"],
        ["turn", "turn.example.org", "3478", "udp"],
        ["turn", "turn.example.org", "3479", "tcp"],
        ["turns", "turn.example.org", "5349", "tcp"],
      ],
    );
    const [stun, ...turn] = services as [XmlElement, ...XmlElement[]];
    assert.equal(stun.attrs.username, undefined, "STUN needs no credentials");
    assert.equal(stun.attrs.restricted, undefined);
    for (const s of turn) assertValidCredentials(s, "alice@localhost");
    assert.equal(turn[2]?.attrs.name, "TURN over TLS");
  });

  it("lists the services of one type when asked (§3.2)", async () => {
    const res = await get(alice, xml("services", { xmlns: NS_EXTDISCO, type: "turn" }));
    const list = res.getChild("services", NS_EXTDISCO);
    assert.equal(list?.attrs.type, "turn");
    const services = list?.getChildren("service") ?? [];
    assert.deepEqual(services.map((s) => s.attrs.port), ["3478", "3479"]);
    const none = await get(alice, xml("services", { xmlns: NS_EXTDISCO, type: "ftp" }));
    assert.equal(none.getChild("services", NS_EXTDISCO)?.getChildren("service").length, 0);
  });

  it("gives credentials for a service named by host and type, port to pick one (§3.3)", async () => {
    const res = await get(alice, xml("credentials", NS_EXTDISCO, xml("service", { host: "turn.example.org", type: "turn" })));
    const services = res.getChild("credentials", NS_EXTDISCO)?.getChildren("service") ?? [];
    assert.equal(services.length, 2, "both ports of that host and type");
    for (const s of services) assertValidCredentials(s, "alice@localhost");
    const one = await get(
      alice,
      xml("credentials", NS_EXTDISCO, xml("service", { host: "turn.example.org", type: "turn", port: "3479" })),
    );
    assert.deepEqual(one.getChild("credentials", NS_EXTDISCO)?.getChildren("service").map((s) => s.attrs.port), ["3479"]);

    await assert.rejects(
      get(alice, xml("credentials", NS_EXTDISCO, xml("service", { host: "turn.elsewhere.org", type: "turn" }))),
      conditionOf("item-not-found"),
    );
    await assert.rejects(
      get(alice, xml("credentials", NS_EXTDISCO, xml("service", { host: "turn.example.org" }))),
      conditionOf("bad-request"),
    );
  });

  it("answers accounts of other domains with <forbidden/> (§2)", async () => {
    await ts.server.core.accounts.createUser("other.localhost", "eve", "eve-secret");
    const eve = await connect({ ...ts, domain: "other.localhost" }, "eve", "eve-secret", { resource: "x" });
    try {
      await assert.rejects(get(eve, xml("services", NS_EXTDISCO)), conditionOf("forbidden"));
      await assert.rejects(
        get(eve, xml("credentials", NS_EXTDISCO, xml("service", { host: "turn.example.org", type: "turn" }))),
        conditionOf("forbidden"),
      );
      // Its own server answers it, as a local account of that host.
      const own = await get(eve, xml("services", NS_EXTDISCO), "other.localhost");
      assertValidCredentials(own.getChild("services", NS_EXTDISCO)?.getChildren("service")[1] as XmlElement, "eve@other.localhost");
    } finally {
      await eve.stop();
    }
  });
});

describe("external service discovery without services", () => {
  let ts: TestServer;
  let alice: ConnectedClient;

  before(async () => {
    ts = await startTestServer();
    await ts.addUser("alice", "alice-secret");
    alice = await connect(ts, "alice", "alice-secret", { resource: "phone" });
  });

  after(async () => {
    await alice?.stop();
    await ts?.stop();
  });

  it("offers no feature and answers service-unavailable", async () => {
    const info = await get(alice, xml("query", "http://jabber.org/protocol/disco#info"));
    const features = info.getChild("query")?.getChildren("feature").map((f) => f.attrs.var);
    assert.ok(!features?.includes(NS_EXTDISCO));
    await assert.rejects(get(alice, xml("services", NS_EXTDISCO)), conditionOf("service-unavailable"));
  });
});
