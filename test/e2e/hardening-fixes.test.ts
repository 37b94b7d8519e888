// Issue 11 "Safe on the open Internet", assorted holes: each block is a regression test over real sockets
// against a real server, for something that was wrong before (see the commit that added it).
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { spawn } from "node:child_process";
import { chmodSync, lstatSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { Writable } from "node:stream";
import { pino } from "pino";
import { parseConfig } from "../../src/core/config/index.js";
import { NatterServer } from "../../src/server.js";
import { request as httpsRequest } from "node:https";
import { type Server, createServer } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  NS_CARBONS,
  NS_DISCO_INFO,
  NS_HTTP_UPLOAD,
  NS_PING,
  NS_PRIVATE,
  NS_ROSTER,
  NS_TIME,
  NS_VCARD,
  NS_VERSION,
} from "../../src/core/xml/ns.js";
import { RawPeer } from "../helpers/raw-s2s-peer.js";
import { plainAuth, rawTls, stanzaErrorCondition, waitForElement } from "./raw-helpers.js";
import { freePort, startTestServer, type TestServer } from "../helpers/test-server.js";
import { dialbackKey } from "../../src/transports/s2s/dialback.js";
import { type ConnectedClient, connect, type XmlElement, xml } from "../helpers/xmpp-client.js";

const NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas";

/** The condition of an iq error reply, or "result". */
function outcome(reply: XmlElement): string {
  if (reply.attrs.type === "result") return "result";
  const error = reply.getChild("error");
  return error?.children.find((c) => typeof c !== "string" && c.attrs.xmlns === NS_STANZAS)?.toString().match(/^<([\w-]+)/)?.[1] ?? "?";
}

/** Sends an iq and resolves with whatever comes back for its id (result or error), without xmpp.js's matching by `from`. */
async function iq(c: ConnectedClient, attrs: Record<string, string>, payload: XmlElement): Promise<XmlElement> {
  const id = `iq-${Math.random().toString(36).slice(2)}`;
  const reply = c.waitFor((s) => s.name === "iq" && s.attrs.id === id && (s.attrs.type === "result" || s.attrs.type === "error"));
  await c.xmpp.send(xml("iq", { ...attrs, id }, payload));
  return reply;
}

describe("iq without `to` (RFC 6120 §10.3.3): handled for the account, else by the server", () => {
  let ts: TestServer;
  let alice: ConnectedClient;
  before(async () => {
    ts = await startTestServer();
    await ts.addUser("alice", "alice-pw");
    alice = await connect(ts, "alice", "alice-pw");
  });
  after(async () => {
    await alice.stop();
    await ts.stop();
  });

  test("a ping without `to` is answered with a result carrying no `from` (clients ping the server this way)", async () => {
    const reply = await iq(alice, { type: "get" }, xml("ping", { xmlns: NS_PING }));
    assert.equal(outcome(reply), "result");
    assert.equal(reply.attrs.from, undefined);
  });

  test("version and time without `to` are the server's", async () => {
    const version = await iq(alice, { type: "get" }, xml("query", { xmlns: NS_VERSION }));
    assert.equal(outcome(version), "result");
    assert.equal(version.getChild("query", NS_VERSION)?.getChildText("name"), "Natter");
    const time = await iq(alice, { type: "get" }, xml("time", { xmlns: NS_TIME }));
    assert.equal(outcome(time), "result");
    assert.ok(time.getChild("time", NS_TIME)?.getChildText("utc"));
  });

  test("account namespaces without `to` stay the account's: disco info names the account, roster, vCard, private, carbons", async () => {
    const disco = await iq(alice, { type: "get" }, xml("query", { xmlns: NS_DISCO_INFO }));
    assert.equal(outcome(disco), "result");
    const identity = disco.getChild("query", NS_DISCO_INFO)?.getChild("identity");
    assert.deepEqual([identity?.attrs.category, identity?.attrs.type], ["account", "registered"]);
    assert.equal(outcome(await iq(alice, { type: "get" }, xml("query", { xmlns: NS_ROSTER }))), "result");
    assert.equal(outcome(await iq(alice, { type: "get" }, xml("vCard", { xmlns: NS_VCARD }))), "result");
    const priv = await iq(alice, { type: "get" }, xml("query", { xmlns: NS_PRIVATE }, xml("prefs", { xmlns: "x:test" })));
    assert.equal(outcome(priv), "result");
    assert.equal(outcome(await iq(alice, { type: "set" }, xml("enable", { xmlns: NS_CARBONS }))), "result");
  });

  test("what neither the account nor the server handles is service-unavailable: an upload slot belongs to upload.<host>", async () => {
    const slot = xml("request", { xmlns: NS_HTTP_UPLOAD, filename: "a.txt", size: "3", "content-type": "text/plain" });
    assert.equal(outcome(await iq(alice, { type: "get" }, slot)), "service-unavailable");
    assert.equal(outcome(await iq(alice, { type: "get" }, xml("query", { xmlns: "urn:example:unknown" }))), "service-unavailable");
  });

  test("a ping to another user's bare JID is not answered by the server-side fallback", async () => {
    await ts.addUser("bob", "bob-pw");
    assert.equal(outcome(await iq(alice, { type: "get", to: `bob@${ts.domain}` }, xml("ping", { xmlns: NS_PING }))), "service-unavailable");
  });
});

describe("s2s addressing: a stream carries only the domain pairs it authenticated (RFC 6120 §8.1.1.2)", () => {
  let athens: TestServer;
  let sparta: TestServer;
  let pericles: ConnectedClient;
  let solon: ConnectedClient;
  let fake: Server;
  /** What our fake server for evil.test received from Natter. */
  let fakeReceived = "";
  let dialbackSecret: Buffer;

  before(async () => {
    // evil.test: a peer that answers our dialback key with a "valid" for another pair of domains.
    fake = createServer((socket) => {
      socket.on("error", () => {});
      socket.on("data", (d) => {
        const text = d.toString("utf8");
        fakeReceived += text;
        if (text.includes("<stream:stream")) {
          socket.write(
            "<?xml version='1.0'?><stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' xmlns:db='jabber:server:dialback' from='evil.test' to='athens.test' id='evil-1' version='1.0'>" +
              "<stream:features><dialback xmlns='urn:xmpp:features:dialback'/></stream:features>",
          );
        }
        if (text.includes("<db:result")) socket.write("<db:result from='sparta.test' to='athens.test' type='valid'/>");
      });
    });
    await new Promise<void>((r) => fake.listen(0, "127.0.0.1", () => r()));
    const fakePort = (fake.address() as { port: number }).port;
    const [portA, portB] = [await freePort(), await freePort()];
    [athens, sparta] = await Promise.all([
      startTestServer({
        domain: "athens.test",
        hosts: ["delphi.test"],
        s2sPort: portA,
        s2s: ["secure: false", "require_encryption: false", "resolve:", `  sparta.test: "127.0.0.1:${portB}"`, `  evil.test: "127.0.0.1:${fakePort}"`],
      }),
      startTestServer({ domain: "sparta.test", s2sPort: portB, s2s: ["secure: false", "resolve:", `  athens.test: "127.0.0.1:${portA}"`] }),
    ]);
    await athens.addUser("pericles", "pw");
    await athens.server.core.accounts.createUser("delphi.test", "solon", "pw");
    pericles = await connect(athens, "pericles", "pw");
    solon = await connect({ ...athens, domain: "delphi.test" }, "solon", "pw");
    await pericles.xmpp.send(xml("presence"));
    await solon.xmpp.send(xml("presence"));
    dialbackSecret = createHmac("sha256", readFileSync(join(sparta.dataDir, "server-secret"))).update("natter s2s dialback").digest();
  });
  after(async () => {
    await pericles?.stop();
    await solon?.stop();
    await athens?.stop();
    await sparta?.stop();
    fake?.close();
  });

  test("a peer authenticated for sparta.test → athens.test that sends to delphi.test (also served here) gets host-unknown; nothing is delivered", async () => {
    const peer = await RawPeer.open(athens.s2sPort!);
    const id = await peer.secure("sparta.test", "athens.test");
    peer.send(`<db:result from='sparta.test' to='athens.test'>${dialbackKey(dialbackSecret, "athens.test", "sparta.test", id)}</db:result>`);
    await peer.until(/<db:result[^>]*type=['"]valid['"]/);
    peer.send("<message from='leonidas@sparta.test' to='pericles@athens.test' type='chat'><body>allowed</body></message>");
    await pericles.waitFor((s) => s.getChildText("body") === "allowed", 10_000);
    peer.send("<message from='leonidas@sparta.test' to='solon@delphi.test' type='chat'><body>smuggled</body></message>");
    await peer.until(/<host-unknown/);
    peer.close();
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(solon.received.filter((s) => s.getChildText("body") === "smuggled").length, 0);
    assert.ok(athens.logs.some((l) => l.msg === "s2s stanza to a domain the stream is not authenticated for"));
  });

  test("a db:result 'valid' for another pair does not authenticate our outbound stream: invalid-from, the stanza bounces, nothing is sent", async () => {
    await pericles.xmpp.send(xml("message", { to: "mallory@evil.test", type: "chat", id: "evil-1" }, xml("body", {}, "secret")));
    const bounce = await pericles.waitFor((s) => s.name === "message" && s.attrs.type === "error" && s.attrs.id === "evil-1", 15_000);
    assert.ok(bounce.getChild("error")?.getChild("remote-server-not-found", NS_STANZAS));
    assert.match(fakeReceived, /<invalid-from/);
    assert.doesNotMatch(fakeReceived, /secret/);
  });
});

describe("hide_account_existence: an unknown address looks like a real account that does not answer (RFC 6121 §8.5.1)", () => {
  let ts: TestServer;
  let alice: ConnectedClient;
  let rome: Server;
  /** What the server for rome.test (authoritative for dialback, and receiving our answers) got from Natter. */
  let romeReceived = "";
  before(async () => {
    // rome.test: a remote server that vouches for its own dialback keys and records what Natter sends it.
    rome = createServer((socket) => {
      socket.on("error", () => {});
      socket.on("data", (d) => {
        const text = d.toString("utf8");
        romeReceived += text;
        if (text.includes("<stream:stream"))
          socket.write(
            "<?xml version='1.0'?><stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' xmlns:db='jabber:server:dialback' from='rome.test' to='ithaca.test' id='rome-1' version='1.0'>" +
              "<stream:features><dialback xmlns='urn:xmpp:features:dialback'/></stream:features>",
          );
        const verify = /<db:verify[^>]* id=['"]([^'"]+)['"]/.exec(text);
        if (verify) socket.write(`<db:verify from='rome.test' to='ithaca.test' id='${verify[1]}' type='valid'/>`);
        if (text.includes("<db:result")) socket.write("<db:result from='rome.test' to='ithaca.test' type='valid'/>");
      });
    });
    await new Promise<void>((r) => rome.listen(0, "127.0.0.1", () => r()));
    const romePort = (rome.address() as { port: number }).port;
    ts = await startTestServer({
      domain: "ithaca.test",
      yaml: "hide_account_existence: true",
      s2s: ["secure: false", "require_encryption: false", "resolve:", `  rome.test: "127.0.0.1:${romePort}"`],
    });
    await ts.addUser("alice", "alice-pw");
    await ts.addUser("bob", "bob-pw"); // real, offline, no vCard, nobody subscribed to it
    alice = await connect(ts, "alice", "alice-pw");
    await alice.xmpp.send(xml("presence"));
    await iq(alice, { type: "get", to: ts.domain }, xml("ping", { xmlns: NS_PING })); // her own presence is back by then
  });
  after(async () => {
    await alice.stop();
    await ts.stop();
    rome.close();
  });

  /** Every stanza alice receives after `send`, up to the answer to a ping sent right behind it (stanzas are handled in order). */
  async function answersTo(send: XmlElement): Promise<XmlElement[]> {
    const from = alice.received.length;
    await alice.xmpp.send(send);
    await iq(alice, { type: "get", to: ts.domain }, xml("ping", { xmlns: NS_PING }));
    return alice.received.slice(from).filter((s) => !(s.name === "iq" && s.attrs.type === "result"));
  }
  const shape = (stanzas: XmlElement[]) =>
    stanzas.map((s) => `${s.name}/${s.attrs.type ?? ""}/${s.getChild("error")?.children.map((c) => (typeof c === "string" ? "" : c.name)).join(",") ?? ""}`);

  test("a chat or normal message to an unknown user gets no error, as to a real offline user, and nothing is stored", async () => {
    for (const type of ["chat", "normal"]) {
      assert.deepEqual(shape(await answersTo(xml("message", { to: `nobody@${ts.domain}`, type }, xml("body", {}, "hi")))), [], type);
      assert.deepEqual(shape(await answersTo(xml("message", { to: `bob@${ts.domain}`, type }, xml("body", {}, "hi")))), [], type);
    }
    assert.deepEqual(shape(await answersTo(xml("message", { to: `nobody@${ts.domain}/phone`, type: "chat" }, xml("body", {}, "hi")))), []);
    assert.equal(await ts.server.core.storage.open(ts.domain, "offline", "archive").count("nobody"), 0);
  });

  test("an iq get to an unknown user's bare JID is answered as for a real account with no data (disco#info names an account; no vCard)", async () => {
    const vcard = (to: string) => iq(alice, { type: "get", to }, xml("vCard", { xmlns: NS_VCARD }));
    assert.equal(outcome(await vcard(`nobody@${ts.domain}`)), "service-unavailable");
    assert.equal(outcome(await vcard(`bob@${ts.domain}`)), "service-unavailable");
    const info = async (to: string) => {
      const res = await iq(alice, { type: "get", to }, xml("query", { xmlns: NS_DISCO_INFO }));
      return res.getChild("query", NS_DISCO_INFO)?.toString() ?? outcome(res);
    };
    const nobody = await info(`nobody@${ts.domain}`);
    assert.match(nobody, /category="account"/);
    assert.equal(nobody, await info(`bob@${ts.domain}`));
    const set = (to: string) => iq(alice, { type: "set", to }, xml("query", { xmlns: NS_ROSTER }));
    assert.equal(outcome(await set(`nobody@${ts.domain}`)), "service-unavailable", "a set is never run for a name nobody holds");
  });

  test("groupchat to an account still bounces, as it does for a real one", async () => {
    const nobody = shape(await answersTo(xml("message", { to: `nobody@${ts.domain}`, type: "groupchat" }, xml("body", {}, "x"))));
    const bob = shape(await answersTo(xml("message", { to: `bob@${ts.domain}`, type: "groupchat" }, xml("body", {}, "x"))));
    assert.deepEqual(nobody, ["message/error/service-unavailable"]);
    assert.deepEqual(nobody, bob);
  });

  test("a probe from another server gets 'unsubscribed' for an unknown user exactly as for a real one", async () => {
    const peer = await RawPeer.open(ts.s2sPort!);
    await peer.secure("rome.test", "ithaca.test");
    peer.send("<db:result from='rome.test' to='ithaca.test'>any-key-rome-vouches-for</db:result>");
    await peer.until(/<db:result[^>]*type=['"]valid['"]/);
    peer.send("<presence from='brutus@rome.test' to='bob@ithaca.test' type='probe' id='p-bob'/>");
    peer.send("<presence from='brutus@rome.test' to='nobody@ithaca.test' type='probe' id='p-nobody'/>");
    const deadline = Date.now() + 10_000;
    const answer = (user: string) => new RegExp(`<presence[^>]*from=['"]${user}@ithaca.test['"][^>]*type=['"]unsubscribed['"]|<presence[^>]*type=['"]unsubscribed['"][^>]*from=['"]${user}@ithaca.test['"]`);
    while (Date.now() < deadline && !(answer("bob").test(romeReceived) && answer("nobody").test(romeReceived)))
      await new Promise((r) => setTimeout(r, 50));
    peer.close();
    assert.match(romeReceived, answer("bob"));
    assert.match(romeReceived, answer("nobody"));
  });
});

describe("data directory permissions: secrets are owner-only", () => {
  /** Every path under `dir` (itself included) with its permission bits, symbolic links left out. */
  function modes(dir: string): Map<string, { mode: number; kind: string }> {
    const out = new Map<string, { mode: number; kind: string }>();
    const visit = (p: string) => {
      const st = lstatSync(p);
      if (st.isSymbolicLink()) return;
      out.set(p, { mode: st.mode & 0o777, kind: st.isDirectory() ? "dir" : st.isSocket() ? "socket" : "file" });
      if (st.isDirectory()) for (const name of readdirSync(p)) visit(join(p, name));
    };
    visit(dir);
    return out;
  }
  const loose = (m: Map<string, { mode: number; kind: string }>) =>
    [...m].filter(([, v]) => (v.mode & 0o077) !== 0).map(([p, v]) => `${p} ${v.mode.toString(8)}`);

  let base: string;
  let dataDir: string;
  let server: NatterServer | undefined;
  const logs: Record<string, unknown>[] = [];
  const previousUmask = process.umask(0o022); // what most systems give a service: files 0644, directories 0755
  const start = async () => {
    const yaml = [
      "hosts: [localhost]",
      `data_dir: ${JSON.stringify(dataDir)}`,
      "listeners:",
      ...["c2s", "c2s_direct_tls", "http", "https"].map((l) => `  ${l}: { port: 0, bind: ["127.0.0.1"] }`),
      "s2s: { enabled: false }",
    ].join("\n");
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const line of chunk.toString("utf8").split("\n")) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
        cb();
      },
    });
    server = await NatterServer.start(parseConfig(yaml, join(base, "natter.yaml"), base), { log: pino({ level: "info" }, sink) });
  };
  before(async () => {
    base = mkdtempSync(join(tmpdir(), "natter-perms-"));
    chmodSync(base, 0o755);
    dataDir = join(base, "data"); // does not exist yet: the server creates it
  });
  after(async () => {
    await server?.stop();
    process.umask(previousUmask);
    rmSync(base, { recursive: true, force: true });
  });

  test("a server started on a fresh data directory creates it 0700 and every file in it 0600: database, server secret, certificate, control socket", async () => {
    await start();
    await server!.core.accounts.createUser("localhost", "alice", "alice-password"); // SCRAM keys in the database
    const found = modes(dataDir);
    const names = [...found.keys()].map((p) => p.slice(dataDir.length + 1));
    for (const expected of ["natter.sqlite", "server-secret", "certs", "certs/self-signed.key", "certs/self-signed.crt", "natter.sock"])
      assert.ok(names.includes(expected), `${expected} in ${names.join(", ")}`);
    assert.deepEqual(loose(found), []);
    assert.equal(found.get(dataDir)?.mode, 0o700);
    assert.equal(found.get(join(dataDir, "natter.sqlite"))?.mode, 0o600);
  });

  test("an existing deployment with files open to others is tightened on start, and the log names what changed", async () => {
    await server!.stop();
    server = undefined;
    chmodSync(dataDir, 0o755);
    chmodSync(join(dataDir, "natter.sqlite"), 0o644);
    chmodSync(join(dataDir, "server-secret"), 0o644);
    logs.length = 0;
    await start();
    assert.deepEqual(loose(modes(dataDir)), []);
    const line = logs.find((l) => l.msg === "removed group/other access from files in the data directory (secrets must be owner-only)");
    assert.ok(line, "a log line says what was tightened");
    const changed = (line.changed as { path: string }[]).map((c) => c.path);
    for (const p of [dataDir, join(dataDir, "natter.sqlite"), join(dataDir, "server-secret")]) assert.ok(changed.includes(p), p);
  });
});

describe("uploads over HTTPS (XEP-0363 §4): slot URLs are secrets, files are private", () => {
  let ts: TestServer;
  let alice: ConnectedClient;
  before(async () => {
    ts = await startTestServer();
    await ts.addUser("alice", "alice-pw");
    alice = await connect(ts, "alice", "alice-pw");
  });
  after(async () => {
    await alice.stop();
    await ts.stop();
  });

  /** An HTTPS request that trusts only the server's own (generated) certificate, with the host name checked. */
  function tlsRequest(url: string, method: string, body?: Buffer, headers: Record<string, string> = {}) {
    return new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((resolve, reject) => {
      const req = httpsRequest(url, { method, headers, ca: readFileSync(join(ts.dataDir, "certs", "self-signed.crt")), rejectUnauthorized: true }, (res) => {
        let text = "";
        res.on("data", (d: Buffer) => (text += d.toString("utf8")));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      });
      req.on("error", reject);
      req.end(body);
    });
  }

  test("with the default listeners the slot URLs are https:// (the generated certificate), the file round-trips over TLS and is served Cache-Control: private", async () => {
    const res = await iq(alice, { type: "get", to: `upload.${ts.domain}` }, xml("request", { xmlns: NS_HTTP_UPLOAD, filename: "note.txt", size: "5", "content-type": "text/plain" }));
    const slot = res.getChild("slot", NS_HTTP_UPLOAD);
    const put = slot?.getChild("put")?.attrs.url as string;
    const get = slot?.getChild("get")?.attrs.url as string;
    assert.match(put, new RegExp(`^https://localhost:${ts.httpsPort}/upload/`));
    assert.match(get, /^https:\/\//);
    const headers: Record<string, string> = { "Content-Type": "text/plain" };
    for (const h of slot!.getChild("put")!.getChildren("header")) headers[h.attrs.name as string] = h.getText();
    assert.equal((await tlsRequest(put, "PUT", Buffer.from("hello"), headers)).status, 201);
    const got = await tlsRequest(get, "GET");
    assert.equal(got.status, 200);
    assert.equal(got.body, "hello");
    assert.match(String(got.headers["cache-control"]), /^private\b/);
    assert.doesNotMatch(String(got.headers["cache-control"]), /public/);
  });
});

describe("account deletion leaves nothing for whoever registers the name next", () => {
  const NS_MUC = "http://jabber.org/protocol/muc";
  const NS_MUC_ADMIN = "http://jabber.org/protocol/muc#admin";
  const NS_MUC_OWNER = "http://jabber.org/protocol/muc#owner";
  const NS_PUBSUB = "http://jabber.org/protocol/pubsub";
  const NS_PUBSUB_OWNER = "http://jabber.org/protocol/pubsub#owner";
  const NODE = "urn:example:diary";
  const ROOM = "council@conference.localhost";
  let ts: TestServer;
  let alice: ConnectedClient;
  const open: ConnectedClient[] = [];

  before(async () => {
    ts = await startTestServer({
      yaml: [
        "admins: [boss@localhost]",
        "modules:",
        "  register: { allow_registration: true, throttle: { per_ip: { attempts: 0 } } }",
        "  muc: { room_defaults: { persistent: true } }",
      ].join("\n"),
    });
    await ts.addUser("alice", "alice-pw");
    await ts.addUser("mallory", "mallory-pw");
    alice = await connect(ts, "alice", "alice-pw");
    open.push(alice);
  });
  after(async () => {
    for (const c of open) await c.stop();
    await ts.stop();
  });

  /** Registers `user` in-band over a fresh TLS stream; returns the reply. */
  async function register(user: string, password: string) {
    const rc = await rawTls(ts);
    rc.send(`<iq type='set' id='reg'><query xmlns='jabber:iq:register'><username>${user}</username><password>${password}</password></query></iq>`);
    const reply = await waitForElement(rc, (el) => el.name === "iq" && el.attrs.id === "reg");
    rc.destroy();
    return reply;
  }
  const readDiary = (c: ConnectedClient) =>
    iq(c, { type: "get", to: `alice@${ts.domain}` }, xml("pubsub", { xmlns: NS_PUBSUB }, xml("items", { node: NODE })));
  const members = async () => {
    const res = await iq(alice, { type: "get", to: ROOM }, xml("query", { xmlns: NS_MUC_ADMIN }, xml("item", { affiliation: "member" })));
    assert.equal(outcome(res), "result");
    return res.getChild("query", NS_MUC_ADMIN)!.getChildren("item").map((i) => i.attrs.jid as string);
  };
  const whitelist = async () => {
    const res = await iq(alice, { type: "get" }, xml("pubsub", { xmlns: NS_PUBSUB_OWNER }, xml("affiliations", { node: NODE })));
    assert.equal(outcome(res), "result");
    return res.getChild("pubsub", NS_PUBSUB_OWNER)!.getChild("affiliations")!.getChildren("affiliation").map((a) => a.attrs.jid as string);
  };

  test("a cancelled (XEP-0077 §3.2) account's room membership and PEP whitelist entry do not pass to the next 'mallory'", async () => {
    // alice owns a persistent room with mallory as member, and a whitelist PEP node mallory may read.
    await alice.xmpp.send(xml("presence", { to: `${ROOM}/Alice` }, xml("x", { xmlns: NS_MUC })));
    await alice.waitFor((s) => s.name === "presence" && s.attrs.from === `${ROOM}/Alice`);
    assert.equal(outcome(await iq(alice, { type: "set", to: ROOM }, xml("query", { xmlns: NS_MUC_OWNER }, xml("x", { xmlns: "jabber:x:data", type: "submit" })))), "result");
    const grant = xml("query", { xmlns: NS_MUC_ADMIN }, xml("item", { jid: `mallory@${ts.domain}`, affiliation: "member" }));
    assert.equal(outcome(await iq(alice, { type: "set", to: ROOM }, grant)), "result");
    const publishOptions = xml(
      "publish-options",
      {},
      xml(
        "x",
        { xmlns: "jabber:x:data", type: "submit" },
        xml("field", { var: "FORM_TYPE", type: "hidden" }, xml("value", {}, "http://jabber.org/protocol/pubsub#publish-options")),
        xml("field", { var: "pubsub#access_model" }, xml("value", {}, "whitelist")),
      ),
    );
    const entry = xml("pubsub", { xmlns: NS_PUBSUB }, xml("publish", { node: NODE }, xml("item", { id: "1" }, xml("entry", { xmlns: NODE }, "dear diary"))), publishOptions);
    assert.equal(outcome(await iq(alice, { type: "set" }, entry)), "result");
    const allow = xml("pubsub", { xmlns: NS_PUBSUB_OWNER }, xml("affiliations", { node: NODE }, xml("affiliation", { jid: `mallory@${ts.domain}`, affiliation: "member" })));
    assert.equal(outcome(await iq(alice, { type: "set" }, allow)), "result");
    const first = await connect(ts, "mallory", "mallory-pw");
    open.push(first);
    assert.equal(outcome(await readDiary(first)), "result", "the grant works for the real mallory");
    assert.deepEqual(await members(), [`mallory@${ts.domain}`]);

    // mallory deletes the account; someone else registers the name.
    assert.equal(outcome(await iq(first, { type: "set" }, xml("query", { xmlns: "jabber:iq:register" }, xml("remove")))), "result");
    assert.equal((await register("mallory", "stranger-password")).attrs.type, "result");
    const stranger = await connect(ts, "mallory", "stranger-password");
    open.push(stranger);

    assert.deepEqual(await members(), [], "no room affiliation inherited");
    assert.deepEqual(await whitelist(), [`alice@${ts.domain}`], "no PEP affiliation inherited (the owner only)");
    const read = await readDiary(stranger);
    assert.equal(outcome(read), "not-allowed", read.toString());
    // Persistent rooms keep the removal across a restart.
    const stored = await ts.server.core.storage.open(ts.domain, "muc-rooms", "keyval").get("council");
    assert.deepEqual((stored as { affiliations: Record<string, string> }).affiliations, { [`alice@${ts.domain}`]: "owner" });
  });

  /** `natter -c <file> deluser <jid>` as a separate process (the server in this process keeps serving meanwhile). */
  function deluser(jid: string, controlSocket: string): Promise<{ code: number | null; out: string }> {
    const cfg = join(ts.dataDir, `cli-${jid.split("@")[0]}.yaml`);
    writeFileSync(cfg, [`hosts: [${ts.domain}]`, `data_dir: ${JSON.stringify(ts.dataDir)}`, `control_socket: ${JSON.stringify(controlSocket)}`].join("\n"));
    const main = new URL("../../src/main.ts", import.meta.url).pathname;
    const child = spawn(process.execPath, ["--import", "tsx", main, "-c", cfg, "deluser", jid], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    return new Promise((resolve) => child.on("close", (code) => resolve({ code, out })));
  }

  test("`natter deluser` cleans up through a running server at once, and through the next start when none is reachable", async () => {
    for (const user of ["dave", "erin"]) {
      await ts.addUser(user, `${user}-pw`);
      const grant = xml("query", { xmlns: NS_MUC_ADMIN }, xml("item", { jid: `${user}@${ts.domain}`, affiliation: "member" }));
      assert.equal(outcome(await iq(alice, { type: "set", to: ROOM }, grant)), "result");
      const allow = xml("pubsub", { xmlns: NS_PUBSUB_OWNER }, xml("affiliations", { node: NODE }, xml("affiliation", { jid: `${user}@${ts.domain}`, affiliation: "member" })));
      assert.equal(outcome(await iq(alice, { type: "set" }, allow)), "result");
    }
    assert.deepEqual((await members()).sort(), [`dave@${ts.domain}`, `erin@${ts.domain}`]);

    // What the server keeps in memory about dave (roster copy, known account name) is in use before the deletion.
    const rosters = ts.server.core.storage.open(ts.domain, "roster", "map");
    await rosters.set("dave", `alice@${ts.domain}`, { jid: `alice@${ts.domain}`, groups: [], subscription: "both", ask: false, approved: false });
    assert.equal((await rosters.getAll("dave")).size, 1);
    assert.equal(await ts.server.core.accounts.userExists(ts.domain, "dave"), true);

    // With the server running: the CLI reaches it through the control socket and the server cleans up now.
    const online = await deluser(`dave@${ts.domain}`, "natter.sock");
    assert.equal(online.code, 0, online.out);
    // Deleted by another process: the server's copies are gone too, so a new "dave" inherits nothing.
    assert.equal(await ts.server.core.accounts.userExists(ts.domain, "dave"), false);
    assert.deepEqual(await rosters.getAll("dave"), new Map());
    assert.deepEqual(await members(), [`erin@${ts.domain}`]);
    assert.deepEqual(await whitelist(), [`alice@${ts.domain}`, `erin@${ts.domain}`]);

    // No server reachable (another control socket): the deletion waits for the next start, which handles it first.
    const offline = await deluser(`erin@${ts.domain}`, "elsewhere.sock");
    assert.equal(offline.code, 0, offline.out);
    assert.match(offline.out, /when the server next starts/);
    await ts.restart();
    alice = await connect(ts, "alice", "alice-pw");
    open.push(alice);
    await alice.xmpp.send(xml("presence", { to: `${ROOM}/Alice` }, xml("x", { xmlns: NS_MUC })));
    await alice.waitFor((s) => s.name === "presence" && s.attrs.from === `${ROOM}/Alice`);
    assert.deepEqual(await members(), []);
    assert.deepEqual(await whitelist(), [`alice@${ts.domain}`]);
  });

  test("a name listed in `admins` cannot be registered in-band (conflict, as for a taken name): admin rights are by name", async () => {
    const reply = await register("boss", "i-am-the-boss-now");
    assert.equal(reply.attrs.type, "error", reply.toString());
    assert.equal(stanzaErrorCondition(reply), "conflict");
    assert.equal(await ts.server.core.accounts.userExists(ts.domain, "boss"), false);
  });
});

describe("SASL does not tell an unknown user from a wrong password (checked over the wire, whatever hide_account_existence says)", () => {
  const NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl";
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer();
    await ts.addUser("alice", "alice-pw");
  });
  after(async () => {
    await ts.stop();
  });

  /** SCRAM-SHA-256 up to the server-first-message, then a wrong proof: the salt, the count and the final answer. */
  async function scramAttempt(user: string) {
    const rc = await rawTls(ts);
    const nonce = "fyko+d2lbbFgONRv9qkxdawL";
    rc.send(`<auth xmlns='${NS_SASL}' mechanism='SCRAM-SHA-256'>${Buffer.from(`n,,n=${user},r=${nonce}`).toString("base64")}</auth>`);
    const challenge = await waitForElement(rc, (el) => el.name === "challenge" || el.name === "failure");
    assert.equal(challenge.name, "challenge", challenge.toString());
    const first = Buffer.from(challenge.text(), "base64").toString("utf8");
    const attrs = Object.fromEntries(first.split(",").map((kv) => [kv[0], kv.slice(2)]));
    const proof = Buffer.alloc(32, 7).toString("base64");
    rc.send(`<response xmlns='${NS_SASL}'>${Buffer.from(`c=biws,r=${attrs.r},p=${proof}`).toString("base64")}</response>`);
    const final = await waitForElement(rc, (el) => el.name === "failure" || el.name === "success");
    rc.destroy();
    return { salt: attrs.s, iterations: attrs.i, final: final.toString() };
  }

  test("SCRAM: an unknown user gets a stable salt, the same iteration count and the same failure as a real user with a wrong password", async () => {
    const real = await scramAttempt("alice");
    const unknown = await scramAttempt("nobody");
    const again = await scramAttempt("nobody");
    assert.equal(unknown.iterations, real.iterations);
    assert.equal(unknown.salt, again.salt, "the stand-in salt is the same on every attempt, as a real one is");
    assert.notEqual(unknown.salt, real.salt);
    assert.equal(unknown.final, real.final);
    assert.match(real.final, /not-authorized/);
  });

  test("PLAIN: the same failure for an unknown user and a wrong password", async () => {
    const attempt = async (user: string, password: string) => {
      const rc = await rawTls(ts);
      rc.send(plainAuth(user, password));
      const el = await waitForElement(rc, (e) => e.name === "failure" || e.name === "success");
      rc.destroy();
      return el.toString();
    };
    const wrong = await attempt("alice", "not-her-password");
    assert.match(wrong, /not-authorized/);
    assert.equal(await attempt("nobody", "whatever-password"), wrong);
  });
});
