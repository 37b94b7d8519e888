// Federation between two Natters on loopback (RFC 6120 s2s, XEP-0220 dialback, XEP-0178 SASL EXTERNAL):
// messages both ways, subscriptions to "both" with presence, a MUC join across servers, the policies
// (s2s.secure refusing self-signed certificates, blocked domains) and misbehaving peers.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Element } from "../../src/core/xml/element.js";
import { NS_CLIENT } from "../../src/core/xml/ns.js";
import { RawPeer } from "../helpers/raw-s2s-peer.js";
import { createTestCa, issueCertificate } from "../helpers/test-ca.js";
import { type TestServer, freePort, startTestServer } from "../helpers/test-server.js";
import { type ConnectedClient, connect, xml } from "../helpers/xmpp-client.js";

interface Pair {
  a: TestServer;
  b: TestServer;
}

/** Two servers that find each other through s2s.resolve (no DNS). `extra` lines go into both s2s sections. */
async function startPair(
  domains: [string, string],
  extra: [string[], string[]] = [[], []],
  yaml: [string, string] = ["", ""],
  /** More s2s.resolve entries for the first server. */
  resolveA: string[] = [],
): Promise<Pair> {
  const [portA, portB] = [await freePort(), await freePort()];
  const resolveTo = (domain: string, port: number, more: string[] = []) => [
    "resolve:",
    ...more,
    `  ${JSON.stringify(domain)}: "127.0.0.1:${port}"`,
    `  ${JSON.stringify(`conference.${domain}`)}: "127.0.0.1:${port}"`,
  ];
  const [a, b] = await Promise.all([
    startTestServer({ domain: domains[0], s2sPort: portA, s2s: [...resolveTo(domains[1], portB, resolveA), ...extra[0]], yaml: yaml[0] }),
    startTestServer({ domain: domains[1], s2sPort: portB, s2s: [...resolveTo(domains[0], portA), ...extra[1]], yaml: yaml[1] }),
  ]);
  return { a, b };
}

const isChat = (body: string) => (s: { name: string; getChildText(n: string): string | null }) =>
  s.name === "message" && s.getChildText("body") === body;

describe("s2s: two servers dialing each other at the same moment", () => {
  it("both dialback handshakes complete (a db:result being verified does not hold up the peer's db:verify)", async () => {
    for (let round = 0; round < 3; round++) {
      const pair = await startPair(["verona.test", "mantua.test"], [["secure: false"], ["secure: false"]]);
      try {
        await pair.a.addUser("tybalt", "pw");
        await pair.b.addUser("balthasar", "pw");
        const t = await connect(pair.a, "tybalt", "pw", { resource: "r" });
        const b = await connect(pair.b, "balthasar", "pw", { resource: "r" });
        try {
          // Both servers (in this process) route their first message in the same tick, so each opens its
          // outbound stream while the other does and both dialback exchanges cross.
          const routeFrom = (ts: TestServer, from: string, to: string, body: string) =>
            ts.server.core.router.route(
              new Element("message", NS_CLIENT, { from, to, type: "chat" }, [new Element("body", NS_CLIENT, {}, [body])]),
            );
          await Promise.all([
            routeFrom(pair.a, "tybalt@verona.test/r", "balthasar@mantua.test/r", `a${round}`),
            routeFrom(pair.b, "balthasar@mantua.test/r", "tybalt@verona.test/r", `b${round}`),
          ]);
          await b.waitFor(isChat(`a${round}`), 10_000);
          await t.waitFor(isChat(`b${round}`), 10_000);
        } finally {
          await t.stop();
          await b.stop();
        }
      } finally {
        await pair.a.stop();
        await pair.b.stop();
      }
    }
  });
});

describe("s2s between two Natters with dialback (self-signed certificates, s2s.secure off)", () => {
  let pair: Pair;
  let juliet: ConnectedClient;
  let romeo: ConnectedClient;

  before(async () => {
    pair = await startPair(["capulet.test", "montague.test"], [["secure: false"], ["secure: false"]]);
    await pair.a.addUser("juliet", "pw-juliet");
    await pair.b.addUser("romeo", "pw-romeo");
    juliet = await connect(pair.a, "juliet", "pw-juliet", { resource: "balcony" });
    romeo = await connect(pair.b, "romeo", "pw-romeo", { resource: "garden" });
    await juliet.xmpp.send(xml("presence"));
    await romeo.xmpp.send(xml("presence"));
  });

  after(async () => {
    await juliet?.stop();
    await romeo?.stop();
    await pair?.a.stop();
    await pair?.b.stop();
  });

  it("delivers messages both ways, in order, over one connection per direction", async () => {
    for (let i = 0; i < 5; i++) await juliet.xmpp.send(xml("message", { to: "romeo@montague.test", type: "chat" }, xml("body", {}, `hi ${i}`)));
    const last = await romeo.waitFor(isChat("hi 4"), 10_000);
    assert.equal(last.attrs.from, "juliet@capulet.test/balcony");
    const bodies = romeo.received.filter((s) => s.name === "message").map((s) => s.getChildText("body"));
    assert.deepEqual(bodies, ["hi 0", "hi 1", "hi 2", "hi 3", "hi 4"]);
    await romeo.xmpp.send(xml("message", { to: "juliet@capulet.test/balcony", type: "chat" }, xml("body", {}, "hello back")));
    const back = await juliet.waitFor(isChat("hello back"), 10_000);
    assert.equal(back.attrs.from, "romeo@montague.test/garden");
    const out = pair.a.server.s2s!.connections().outbound;
    assert.deepEqual(out.map((o) => `${o.local}>${o.remote}:${o.ready}`), ["capulet.test>montague.test:true"]);
    assert.ok(pair.a.logs.some((l) => l.msg === "s2s outbound stream authenticated" && String(l.how).startsWith("dialback")));
  });

  it("subscribes both ways to 'both' and exchanges presence", async () => {
    const rosterOf = async (c: ConnectedClient, contact: string) => {
      const res = await c.xmpp.iqCaller.request(xml("iq", { type: "get" }, xml("query", { xmlns: "jabber:iq:roster" })));
      return res.getChild("query")?.getChildren("item").find((i) => i.attrs.jid === contact)?.attrs;
    };
    await juliet.xmpp.send(xml("presence", { to: "romeo@montague.test", type: "subscribe" }));
    await romeo.waitFor((s) => s.name === "presence" && s.attrs.type === "subscribe" && s.attrs.from === "juliet@capulet.test", 10_000);
    await romeo.xmpp.send(xml("presence", { to: "juliet@capulet.test", type: "subscribed" }));
    // Juliet gets Romeo's current presence once he approves (RFC 6121 §3.1.5).
    await juliet.waitFor((s) => s.name === "presence" && s.attrs.type === undefined && s.attrs.from === "romeo@montague.test/garden", 10_000);
    await romeo.xmpp.send(xml("presence", { to: "juliet@capulet.test", type: "subscribe" }));
    await juliet.waitFor((s) => s.name === "presence" && s.attrs.type === "subscribe" && s.attrs.from === "romeo@montague.test", 10_000);
    await juliet.xmpp.send(xml("presence", { to: "romeo@montague.test", type: "subscribed" }));
    await romeo.waitFor((s) => s.name === "presence" && s.attrs.type === undefined && s.attrs.from === "juliet@capulet.test/balcony", 10_000);
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      if ((await rosterOf(juliet, "romeo@montague.test"))?.subscription === "both" && (await rosterOf(romeo, "juliet@capulet.test"))?.subscription === "both") break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal((await rosterOf(juliet, "romeo@montague.test"))?.subscription, "both");
    assert.equal((await rosterOf(romeo, "juliet@capulet.test"))?.subscription, "both");
    // Presence broadcast reaches the remote contact; a new resource's probe gets answered across servers.
    await romeo.xmpp.send(xml("presence", {}, xml("show", {}, "away")));
    await juliet.waitFor((s) => s.name === "presence" && s.attrs.from === "romeo@montague.test/garden" && s.getChildText("show") === "away", 10_000);
    const juliet2 = await connect(pair.a, "juliet", "pw-juliet", { resource: "ball" });
    await juliet2.xmpp.send(xml("presence"));
    await juliet2.waitFor((s) => s.name === "presence" && s.attrs.from === "romeo@montague.test/garden", 10_000);
    await juliet2.stop();
  });

  it("stores messages from a remote sender offline and delivers them at login", async () => {
    await pair.a.addUser("nurse", "pw-nurse");
    await romeo.xmpp.send(xml("message", { to: "nurse@capulet.test", type: "chat" }, xml("body", {}, "for the nurse")));
    await new Promise((r) => setTimeout(r, 500));
    const nurse = await connect(pair.a, "nurse", "pw-nurse");
    await nurse.xmpp.send(xml("presence"));
    const m = await nurse.waitFor(isChat("for the nurse"), 10_000);
    assert.equal(m.attrs.from, "romeo@montague.test/garden");
    await nurse.stop();
  });

  it("lets a remote user join a room and talk in it", async () => {
    const room = "ball@conference.capulet.test";
    await juliet.xmpp.send(xml("presence", { to: `${room}/Juliet` }, xml("x", { xmlns: "http://jabber.org/protocol/muc" })));
    await juliet.waitFor((s) => s.name === "presence" && s.attrs.from === `${room}/Juliet`, 10_000);
    // Unlock the instant room (XEP-0045 §10.1.2).
    await juliet.xmpp.iqCaller.request(
      xml("iq", { type: "set", to: room }, xml("query", { xmlns: "http://jabber.org/protocol/muc#owner" }, xml("x", { xmlns: "jabber:x:data", type: "submit" }))),
    );
    await romeo.xmpp.send(xml("presence", { to: `${room}/Romeo` }, xml("x", { xmlns: "http://jabber.org/protocol/muc" })));
    const self = await romeo.waitFor(
      (s) => s.name === "presence" && s.attrs.from === `${room}/Romeo` && s.getChild("x", "http://jabber.org/protocol/muc#user")?.getChildren("status").some((st) => st.attrs.code === "110") === true,
      10_000,
    );
    assert.ok(self);
    await juliet.waitFor((s) => s.name === "presence" && s.attrs.from === `${room}/Romeo`, 10_000);
    await romeo.xmpp.send(xml("message", { to: room, type: "groupchat" }, xml("body", {}, "good night")));
    const echoed = await juliet.waitFor((s) => s.name === "message" && s.attrs.from === `${room}/Romeo`, 10_000);
    assert.equal(echoed.getChildText("body"), "good night");
    await romeo.waitFor((s) => s.name === "message" && s.attrs.from === `${room}/Romeo` && s.attrs.type === "groupchat", 10_000);
  });

  it("lets a local user join a room on the other server", async () => {
    const room = "vigil@conference.montague.test";
    await juliet.xmpp.send(xml("presence", { to: `${room}/Juliet` }, xml("x", { xmlns: "http://jabber.org/protocol/muc" })));
    const self = await juliet.waitFor((s) => s.name === "presence" && s.attrs.from === `${room}/Juliet`, 10_000);
    assert.ok(self.getChild("x", "http://jabber.org/protocol/muc#user"));
  });
});

/** Writes a CA-issued certificate for `domain` (and *.domain) plus the CA file; returns the YAML for tls and trust. */
async function caFiles(dir: string, ca: Awaited<ReturnType<typeof createTestCa>>, domain: string): Promise<{ tls: string; trust: string[] }> {
  const issued = await issueCertificate(ca, [domain]);
  const cert = join(dir, `${domain}.crt`);
  const key = join(dir, `${domain}.key`);
  const caFile = join(dir, "ca.pem");
  writeFileSync(cert, issued.chain);
  writeFileSync(key, issued.key);
  writeFileSync(caFile, ca.cert);
  return {
    tls: `tls:\n  certificates:\n    - { cert: ${JSON.stringify(cert)}, key: ${JSON.stringify(key)} }`,
    trust: ["trust:", "  system_cas: false", `  ca_files: [${JSON.stringify(caFile)}]`],
  };
}

describe("s2s with certificates (s2s.secure on)", () => {
  let a: TestServer;
  let b: TestServer;
  let c: TestServer;
  let dir: string;

  before(async () => {
    const { mkdtempSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    dir = mkdtempSync(join(tmpdir(), "natter-s2s-ca-"));
    const ca = await createTestCa();
    const va = await caFiles(dir, ca, "verona.test");
    const vb = await caFiles(dir, ca, "padua.test");
    const [pa, pb, pc] = [await freePort(), await freePort(), await freePort()];
    const resolve = (entries: [string, number][]) => ["resolve:", ...entries.map(([d, p]) => `  ${JSON.stringify(d)}: "127.0.0.1:${p}"`)];
    [a, b, c] = await Promise.all([
      startTestServer({ domain: "verona.test", s2sPort: pa, yaml: va.tls, s2s: ["secure: true", ...va.trust, ...resolve([["padua.test", pb], ["mantua.test", pc]])] }),
      startTestServer({ domain: "padua.test", s2sPort: pb, yaml: vb.tls, s2s: ["secure: true", ...vb.trust, ...resolve([["verona.test", pa]])] }),
      // Self-signed certificate, dialback allowed: the kind of peer s2s.secure refuses.
      startTestServer({ domain: "mantua.test", s2sPort: pc, s2s: ["secure: false", ...resolve([["verona.test", pa]])] }),
    ]);
    await a.addUser("juliet", "pw");
    await b.addUser("petruchio", "pw");
    await c.addUser("romeo", "pw");
  });

  after(async () => {
    await a?.stop();
    await b?.stop();
    await c?.stop();
  });

  it("authenticates with SASL EXTERNAL when both certificates are valid", async () => {
    const juliet = await connect(a, "juliet", "pw");
    const petruchio = await connect(b, "petruchio", "pw");
    await petruchio.xmpp.send(xml("presence"));
    await juliet.xmpp.send(xml("message", { to: "petruchio@padua.test", type: "chat" }, xml("body", {}, "certified")));
    await petruchio.waitFor(isChat("certified"), 10_000);
    assert.ok(a.logs.some((l) => l.msg === "s2s outbound stream authenticated" && l.how === "SASL EXTERNAL"));
    assert.ok(b.logs.some((l) => l.msg === "s2s inbound stream authenticated" && l.how === "SASL EXTERNAL" && l.peer === "verona.test"));
    await juliet.stop();
    await petruchio.stop();
  });

  it("refuses a self-signed peer in both directions, and the senders get errors", async () => {
    const juliet = await connect(a, "juliet", "pw");
    await juliet.xmpp.send(xml("message", { to: "romeo@mantua.test", type: "chat", id: "m1" }, xml("body", {}, "refused")));
    const err = await juliet.waitFor((s) => s.name === "message" && s.attrs.type === "error" && s.attrs.id === "m1", 10_000);
    assert.ok(err.getChild("error")?.getChild("remote-server-not-found"));
    assert.ok(a.logs.some((l) => typeof l.msg === "string" && l.msg.includes("s2s refused") && l.msg.includes("mantua.test")));
    const romeo = await connect(c, "romeo", "pw");
    await romeo.xmpp.send(xml("message", { to: "juliet@verona.test", type: "chat", id: "m2" }, xml("body", {}, "let me in")));
    const err2 = await romeo.waitFor((s) => s.name === "message" && s.attrs.type === "error" && s.attrs.id === "m2", 10_000);
    assert.ok(err2.getChild("error")?.getChild("remote-server-not-found"));
    assert.ok(a.logs.some((l) => l.msg === "s2s refused: s2s.secure requires a valid certificate" && l.peer === "mantua.test"));
    assert.equal(juliet.received.filter(isChat("let me in")).length, 0);
    await juliet.stop();
    await romeo.stop();
  });
});


describe("s2s policy and misbehaving peers", () => {
  let pair: Pair;
  let juliet: ConnectedClient;
  const silent: import("node:net").Server[] = [];

  before(async () => {
    const { createServer } = await import("node:net");
    // A peer that accepts and then says nothing, and one that hangs up after the header.
    const listen = async (onConn: (s: import("node:net").Socket) => void) => {
      const server = createServer(onConn);
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
      silent.push(server);
      return (server.address() as { port: number }).port;
    };
    const mute = await listen((s) => s.on("error", () => {}));
    const vanish = await listen((s) => {
      s.on("error", () => {});
      s.once("data", () => s.destroy());
    });
    const closed = await freePort();
    pair = await startPair(
      ["athens.test", "sparta.test"],
      [
        [
          "secure: false",
          "negotiation_timeout: 2",
          "deny_domains: [thebes.test]",
        ],
        ["secure: false"],
      ],
      ["", ""],
      [`  silent.test: "127.0.0.1:${mute}"`, `  vanish.test: "127.0.0.1:${vanish}"`, `  nowhere.test: "127.0.0.1:${closed}"`],
    );
    await pair.a.addUser("pericles", "pw");
    await pair.b.addUser("leonidas", "pw");
    juliet = await connect(pair.a, "pericles", "pw");
    await juliet.xmpp.send(xml("presence"));
  });

  after(async () => {
    await juliet?.stop();
    await pair?.a.stop();
    await pair?.b.stop();
    for (const s of silent) s.close();
  });

  const errorFor = async (to: string, id: string) => {
    await juliet.xmpp.send(xml("message", { to, type: "chat", id }, xml("body", {}, "anyone?")));
    const err = await juliet.waitFor((s) => s.name === "message" && s.attrs.type === "error" && s.attrs.id === id, 15_000);
    return err.getChild("error")!.children.map((c) => (typeof c === "string" ? "" : c.name))[0];
  };

  it("bounces queued stanzas with remote-server-timeout when the peer never answers", async () => {
    assert.equal(await errorFor("someone@silent.test", "t1"), "remote-server-timeout");
  });

  it("bounces queued stanzas with remote-server-not-found when the peer vanishes or nobody listens", async () => {
    assert.equal(await errorFor("someone@vanish.test", "t2"), "remote-server-not-found");
    assert.equal(await errorFor("someone@nowhere.test", "t3"), "remote-server-not-found");
  });

  it("gives a blocked domain no connection, and the sender an error", async () => {
    assert.equal(await errorFor("someone@thebes.test", "t4"), "not-allowed");
    assert.ok(!pair.a.logs.some((l) => l.msg === "s2s connected" && l.remote === "thebes.test"));
  });

  it("refuses a stream from a blocked domain", async () => {
    const peer = await RawPeer.open(pair.a.s2sPort!);
    peer.header("thebes.test", "athens.test");
    await peer.until(/<policy-violation/);
    peer.close();
  });

  it("answers a stream to a domain it does not host with host-unknown", async () => {
    const peer = await RawPeer.open(pair.a.s2sPort!);
    peer.header("sparta.test", "corinth.test");
    await peer.until(/<host-unknown/);
    peer.close();
  });

  it("refuses a dialback key the authoritative server did not generate", async () => {
    const peer = await RawPeer.open(pair.a.s2sPort!);
    await peer.secure("sparta.test", "athens.test");
    peer.send("<db:result from='sparta.test' to='athens.test'>0123456789abcdef</db:result>");
    await peer.until(/<db:result[^>]*type=['"]invalid['"]/);
    // Not authenticated: a stanza now ends the stream.
    peer.send("<message from='leonidas@sparta.test' to='pericles@athens.test'><body>sneaky</body></message>");
    await peer.until(/<not-authorized/);
    peer.close();
    assert.equal(juliet.received.filter(isChat("sneaky")).length, 0);
  });

  it("closes a stream with invalid-from when a stanza's from is a domain it is not authenticated for", async () => {
    const { readFileSync } = await import("node:fs");
    const { createHmac } = await import("node:crypto");
    const { dialbackKey } = await import("../../src/transports/s2s/dialback.js");
    // A peer that really is sparta.test: its key comes from sparta's own secret.
    const secret = createHmac("sha256", readFileSync(join(pair.b.dataDir, "server-secret"))).update("natter s2s dialback").digest();
    const peer = await RawPeer.open(pair.a.s2sPort!);
    const id = await peer.secure("sparta.test", "athens.test");
    peer.send(`<db:result from='sparta.test' to='athens.test'>${dialbackKey(secret, "athens.test", "sparta.test", id)}</db:result>`);
    await peer.until(/<db:result[^>]*type=['"]valid['"]/);
    peer.send("<message from='leonidas@sparta.test' to='pericles@athens.test' type='chat'><body>genuine</body></message>");
    await juliet.waitFor(isChat("genuine"), 10_000);
    peer.send("<message from='xerxes@persia.test' to='pericles@athens.test' type='chat'><body>forged</body></message>");
    await peer.until(/<invalid-from/);
    peer.close();
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(juliet.received.filter(isChat("forged")).length, 0);
  });
});
