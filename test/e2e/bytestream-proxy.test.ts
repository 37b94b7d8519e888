// XEP-0065 proxy as clients and strangers see it: @xmpp/client users discover proxy.localhost and its
// <streamhost/>, raw SOCKS5 sockets connect with the hash, and the requester activates the pair; the refusals
// (wrong hash, one side only, not the requester, a stranger), the listener's own defences (malformed
// greetings, the pending-connection limit, the deadlines) and the requester's bandwidth cap.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { type Socket, connect as tcpConnect } from "node:net";
import { after, before, describe, it } from "node:test";
import { type Component, component } from "@xmpp/component";
import { errorOf, iq } from "../helpers/adhoc.js";
import { stanzaInbox } from "../helpers/stanza-inbox.js";
import { freePort, startTestServer, type TestServer } from "../helpers/test-server.js";
import { type ConnectedClient, connect, type XmlElement, xml } from "../helpers/xmpp-client.js";

const NS_BS = "http://jabber.org/protocol/bytestreams";
const NS_DISCO_INFO = "http://jabber.org/protocol/disco#info";
const NS_DISCO_ITEMS = "http://jabber.org/protocol/disco#items";
const PROXY = "proxy.localhost";
const GATEWAY = "gateway.example";
const RATE = 128 * 1024;

const sha1 = (s: string) => createHash("sha1").update(s, "utf8").digest("hex");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A raw TCP peer of the proxy: everything it received, and whether the proxy closed it. */
class SocksPeer {
  data = Buffer.alloc(0);
  closed = false;
  readonly socket: Socket;
  private readonly ready: Promise<void>;
  private waiters: (() => void)[] = [];

  constructor(port: number) {
    this.socket = tcpConnect(port, "127.0.0.1");
    this.socket.on("error", () => {});
    this.socket.on("data", (d: Buffer) => {
      this.data = Buffer.concat([this.data, d]);
      this.wake();
    });
    this.socket.on("close", () => {
      this.closed = true;
      this.wake();
    });
    this.ready = new Promise((resolve) => this.socket.once("connect", () => resolve()));
  }

  private wake() {
    for (const w of this.waiters.splice(0)) w();
  }

  async send(bytes: Buffer | number[]) {
    await this.ready;
    this.socket.write(Buffer.from(bytes as Buffer));
  }

  /** Resolves once `pred` holds (checked on every byte received and on close). */
  async until(pred: () => boolean, timeoutMs = 5000, what = "condition"): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!pred()) {
      const left = end - Date.now();
      if (left <= 0)
        throw new Error(`timed out waiting for ${what} (have ${this.data.length} bytes, closed=${this.closed})`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** RFC 1928 greeting (no authentication) and CONNECT to the hash; resolves with the reply code. */
  async handshake(hash: string): Promise<number> {
    await this.send([5, 1, 0]);
    await this.until(() => this.data.length >= 2, 5000, "method reply");
    assert.deepEqual([...this.data.subarray(0, 2)], [5, 0]);
    await this.send(Buffer.concat([Buffer.from([5, 1, 0, 3, hash.length]), Buffer.from(hash), Buffer.from([0, 0])]));
    await this.until(() => this.data.length >= 2 + 5 + hash.length + 2 || this.closed, 5000, "connect reply");
    const reply = this.data.subarray(2);
    if (reply[1] === 0) assert.equal(reply.subarray(5, 5 + hash.length).toString(), hash); // BND.ADDR echoes it
    this.data = Buffer.alloc(0);
    return reply[1] as number;
  }

  destroy() {
    this.socket.destroy();
  }
}

describe("bytestream-proxy (XEP-0065)", { timeout: 120_000 }, () => {
  let ts: TestServer;
  let alice: ConnectedClient;
  let bob: ConnectedClient;
  let carol: ConnectedClient;
  let erin: ConnectedClient; // a user of the server's second host
  let dave: ConnectedClient | undefined;
  let gateway: Component;
  let gatewayInbox: ReturnType<typeof stanzaInbox>;
  let port = 0;
  const peers: SocksPeer[] = [];
  const peer = () => {
    const p = new SocksPeer(port);
    peers.push(p);
    return p;
  };

  const activate = (c: ConnectedClient, sid: string | undefined, target: string | undefined) =>
    iq(
      c,
      "set",
      xml(
        "query",
        { xmlns: NS_BS, ...(sid === undefined ? {} : { sid }) },
        ...(target === undefined ? [] : [xml("activate", {}, target)]),
      ),
      PROXY,
    );

  /** Target and requester connected for (sid, requester, target); not yet activated. */
  async function pair(sid: string, requester: ConnectedClient, target: ConnectedClient) {
    const hash = sha1(sid + requester.jid + target.jid);
    const t = peer();
    assert.equal(await t.handshake(hash), 0);
    const r = peer();
    assert.equal(await r.handshake(hash), 0);
    return { t, r, hash };
  }

  before(async () => {
    ts = await startTestServer({
      hosts: ["other.test"],
      yaml: [
        "components:",
        `  - { domain: ${GATEWAY}, secret: gateway-secret }`,
        "modules:",
        "  bytestream-proxy:",
        "    port: 0",
        '    bind: ["127.0.0.1"]',
        '    public_host: "127.0.0.1"',
        "    max_pending_per_address: 6",
        "    handshake_timeout: 1",
        "    pending_timeout: 3",
        "    idle_timeout: 2",
        "    max_streams_per_user: 2",
        `    bandwidth_per_user: ${RATE}`,
        "    max_stream_bytes: 300000",
      ].join("\n"),
    });
    for (const u of ["alice", "bob", "carol"]) await ts.addUser(u, `${u}-pw`);
    alice = await connect(ts, "alice", "alice-pw", { resource: "desk" });
    bob = await connect(ts, "bob", "bob-pw", { resource: "phone" });
    carol = await connect(ts, "carol", "carol-pw", { resource: "tab" });
    await ts.server.core.accounts.createUser("other.test", "erin", "erin-pw");
    erin = await connect({ ...ts, domain: "other.test" }, "erin", "erin-pw", { resource: "pc" });
    gateway = component({
      service: `xmpp://127.0.0.1:${ts.componentPort}`,
      domain: GATEWAY,
      password: "gateway-secret",
    });
    gateway.reconnect.stop();
    gateway.on("error", () => {});
    gatewayInbox = stanzaInbox(gateway, "the gateway");
    await gateway.start();
  });

  after(async () => {
    for (const p of peers) p.destroy();
    await gateway?.stop().catch(() => {});
    await Promise.all([alice, bob, carol, erin, dave].map((c) => c?.stop()));
    await ts?.stop();
  });

  it("is listed in the host's disco#items and says it is a bytestreams proxy", async () => {
    const items = await iq(alice, "get", xml("query", NS_DISCO_ITEMS));
    const jids = (items.getChild("query", NS_DISCO_ITEMS) as XmlElement).getChildren("item").map((i) => i.attrs.jid);
    assert.ok(jids.includes(PROXY), jids.join(", "));
    const info = (await iq(alice, "get", xml("query", NS_DISCO_INFO), PROXY)).getChild(
      "query",
      NS_DISCO_INFO,
    ) as XmlElement;
    const identity = info.getChild("identity") as XmlElement;
    assert.equal(identity.attrs.category, "proxy");
    assert.equal(identity.attrs.type, "bytestreams");
    assert.ok(info.getChildren("feature").some((f) => f.attrs.var === NS_BS));
  });

  it("answers its <streamhost/> with the advertised host and port", async () => {
    const r = await iq(alice, "get", xml("query", NS_BS), PROXY);
    assert.equal(r.attrs.type, "result", r.toString());
    const sh = (r.getChild("query", NS_BS) as XmlElement).getChild("streamhost") as XmlElement;
    assert.equal(sh.attrs.jid, PROXY);
    assert.equal(sh.attrs.host, "127.0.0.1");
    port = Number(sh.attrs.port);
    assert.ok(port > 0);
  });

  it("relays nothing before activation, then both ways after the requester activates", async () => {
    const sid = `s1-${randomBytes(4).toString("hex")}`;
    const { t, r } = await pair(sid, alice, bob);
    await r.send(Buffer.from("early bytes"));
    await sleep(400);
    assert.equal(t.data.length, 0, "nothing reaches the target before activation");
    const res = await activate(alice, sid, bob.jid);
    assert.equal(res.attrs.type, "result", res.toString());
    await t.until(() => t.data.toString() === "early bytes", 5000, "the held bytes");
    await t.send(Buffer.from("and back"));
    await r.until(() => r.data.toString() === "and back", 5000, "the reply");
    // Either side closing ends the stream for the other.
    r.destroy();
    await t.until(() => t.closed, 5000, "the target's close");
  });

  it("activation errors: no such pair, one side only, not the requester, bad requests", async () => {
    const sid = `s2-${randomBytes(4).toString("hex")}`;
    // Connections under a hash that is not SHA1(sid + requester + target) are never paired with this sid.
    const wrong = peer();
    assert.equal(await wrong.handshake(sha1("something else")), 0);
    assert.equal(errorOf(await activate(alice, sid, bob.jid)).condition, "item-not-found");
    // One side only: not-allowed (XEP-0065 §6.3.5).
    const one = peer();
    assert.equal(await one.handshake(sha1(sid + alice.jid + bob.jid)), 0);
    assert.equal(errorOf(await activate(alice, sid, bob.jid)).condition, "not-allowed");
    const two = peer();
    assert.equal(await two.handshake(sha1(sid + alice.jid + bob.jid)), 0);
    // Someone else (bob) asking: the hash with his JID names no pair.
    assert.equal(errorOf(await activate(bob, sid, bob.jid)).condition, "item-not-found");
    // A third connection for a full pair is refused (RFC 1928 reply 02).
    assert.equal(await peer().handshake(sha1(sid + alice.jid + bob.jid)), 2);
    assert.equal(errorOf(await activate(alice, undefined, bob.jid)).condition, "bad-request");
    assert.equal(errorOf(await activate(alice, sid, undefined)).condition, "bad-request");
    assert.equal(errorOf(await activate(alice, "x".repeat(200), bob.jid)).condition, "not-acceptable");
    assert.equal(errorOf(await activate(alice, sid, "@bad")).condition, "jid-malformed");
    assert.equal(one.data.length + two.data.length + wrong.data.length, 0, "nothing was relayed");
    for (const p of [wrong, one, two]) p.destroy();
  });

  it("serves the users of the server's other hosts too, listed in their host's disco#items", async () => {
    const items = await iq(erin, "get", xml("query", NS_DISCO_ITEMS), "other.test");
    const jids = (items.getChild("query", NS_DISCO_ITEMS) as XmlElement).getChildren("item").map((i) => i.attrs.jid);
    assert.ok(jids.includes(PROXY), jids.join(", "));
    const sid = `erin-${randomBytes(4).toString("hex")}`;
    const { t, r } = await pair(sid, erin, alice);
    assert.equal((await activate(erin, sid, alice.jid)).attrs.type, "result");
    await r.send(Buffer.from("hello from other.test"));
    await t.until(() => t.data.toString() === "hello from other.test", 5000, "erin's bytes");
    r.destroy();
    t.destroy();
  });

  it("refuses strangers (another server's users) with forbidden", async () => {
    const ask = async (type: "get" | "set", child: XmlElement) => {
      const id = `gw-${randomBytes(4).toString("hex")}`;
      await gateway.send(xml("iq", { type, id, to: PROXY, from: `mallory@${GATEWAY}` }, child));
      return gatewayInbox.waitFor((s) => s.attrs.id === id);
    };
    assert.equal(errorOf(await ask("get", xml("query", NS_BS))).condition, "forbidden");
    assert.equal(
      errorOf(await ask("set", xml("query", { xmlns: NS_BS, sid: "x" }, xml("activate", {}, bob.jid)))).condition,
      "forbidden",
    );
  });

  it("closes malformed greetings and requests", async () => {
    const http = peer();
    await http.send(Buffer.from("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    await http.until(() => http.closed, 5000, "close after an HTTP request");
    assert.equal(http.data.length, 0);
    const userPass = peer(); // only username/password offered: X'FF', then closed (RFC 1928 §3)
    await userPass.send([5, 1, 2]);
    await userPass.until(() => userPass.closed, 5000, "close after no acceptable method");
    assert.deepEqual([...userPass.data], [5, 0xff]);
    const ipv4 = peer(); // CONNECT to an IPv4 address: reply 08, closed
    await ipv4.send([5, 1, 0]);
    await ipv4.until(() => ipv4.data.length >= 2);
    await ipv4.send([5, 1, 0, 1, 127, 0, 0, 1, 0, 80]);
    await ipv4.until(() => ipv4.closed, 5000, "close after an IPv4 CONNECT");
    assert.equal(ipv4.data[3], 8);
    const bind = peer(); // BIND: reply 07
    await bind.send([5, 1, 0]);
    await bind.until(() => bind.data.length >= 2);
    await bind.send([5, 2, 0, 3, 1, 0x61, 0, 0]);
    await bind.until(() => bind.closed, 5000, "close after BIND");
    assert.equal(bind.data[3], 7);
    // Silence: closed after handshake_timeout (1 s).
    const silent = peer();
    const started = Date.now();
    await silent.until(() => silent.closed, 5000, "close of a silent connection");
    assert.ok(Date.now() - started >= 700, `closed after ${Date.now() - started} ms`);
  });

  it("refuses connections over the per-address pending limit, and frees places when they leave", async () => {
    await sleep(200); // the server has seen the earlier tests' sockets go
    const held: SocksPeer[] = [];
    for (let i = 0; i < 6; i++) {
      const p = peer();
      assert.equal(await p.handshake(sha1(`limit-${i}`)), 0);
      held.push(p);
    }
    const extra = peer();
    await extra.until(() => extra.closed, 5000, "the refused connection's close");
    assert.equal(extra.data.length, 0);
    for (const p of held) p.destroy();
    await sleep(200);
    const again = peer();
    assert.equal(await again.handshake(sha1("limit-again")), 0);
    again.destroy();
  });

  it("closes a connection that is never activated after pending_timeout", async () => {
    const lonely = peer();
    assert.equal(await lonely.handshake(sha1("lonely")), 0);
    await sleep(1000);
    assert.equal(lonely.closed, false);
    await lonely.until(() => lonely.closed, 6000, "the pending timeout");
  });

  it("closes an activated stream that stays idle", async () => {
    const sid = `idle-${randomBytes(4).toString("hex")}`;
    const { t, r } = await pair(sid, alice, bob);
    assert.equal((await activate(alice, sid, bob.jid)).attrs.type, "result");
    await t.until(() => t.closed && r.closed, 8000, "the idle timeout");
  });

  it("holds a requester's bandwidth cap (256 KiB at 128 KiB/s takes over 1.5 s)", async () => {
    const sid = `bw-${randomBytes(4).toString("hex")}`;
    const { t, r } = await pair(sid, carol, bob);
    assert.equal((await activate(carol, sid, bob.jid)).attrs.type, "result");
    const payload = randomBytes(256 * 1024);
    const started = Date.now();
    await r.send(payload);
    await t.until(() => t.data.length >= payload.length, 20_000, "the whole payload");
    const ms = Date.now() - started;
    assert.ok(ms >= 1500, `256 KiB took ${ms} ms`);
    assert.ok(t.data.equals(payload));
    r.destroy();
    t.destroy();
  });

  it("closes a stream that relays more than max_stream_bytes", async () => {
    await ts.server.core.accounts.createUser("localhost", "dave", "dave-pw");
    dave = await connect(ts, "dave", "dave-pw", { resource: "cli" });
    const sid = `cap-${randomBytes(4).toString("hex")}`;
    const { t, r } = await pair(sid, dave, bob);
    assert.equal((await activate(dave, sid, bob.jid)).attrs.type, "result");
    await r.send(randomBytes(400_000));
    await t.until(() => t.closed, 15_000, "the target's close at the byte cap");
    await r.until(() => r.closed, 15_000, "the requester's close at the byte cap");
    assert.ok(t.data.length <= 300_000, `${t.data.length} bytes relayed`);
    assert.ok(ts.logs.some((l) => l.msg === "bytestream ended" && l.reason === "byte cap"));
  });

  it("refuses a requester's streams over max_streams_per_user with resource-constraint", async () => {
    const open: SocksPeer[] = [];
    for (let i = 0; i < 2; i++) {
      const sid = `many-${i}-${randomBytes(4).toString("hex")}`;
      const { t, r } = await pair(sid, alice, carol);
      assert.equal((await activate(alice, sid, carol.jid)).attrs.type, "result");
      open.push(t, r);
    }
    const sid = `many-3-${randomBytes(4).toString("hex")}`;
    const third = await pair(sid, alice, carol);
    const refused = errorOf(await activate(alice, sid, carol.jid));
    assert.equal(refused.condition, "resource-constraint");
    assert.equal(refused.type, "wait");
    for (const p of [...open, third.t, third.r]) p.destroy();
  });
});

describe("bytestream-proxy is off by default", () => {
  it("a server without it in its config offers no proxy and opens no port for it", async () => {
    const ts = await startTestServer();
    try {
      await ts.addUser("alice", "alice-pw");
      const alice = await connect(ts, "alice", "alice-pw");
      const items = await iq(alice, "get", xml("query", NS_DISCO_ITEMS));
      const jids = (items.getChild("query", NS_DISCO_ITEMS) as XmlElement).getChildren("item").map((i) => i.attrs.jid);
      assert.ok(!jids.includes(PROXY), jids.join(", "));
      assert.equal(errorOf(await iq(alice, "get", xml("query", NS_BS), PROXY)).condition, "remote-server-not-found");
      assert.ok(!ts.logs.some((l) => l.msg === "bytestream proxy listening"));
      await alice.stop();
    } finally {
      await ts.stop();
    }
  });
  it("a reload opens the port, reopens it with new options, and closes it when the module is turned off", async () => {
    const ts = await startTestServer();
    const fixed = await freePort();
    const reloadWith = async (modules: string) => {
      writeFileSync(ts.configPath, `${ts.configYaml}\n${modules}\n`);
      const result = await ts.server.reload();
      assert.ok(result.ok, JSON.stringify(result));
    };
    const opens = () =>
      new Promise<boolean>((resolve) => {
        const s = tcpConnect(fixed, "127.0.0.1");
        s.once("connect", () => {
          s.destroy();
          resolve(true);
        });
        s.once("error", () => resolve(false));
      });
    try {
      const on = (rate: number) =>
        `modules:\n  bytestream-proxy:\n    port: ${fixed}\n    bind: ["127.0.0.1"]\n    bandwidth_per_user: ${rate}`;
      assert.equal(await opens(), false);
      await reloadWith(on(1000));
      assert.equal(await opens(), true);
      await reloadWith(on(2000)); // unloaded and loaded again: the same port is bound anew
      assert.equal(await opens(), true);
      await ts.addUser("alice", "alice-pw");
      const alice = await connect(ts, "alice", "alice-pw");
      const r = await iq(alice, "get", xml("query", NS_BS), PROXY);
      assert.equal(
        ((r.getChild("query", NS_BS) as XmlElement).getChild("streamhost") as XmlElement).attrs.port,
        String(fixed),
      );
      await alice.stop();
      await reloadWith("");
      assert.equal(await opens(), false);
    } finally {
      await ts.stop();
    }
  });
});
