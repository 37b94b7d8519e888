// XMPP over BOSH (XEP-0124 / XEP-0206) at /http-bind, over real HTTP(S) against a real server: a raw client
// that sends exact bytes (login, restart, messages with a TCP client, terminate, every kind of bad request),
// and Strophe.js, an independent BOSH client, logging in with SCRAM.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { RawBosh } from "../helpers/bosh-raw.js";
import { closeNodeXhrAgents } from "../helpers/node-xhr.js";
import { stropheConnect } from "../helpers/strophe.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { type ConnectedClient, connect, xml } from "../helpers/xmpp-client.js";

const b64 = (s: string) => Buffer.from(s).toString("base64");

/** Creation, SASL PLAIN, restart, bind: a bound raw BOSH session; returns its full JID. */
async function rawLogin(
  bosh: RawBosh,
  domain: string,
  user: string,
  password: string,
  resource: string,
): Promise<string> {
  const created = await bosh.create(domain);
  assert.equal(created.status, 200);
  assert.match(created.text, /<mechanism>PLAIN<\/mechanism>/);
  await bosh.until(
    /<success/,
    `<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${b64(`\0${user}\0${password}`)}</auth>`,
  );
  await bosh.until(/<bind/, "", `xmpp:restart='true' to='${domain}'`);
  const bound = await bosh.until(
    /<jid>/,
    `<iq xmlns='jabber:client' type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>${resource}</resource></bind></iq>`,
  );
  return /<jid>([^<]+)<\/jid>/.exec(bound.text)?.[1] as string;
}

describe("BOSH (XEP-0124, XEP-0206)", () => {
  let ts: TestServer;
  const raws: RawBosh[] = [];
  const clients: ConnectedClient[] = [];

  before(async () => {
    ts = await startTestServer({ yaml: "bosh:\n  inactivity: 5\n  max_body_bytes: 20000" });
    for (const u of ["alice", "bob"]) await ts.addUser(u, `${u}-pw`);
  });
  after(async () => {
    for (const c of clients) await c.stop();
    for (const r of raws) r.close();
    closeNodeXhrAgents();
    await ts.stop();
  });

  const raw = (secure = true) => {
    const r = new RawBosh(secure ? (ts.httpsPort as number) : (ts.httpPort as number), secure);
    raws.push(r);
    return r;
  };

  test("session creation response: XEP-0124 §7.1 and XEP-0206 §3 attributes, stream features inside", async () => {
    const bosh = raw();
    const reply = await bosh.create(ts.domain, "wait='600' hold='3' ver='1.6'");
    assert.equal(reply.status, 200);
    assert.match(String(reply.headers["content-type"]), /^text\/xml; charset=utf-8/);
    assert.match(reply.text, /sid='[0-9a-f]{32}'/, "128 random bits");
    for (const a of [
      "wait='60'",
      "hold='1'",
      "requests='2'",
      "inactivity='5'",
      "polling='2'",
      "maxpause='120'",
      "ver='1.6'",
      `from='${ts.domain}'`,
      "secure='true'",
      "xmpp:version='1.0'",
      "xmpp:restartlogic='true'",
    ]) {
      assert.ok(reply.text.includes(a), `${a} in ${reply.text}`);
    }
    assert.match(reply.text, /<stream:features xmlns:stream="http:\/\/etherx.jabber.org\/streams">/);
    assert.doesNotMatch(reply.text, /starttls/, "no STARTTLS over BOSH");
    await bosh.send("", "type='terminate'");
  });

  test("login with PLAIN over HTTPS, restart, bind; messages to and from a TCP client; terminate ends the session", async () => {
    const bob = await connect(ts, "bob", "bob-pw", { resource: "tcp" });
    clients.push(bob);
    const bosh = raw();
    const jid = await rawLogin(bosh, ts.domain, "alice", "alice-pw", "web");
    assert.equal(jid, `alice@${ts.domain}/web`);
    // The request carrying the message is held (nothing to answer yet) ...
    const sending = bosh.send(
      `<message xmlns='jabber:client' to='bob@${ts.domain}/tcp' type='chat' id='m1'><body>over BOSH</body></message>`,
    );
    const got = await bob.waitFor((s) => s.is("message") && s.getChildText("body") === "over BOSH");
    assert.equal(got.attrs.from, jid);
    // ... until the next one comes: hold is 1, so the older is answered at once (XEP-0124 §8).
    const held = bosh.send();
    assert.equal((await sending).status, 200);
    // Bob answers while a request is held: the held request carries it.
    await bob.xmpp.send(xml("message", { to: jid, type: "chat", id: "r1" }, xml("body", {}, "back over TCP")));
    const reply = await held;
    assert.match(reply.text, /<message xmlns="jabber:client"[^>]* from="bob@localhost\/tcp"[^>]*>.*back over TCP/);
    const end = await bosh.send("<presence xmlns='jabber:client' type='unavailable'/>", "type='terminate'");
    assert.match(end.text, /type='terminate'/);
    // The session is gone: its sid is unknown now.
    const after = await bosh.send();
    assert.equal(after.status, 404);
    assert.match(after.text, /condition='item-not-found'/);
  });

  test("bad requests: unknown sid, non-XML, not a <body/>, too large, no 'to', unknown host, GET, CORS preflight", async () => {
    const bosh = raw();
    bosh.sid = "0".repeat(32);
    const unknown = await bosh.send();
    assert.equal(unknown.status, 404);
    assert.match(unknown.text, /type='terminate' condition='item-not-found'/);
    const notXml = await bosh.post("<body xmlns='http://jabber.org/protocol/httpbind' rid='1'><unclosed></body>");
    assert.equal(notXml.status, 400);
    assert.match(notXml.text, /condition='bad-request'/);
    const notBody = await bosh.post("<iq xmlns='jabber:client' rid='1'/>");
    assert.equal(notBody.status, 400);
    const noRid = await bosh.post(`<body xmlns='http://jabber.org/protocol/httpbind' to='${ts.domain}'/>`);
    assert.equal(noRid.status, 400);
    const huge = await bosh.post(
      `<body xmlns='http://jabber.org/protocol/httpbind' rid='1'>${"<x/>".repeat(100_000)}</body>`,
    );
    assert.equal(huge.status, 413);
    const noTo = await bosh.post(
      "<body xmlns='http://jabber.org/protocol/httpbind' rid='5' wait='5' hold='1' ver='1.6'/>",
    );
    assert.match(noTo.text, /condition='improper-addressing'/);
    const otherHost = await bosh.post(
      "<body xmlns='http://jabber.org/protocol/httpbind' rid='5' to='elsewhere.example' wait='5' hold='1' ver='1.6'/>",
    );
    assert.match(otherHost.text, /condition='host-unknown'/);
    const get = await bosh.post("", { method: "GET" });
    assert.equal(get.status, 405);
    const preflight = await bosh.post("", {
      method: "OPTIONS",
      headers: { Origin: "https://web.example", "Access-Control-Request-Method": "POST" },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers["access-control-allow-origin"], "*");
    assert.match(String(preflight.headers["access-control-allow-methods"]), /POST/);
    // The server is still serving.
    const ok = await raw().create(ts.domain);
    assert.equal(ok.status, 200);
  });

  test("rids: a repeated rid gets the same answer; a rid beyond the window ends the session with item-not-found", async () => {
    const bosh = raw();
    const created = await bosh.create(ts.domain);
    const again = await bosh.sendRid(bosh.rid);
    assert.equal(again.text, created.text, "XEP-0124 §14.3: the buffered answer again");
    const beyond = await bosh.sendRid(bosh.rid + 5);
    assert.equal(beyond.status, 200);
    assert.match(beyond.text, /type='terminate' condition='item-not-found'/);
    assert.equal((await bosh.send()).status, 404, "the session ended");
    assert.ok(
      ts.logs.some((l) => l.msg === "BOSH request refused; ending the session" && l.condition === "item-not-found"),
    );
  });

  test("a stream error travels as remote-stream-error with the stream:error inside (XEP-0206 §8)", async () => {
    const bosh = raw();
    await bosh.create(ts.domain);
    // A stanza before authentication is a stream error (RFC 6120 §6.4.1: not-authorized).
    const reply = await bosh.until(
      /terminate/,
      `<message xmlns='jabber:client' to='bob@${ts.domain}'><body>x</body></message>`,
    );
    assert.match(reply.text, /type='terminate' condition='remote-stream-error'/);
    assert.match(reply.text, /<stream:error xmlns:stream="http:\/\/etherx.jabber.org\/streams"><not-authorized/);
  });

  test("an abandoned session ends after `inactivity`; the user goes offline", async () => {
    const bob = await connect(ts, "bob", "bob-pw", { resource: "watch" });
    clients.push(bob);
    const bosh = raw();
    const jid = await rawLogin(bosh, ts.domain, "alice", "alice-pw", "gone");
    // The client stops making requests: after inactivity (5 s) the session ends as a lost connection.
    await new Promise((r) => setTimeout(r, 7000));
    await bob.xmpp.send(xml("iq", { to: jid, type: "get", id: "after" }, xml("ping", { xmlns: "urn:xmpp:ping" })));
    const answer = await bob.waitFor((s) => s.is("iq") && s.attrs.id === "after", 10_000);
    const error =
      answer.attrs.type === "error"
        ? answer
            .getChild("error")
            ?.children.map((c) => (typeof c === "string" ? "" : c.name))
            .join(" ")
        : "answered";
    assert.match(error ?? "", /service-unavailable/, "the full JID is offline");
    assert.ok(ts.logs.some((l) => l.msg === "BOSH session inactive; ending it"));
    assert.equal((await bosh.send()).status, 404);
  });

  test("Strophe.js (independent BOSH client): SCRAM login over HTTPS, message to a TCP client and back, disconnect", async () => {
    const bob = await connect(ts, "bob", "bob-pw", { resource: "strophe-peer" });
    clients.push(bob);
    const strophe = await stropheConnect(
      `https://127.0.0.1:${ts.httpsPort}/http-bind`,
      `alice@${ts.domain}/strophe`,
      "alice-pw",
    );
    assert.equal(strophe.conn.jid, `alice@${ts.domain}/strophe`);
    const auth = ts.logs.filter((l) => l.msg === "authentication succeeded" && l.user === `alice@${ts.domain}`).at(-1);
    assert.match(
      String(auth?.mechanism),
      /^SCRAM-SHA-(1|256)$/,
      "Strophe chose SCRAM (no -PLUS: no channel binding over BOSH)",
    );
    strophe.sendChat(`bob@${ts.domain}/strophe-peer`, "hello from Strophe");
    const got = await bob.waitFor((s) => s.is("message") && s.getChildText("body") === "hello from Strophe");
    assert.equal(got.attrs.from, `alice@${ts.domain}/strophe`);
    const incoming = strophe.nextChat();
    await bob.xmpp.send(
      xml("message", { to: `alice@${ts.domain}/strophe`, type: "chat" }, xml("body", {}, "hello back")),
    );
    assert.equal((await incoming).body, "hello back");
    await strophe.disconnect();
    assert.ok(ts.logs.some((l) => l.msg === "BOSH session terminated by the client"));
  });
});

describe("BOSH CORS with bosh.allowed_origins", () => {
  let ts: TestServer;
  let bosh: RawBosh;
  before(async () => {
    ts = await startTestServer({ yaml: 'bosh:\n  allowed_origins: ["https://chat.example"]' });
    bosh = new RawBosh(ts.httpsPort as number);
  });
  after(async () => {
    bosh.close();
    await ts.stop();
  });

  test("a listed origin gets its CORS headers; another origin gets 403 and a log line; no Origin (not a browser) is served", async () => {
    const preflight = await bosh.post("", { method: "OPTIONS", headers: { Origin: "https://chat.example" } });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers["access-control-allow-origin"], "https://chat.example");
    assert.equal(preflight.headers.vary, "Origin");
    const other = await bosh.post("", { method: "OPTIONS", headers: { Origin: "https://evil.example" } });
    assert.equal(other.status, 403);
    const otherPost = await bosh.post(`<body xmlns='http://jabber.org/protocol/httpbind' rid='9' to='${ts.domain}'/>`, {
      headers: { Origin: "https://evil.example" },
    });
    assert.equal(otherPost.status, 403);
    assert.ok(ts.logs.some((l) => l.msg === "BOSH request from an origin not in bosh.allowed_origins"));
    const created = await bosh.create(ts.domain);
    assert.equal(created.status, 200);
    assert.equal(created.headers["access-control-allow-origin"], undefined);
    await bosh.send("", "type='terminate'");
  });
});
