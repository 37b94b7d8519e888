// Issue 11, pre-authentication safety, over real sockets: plaintext injected behind <starttls/> (CVE-2011-0411
// class) never acts inside TLS on c2s or s2s (either direction); before authentication a stream may only send
// small stanzas with few elements and attributes; unauthenticated connections are capped per address and in
// total, and a slot is freed on authentication or close. The same limits hold on s2s and component streams.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { type Server, type Socket, connect as netConnect, createServer } from "node:net";
import { TLSSocket, connect as tlsConnect } from "node:tls";
import { after, before, describe, it } from "node:test";
import { NS_STREAM } from "../../src/core/xml/ns.js";
import { handshakeDigest } from "../../src/transports/component/handshake.js";
import { RawClient, STREAM_OPEN } from "../helpers/raw-client.js";
import { createTestCa, issueCertificate } from "../helpers/test-ca.js";
import { type TestServer, startTestServer } from "../helpers/test-server.js";
import { type ConnectedClient, connect } from "../helpers/xmpp-client.js";
import {
  FEATURES_END,
  NS_SASL,
  NS_TLS,
  expectStreamError,
  parseServerOutput,
  plainAuth,
  rawLogin,
  rawTls,
  waitForElement,
  withTimeout,
} from "./raw-helpers.js";

/**
 * @xmpp/client gives the server 2 s to answer each stream header; on this shared 2-core machine under load a
 * TLS handshake plus SCRAM sometimes takes longer. A login that times out is tried again (a wrong limit
 * fails with a stream error, not a timeout, so this hides nothing the test checks).
 */
async function connectRetrying(ts: TestServer, user: string, password: string, resource: string): Promise<ConnectedClient> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await connect(ts, user, password, { resource });
    } catch (err) {
      if (attempt >= 3 || !String((err as Error)?.name ?? err).includes("Timeout")) throw err;
    }
  }
}

const quiet = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A raw client connected from a chosen loopback source address (Linux routes all of 127.0.0.0/8 locally). */
async function connectFrom(port: number, localAddress: string): Promise<RawClient> {
  const socket = netConnect({ port, host: "127.0.0.1", localAddress });
  await new Promise<void>((resolve, reject) => socket.once("connect", () => resolve()).once("error", reject));
  // RawClient's constructor is private; connect() is the only factory, so wrap the socket the same way.
  return new (RawClient as unknown as new (s: Socket) => RawClient)(socket);
}

/** The condition of the stream error an s2s stream ended with (after the server's header, then closed). */
async function s2sStreamError(rc: RawClient): Promise<string | undefined> {
  await rc.closed;
  const out = parseServerOutput(rc.data);
  assert.ok(out.header, "the server's stream header comes first");
  assert.ok(out.ended, "the stream is closed after the error");
  return out.elements.find((e) => e.name === "error" && e.ns === NS_STREAM)?.elements()[0]?.name;
}

const S2S_OPEN = (from: string, to: string) =>
  `<?xml version='1.0'?><stream:stream xmlns='jabber:server' xmlns:stream='${NS_STREAM}' xmlns:db='jabber:server:dialback' from='${from}' to='${to}' version='1.0'>`;

describe("stream restarts: what the old stream sent is discarded (RFC 6120 §5.4.3.3 after STARTTLS, §6.4.6 after SASL)", () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({ s2s: ["secure: false"] });
    await ts.addUser("victim", "victim-pw");
    await ts.addUser("mallory", "mallory-pw");
  });
  after(async () => ts.stop());

  it("c2s: an <auth/> in the same TCP segment as <starttls/> gets no answer inside TLS and logs nobody in", async () => {
    const rc = await RawClient.connect(ts.port);
    rc.send(STREAM_OPEN(ts.domain));
    await rc.waitFor(FEATURES_END);
    // One write, one TCP segment: the man in the middle appends his own credentials to the victim's <starttls/>.
    rc.send(`<starttls xmlns='${NS_TLS}'/>${plainAuth("mallory", "mallory-pw")}`);
    await rc.waitFor(/<proceed/);
    await rc.startTls(ts.domain);
    rc.data = "";
    await quiet(500);
    assert.equal(rc.data, "", "the server says nothing inside TLS before the client's new stream header");
    // The new stream is unauthenticated: SASL is offered again, not resource binding.
    rc.send(STREAM_OPEN(ts.domain));
    await rc.waitFor(FEATURES_END);
    const features = parseServerOutput(rc.data).elements.find((e) => e.name === "features");
    assert.ok(features?.getChild("mechanisms", NS_SASL), `SASL offered again; got ${rc.data}`);
    assert.ok(!/urn:ietf:params:xml:ns:xmpp-bind/.test(rc.data), "no resource binding offered");
    assert.ok(!ts.logs.some((l) => l.msg === "authentication succeeded" && l.user === `mallory@${ts.domain}`));
    // The victim's own login on this TLS stream works as usual.
    rc.send(plainAuth("victim", "victim-pw"));
    await rc.waitFor(/<success/);
    rc.destroy();
  });

  it("c2s: what follows <auth/> in the same segment belongs to the old stream and is not acted on after <success/> (RFC 6120 §6.4.6)", async () => {
    const rc = await rawTls(ts);
    rc.send(`${plainAuth("victim", "victim-pw")}<iq type='set' id='early-bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>`);
    await rc.waitFor(/<success/);
    await quiet(300);
    assert.ok(!/early-bind/.test(rc.data), `the pipelined bind got no answer; got ${rc.data}`);
    rc.data = "";
    rc.send(STREAM_OPEN(ts.domain));
    await rc.waitFor(FEATURES_END);
    assert.ok(!/early-bind/.test(rc.data));
    assert.match(rc.data, /urn:ietf:params:xml:ns:xmpp-bind/, "binding is still to be done on the new stream");
    rc.destroy();
  });

  it("s2s inbound: a <db:result/> in the same TCP segment as <starttls/> is not acted on after the handshake", async () => {
    const rc = await RawClient.connect(ts.s2sPort as number);
    rc.send(S2S_OPEN("sparta.test", ts.domain));
    await rc.waitFor(FEATURES_END);
    // A db:result for a domain not served here would be answered at once with type='error' if it were handled.
    rc.send(`<starttls xmlns='${NS_TLS}'/><db:result from='sparta.test' to='elsewhere.test'>0123456789abcdef</db:result>`);
    await rc.waitFor(/<proceed/);
    await rc.startTls(ts.domain);
    rc.data = "";
    await quiet(500);
    assert.equal(rc.data, "", "nothing inside TLS before the peer's new stream header");
    rc.send(S2S_OPEN("sparta.test", ts.domain));
    await rc.waitFor(FEATURES_END);
    assert.ok(!/db:result|<result/.test(rc.data), `the injected db:result was not answered; got ${rc.data}`);
    rc.destroy();
  });
});

describe("STARTTLS on an outbound s2s stream: what the peer sent behind <proceed/> is discarded", () => {
  let ts: TestServer;
  let peer: Server;
  const received: string[] = [];
  let resolveDone: () => void = () => {};
  const done = new Promise<void>((r) => {
    resolveDone = r;
  });

  before(async () => {
    const ca = await createTestCa();
    const cert = await issueCertificate(ca, ["evil.test"]);
    // A hand-driven peer: header and features with STARTTLS, then <proceed/> with forged features behind it.
    peer = createServer((socket) => {
      socket.on("error", () => {});
      let plain = "";
      socket.on("data", function onPlain(d: Buffer) {
        plain += d.toString("utf8");
        if (/<stream:stream/.test(plain) && !/<starttls/.test(plain) && !plain.includes("\u0001sent")) {
          plain += "\u0001sent";
          socket.write(
            `<?xml version='1.0'?><stream:stream xmlns='jabber:server' xmlns:stream='${NS_STREAM}' xmlns:db='jabber:server:dialback' id='p1' from='evil.test' version='1.0'><stream:features><starttls xmlns='${NS_TLS}'><required/></starttls></stream:features>`,
          );
        }
        if (/<starttls/.test(plain)) {
          socket.off("data", onPlain);
          socket.write(
            `<proceed xmlns='${NS_TLS}'/><stream:features><dialback xmlns='urn:xmpp:features:dialback'/></stream:features>`,
          );
          const tls = new TLSSocket(socket, { isServer: true, cert: cert.cert, key: cert.key });
          tls.on("error", () => {});
          tls.on("data", (chunk: Buffer) => received.push(chunk.toString("utf8")));
          tls.once("secure", () => setTimeout(resolveDone, 700));
        }
      });
    });
    await new Promise<void>((r) => peer.listen(0, "127.0.0.1", () => r()));
    const port = (peer.address() as { port: number }).port;
    ts = await startTestServer({ s2s: ["secure: false", "resolve:", `  evil.test: "127.0.0.1:${port}"`] });
  });
  after(async () => {
    peer.close();
    await ts.stop();
  });

  it("after the handshake Natter sends its new header and waits for the peer's features", async () => {
    void ts.server.core.router.route(
      (await import("../../src/core/xml/element.js")).xml("message", "jabber:client", { from: `admin@${ts.domain}`, to: "x@evil.test" }),
    );
    await done;
    const inside = received.join("");
    assert.match(inside, /<stream:stream/, "Natter opened a new stream inside TLS");
    assert.ok(!/db:result|<result/.test(inside), `no dialback started on the forged features; got ${inside}`);
  });
});

describe("limits before authentication (c2s)", () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({
      c2s: [
        "max_elements_per_stanza: 40",
        "max_attributes_per_element: 10",
        "pre_auth: { max_stanza_size: 4096, max_elements_per_stanza: 16 }",
      ],
      yaml: "modules:\n  register: { allow_registration: true }",
    });
    await ts.addUser("alice", "alice-pw");
  });
  after(async () => ts.stop());

  it("an unfinished 8 KiB element before authentication gets policy-violation", async () => {
    const rc = await rawTls(ts);
    rc.send(`<iq type='set' id='big'><query xmlns='jabber:iq:register'><username>${"a".repeat(8 * 1024)}`);
    await expectStreamError(ts, rc, "policy-violation");
  });

  it("before TLS too: the same limit on the plaintext stream", async () => {
    const rc = await RawClient.connect(ts.port);
    rc.send(STREAM_OPEN(ts.domain));
    await rc.waitFor(FEATURES_END);
    rc.send(`<starttls xmlns='${NS_TLS}' junk='${"b".repeat(8 * 1024)}`);
    await expectStreamError(ts, rc, "policy-violation");
  });

  it("after authentication a 200 KiB stanza is still accepted", async () => {
    const { rc, jid } = await rawLogin(ts, "alice", "alice-pw", "big");
    const body = "x".repeat(200 * 1024);
    rc.send(`<message to='${jid}' id='m200' type='chat'><body>${body}</body></message>`);
    const got = await waitForElement(rc, (el) => el.name === "message" && el.attrs.id === "m200", 10_000);
    assert.equal(got.getChildText("body")?.length, body.length);
    rc.destroy();
  });

  it("elements per stanza before authentication: 16 are handled, 17 get policy-violation", async () => {
    const padded = (n: number) => `<iq type='get' id='reg${n}'><query xmlns='jabber:iq:register'>${"<x/>".repeat(n - 2)}</query></iq>`;
    const rc = await rawTls(ts);
    rc.send(padded(16));
    await waitForElement(rc, (el) => el.name === "iq" && el.attrs.id === "reg16");
    rc.send(padded(17));
    await expectStreamError(ts, rc, "policy-violation");
  });

  it("elements per stanza after authentication: 40 are routed, 41 get policy-violation", async () => {
    const { rc, jid } = await rawLogin(ts, "alice", "alice-pw", "elements");
    // message + body + x + 37 children = 40.
    const msg = (id: string, children: number) =>
      `<message to='${jid}' id='${id}' type='chat'><body>hi</body><x xmlns='urn:example:pad'>${"<i/>".repeat(children)}</x></message>`;
    rc.send(msg("e40", 37));
    await waitForElement(rc, (el) => el.name === "message" && el.attrs.id === "e40");
    rc.send(msg("e41", 38));
    await expectStreamError(ts, rc, "policy-violation");
  });

  it("attributes per element: 10 are accepted, 11 get policy-violation (before and after authentication)", async () => {
    // xmlns counts: it is an attribute on the wire.
    const attrs = (n: number) => Array.from({ length: n - 1 }, (_, i) => ` a${i}='v'`).join("");
    const { rc, jid } = await rawLogin(ts, "alice", "alice-pw", "attrs");
    rc.send(`<message to='${jid}' id='a10' type='chat'><body>hi</body><x xmlns='urn:example:pad'${attrs(10)}/></message>`);
    await waitForElement(rc, (el) => el.name === "message" && el.attrs.id === "a10");
    rc.send(`<message to='${jid}' id='a11' type='chat'><body>hi</body><x xmlns='urn:example:pad'${attrs(11)}/></message>`);
    await expectStreamError(ts, rc, "policy-violation");
    const pre = await rawTls(ts);
    pre.send(`<auth xmlns='${NS_SASL}' mechanism='PLAIN'${attrs(11)}>=</auth>`);
    await expectStreamError(ts, pre, "policy-violation");
  });

  it("SCRAM with channel binding and a registration form fit the default pre-auth limits", async () => {
    // @xmpp/client logs in with SCRAM-SHA-1(-PLUS) under the 4096-byte limit set above.
    const c = await connectRetrying(ts, "alice", "alice-pw", "scram");
    await c.stop();
    const rc = await rawTls(ts);
    const user = `u${randomBytes(4).toString("hex")}`;
    rc.send(
      `<iq type='set' id='regform'><query xmlns='jabber:iq:register'><x xmlns='jabber:x:data' type='submit'>` +
        `<field var='FORM_TYPE' type='hidden'><value>jabber:iq:register</value></field>` +
        `<field var='username'><value>${user}</value></field><field var='password'><value>${"p".repeat(200)}</value></field>` +
        `</x></query></iq>`,
    );
    const reply = await waitForElement(rc, (el) => el.name === "iq" && el.attrs.id === "regform");
    assert.ok(!parseServerOutput(rc.data).ended, "the stream stays open");
    assert.ok(reply.attrs.type === "result" || reply.attrs.type === "error");
    rc.destroy();
  });
});

describe("caps on unauthenticated connections (per address, in total)", () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({
      s2s: ["secure: false"],
      yaml: "unauthenticated: { max_connections: 4, max_connections_per_address: 2 }",
    });
    await ts.addUser("alice", "alice-pw");
  });
  after(async () => ts.stop());

  const open = async (from: string) => {
    const rc = await connectFrom(ts.port, from);
    rc.send(STREAM_OPEN(ts.domain));
    return rc;
  };

  it("the third connection from one address gets policy-violation, a fifth in total resource-constraint; authentication and close free a slot", async () => {
    const a1 = await open("127.0.0.1");
    const a2 = await open("127.0.0.1");
    await a1.waitFor(FEATURES_END);
    await a2.waitFor(FEATURES_END);
    const a3 = await open("127.0.0.1");
    await expectStreamError(ts, a3, "policy-violation");
    // s2s shares the count: another stream from 127.0.0.1 is refused there too.
    const s = await RawClient.connect(ts.s2sPort as number);
    s.send(S2S_OPEN("sparta.test", ts.domain));
    assert.equal(await s2sStreamError(s), "policy-violation");
    const b1 = await open("127.0.0.2");
    const c1 = await open("127.0.0.3");
    await b1.waitFor(FEATURES_END);
    await c1.waitFor(FEATURES_END);
    const d1 = await open("127.0.0.4");
    await expectStreamError(ts, d1, "resource-constraint");
    // Closing one frees its slot.
    b1.destroy();
    await quiet(200);
    const d2 = await open("127.0.0.4");
    await d2.waitFor(FEATURES_END);
    // An authenticated connection no longer counts: a1 logs in, then 127.0.0.1 may open another.
    a1.send(`<starttls xmlns='${NS_TLS}'/>`);
    await a1.waitFor(/<proceed/);
    await a1.startTls(ts.domain);
    a1.data = "";
    a1.send(STREAM_OPEN(ts.domain));
    await a1.waitFor(FEATURES_END);
    a1.send(plainAuth("alice", "alice-pw"));
    await a1.waitFor(/<success/);
    const a4 = await open("127.0.0.1");
    await a4.waitFor(FEATURES_END);
    assert.ok(!parseServerOutput(a4.data).ended);
    for (const rc of [a1, a2, c1, d2, a4]) rc.destroy();
  });

  it("direct TLS: connections count from TCP accept; over the cap one is dropped before any TLS work", async () => {
    await quiet(300); // the previous test's connections are closed and released
    const from = "127.0.0.5";
    const p1 = await connectFrom(ts.tlsPort, from);
    const p2 = await connectFrom(ts.tlsPort, from);
    // Two handshakes pending, never finished: a third connection is closed at once, without a byte.
    const p3 = await connectFrom(ts.tlsPort, from);
    await withTimeout(p3.closed, 3000, "the server to drop the third pending handshake");
    assert.equal(p3.data, "");
    assert.ok(ts.logs.some((l) => l.msg === "c2s direct TLS: connection dropped before the TLS handshake" && l.ip === from));
    // One pending handshake gives up: a real client from that address gets through, and its stream counts.
    p1.destroy();
    await quiet(200);
    const tls = tlsConnect({
      socket: netConnect({ host: "127.0.0.1", port: ts.tlsPort, localAddress: from }),
      servername: ts.domain,
      rejectUnauthorized: false,
    });
    tls.on("error", () => {});
    await new Promise<void>((resolve, reject) => {
      tls.once("secureConnect", () => resolve());
      tls.once("error", reject);
    });
    let text = "";
    tls.on("data", (d: Buffer) => (text += d.toString("utf8")));
    tls.write(STREAM_OPEN(ts.domain));
    await withTimeout(
      (async () => {
        while (!FEATURES_END.test(text)) await quiet(20);
      })(),
      5000,
      "features over direct TLS",
    );
    const p4 = await connectFrom(ts.tlsPort, from);
    await withTimeout(p4.closed, 3000, "the server to drop a connection over the cap (p2 pending, one stream)");
    tls.destroy();
    p2.destroy();
  });
});

describe("limits before authentication on s2s and component streams", () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({
      s2s: ["secure: false", "pre_auth: { max_stanza_size: 4096 }"],
      yaml: "components:\n  - { domain: bot.localhost, secret: bot-secret }",
    });
    await ts.addUser("alice", "alice-pw");
  });
  after(async () => ts.stop());

  it("s2s: an unfinished 8 KiB element before authentication gets policy-violation", async () => {
    const rc = await RawClient.connect(ts.s2sPort as number);
    rc.send(S2S_OPEN("sparta.test", ts.domain));
    await rc.waitFor(FEATURES_END);
    rc.send(`<db:result from='sparta.test' to='${ts.domain}'>${"0".repeat(8 * 1024)}`);
    assert.equal(await s2sStreamError(rc), "policy-violation");
    assert.ok(ts.logs.some((l) => l.msg === "stream error" && l.s2s === "in" && l.condition === "policy-violation"));
  });

  const componentOpen = "<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' to='bot.localhost'>";

  it("component: an unfinished 8 KiB element before the handshake gets policy-violation", async () => {
    const rc = await RawClient.connect(ts.componentPort as number);
    rc.send(componentOpen);
    await rc.waitFor(/<stream:stream[^>]* id='/);
    rc.send(`<handshake>${"0".repeat(8 * 1024)}`);
    await expectStreamError(ts, rc, "policy-violation");
  });

  it("component: after the handshake a 200 KiB stanza is routed", async () => {
    const alice = await connectRetrying(ts, "alice", "alice-pw", "r");
    try {
      const rc = await RawClient.connect(ts.componentPort as number);
      rc.send(componentOpen);
      const [, id] = (await rc.waitFor(/<stream:stream[^>]* id='([^']+)'/)) as RegExpMatchArray;
      rc.send(`<handshake>${handshakeDigest(id as string, "bot-secret")}</handshake>`);
      await rc.waitFor(/<handshake\/>/);
      const body = "y".repeat(200 * 1024);
      rc.send(`<message from='bot.localhost' to='${alice.jid}' id='big-c' type='chat'><body>${body}</body></message>`);
      const got = await alice.waitFor((s) => s.attrs.id === "big-c", 10_000);
      assert.equal(got.getChildText("body")?.length, body.length);
      rc.destroy();
    } finally {
      await alice.stop();
    }
  });
});
