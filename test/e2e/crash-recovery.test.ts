// Durability across a process crash (DESIGN.md "Data and scale": what must not be lost is committed before the
// server acknowledges it). A real `natter start` process takes a stream of messages from a sender with XEP-0198
// enabled, is killed with SIGKILL at a random moment mid-stream, and is started again on the same data directory.
// Every message the server acknowledged (`<a h='n'/>` covers the first n stanzas, XEP-0198 §4) must reach the
// recipient exactly once: from offline storage (XEP-0160) when it was offline, live when it was online and reading,
// from its archive (XEP-0313) when it was online but had not read them. Unacknowledged ones may or may not arrive,
// but never twice. SIGKILL is a process crash: SQLite's WAL with synchronous=NORMAL loses nothing committed then.
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomInt } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, before, describe, it, type TestContext } from "node:test";
import { NS_CLIENT, NS_FORWARD, NS_MAM, NS_RSM, NS_SM } from "../../src/core/xml/ns.js";
import type { RawClient } from "../helpers/raw-client.js";
import { freePort, type TestServer } from "../helpers/test-server.js";
import { parseServerOutput, rawLogin } from "./raw-helpers.js";

const MAIN = new URL("../../src/main.ts", import.meta.url).pathname;
const TOTAL = 3000; // more than the server can take before the kill lands
const ACK_EVERY = 10;

function natter(cfg: string, args: string[]): void {
  const r = spawnSync(process.execPath, ["--import", "tsx", MAIN, "-c", cfg, ...args], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
}

async function startServer(cfg: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", MAIN, "-c", cfg, "start"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let seen = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${seen.slice(-2000)}`)), 30_000);
    child.stderr!.on("data", (d: Buffer) => {
      seen += d.toString();
    });
    child.stdout!.on("data", (d: Buffer) => {
      seen += d.toString();
      if (/Natter started/.test(seen)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", (code) => reject(new Error(`server exited (${code}): ${seen.slice(-2000)}`)));
  });
  return child; // the listeners above keep draining its output, so logging never blocks it
}

function killHard(child: ChildProcess): Promise<void> {
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGKILL");
  return exited;
}

/** Bodies of the messages the server wrote on the client's current stream (an element cut by the kill is not one). */
function messageBodies(rc: RawClient): string[] {
  return parseServerOutput(rc.data)
    .elements.filter((el) => el.name === "message")
    .map((el) => el.getChildText("body", el.ns) ?? "");
}

/** Highest `h` the server has sent in `<a/>` on this stream so far. */
function highestAck(rc: RawClient): number {
  let h = 0;
  for (const m of rc.data.matchAll(/<a xmlns=["']urn:xmpp:sm:3["'] h=["'](\d+)["']\s*\/>/g))
    h = Math.max(h, Number(m[1]));
  return h;
}

describe("crash recovery: kill -9 mid-stream", { timeout: 240_000 }, () => {
  let dir: string;
  let cfg: string;
  let ts: TestServer;
  let server: ChildProcess | undefined;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "natter-crash-"));
    const port = await freePort();
    cfg = join(dir, "natter.yaml");
    writeFileSync(
      cfg,
      [
        "hosts: [localhost]",
        "data_dir: ./data",
        `listeners: { c2s: { port: ${port}, bind: [127.0.0.1] }, c2s_direct_tls: { enabled: false }, http: { enabled: false } }`,
        "s2s: { enabled: false }",
        // The sender is a load generator, not a client to be shaped: the per-connection input rates would pace it.
        "c2s: { rate_limits: { authenticated: { bytes_per_second: 0, stanzas_per_second: 0 } } }",
        "auth: { scram_iterations: 4096 }",
        // …and so would anti-spam's per-account message limit (burst 300).
        `modules: { offline-messages: { max_per_user: ${TOTAL * 2} }, mam: { max_page: ${TOTAL * 2} }, anti-spam: { account_rate: { messages: { per_minute: 0 } } } }`,
      ].join("\n"),
    );
    natter(cfg, ["adduser", "sender@localhost", "--password", "pw-sender"]);
    natter(cfg, ["adduser", "rcpt@localhost", "--password", "pw-rcpt"]);
    natter(cfg, ["adduser", "rcpt2@localhost", "--password", "pw-rcpt2"]);
    natter(cfg, ["adduser", "rcpt3@localhost", "--password", "pw-rcpt3"]);
    natter(cfg, ["adduser", "rcpt4@localhost", "--password", "pw-rcpt4"]);
    ts = { port, domain: "localhost" } as TestServer;
  });

  afterEach(async () => {
    if (server !== undefined) await killHard(server);
    server = undefined;
  });

  after(async () => {
    rmSync(dir, { recursive: true, force: true });
  });

  /** Logs the sender in with XEP-0198, writes the load to `to` and SIGKILLs the server mid-stream. */
  async function loadThenKill(
    t: TestContext,
    to: string,
    load: { total?: number; padBytes?: number; killFrom?: number } = {},
  ): Promise<{ written: number; acked: number }> {
    const { total = TOTAL, padBytes = 0, killFrom = 50 } = load;
    const pad = padBytes === 0 ? "" : `<pad xmlns='urn:example:pad'>${"x".repeat(padBytes)}</pad>`;
    const { rc: sender } = await rawLogin(ts, "sender", "pw-sender", "load");
    sender.send(`<enable xmlns='${NS_SM}'/>`);
    await sender.waitFor(/<enabled/);

    // The sender writes the whole load at once; the kill lands once the server has acknowledged a random number of
    // messages, with many more written and not yet handled.
    const killAfter = randomInt(killFrom, killFrom + 300);
    t.diagnostic(`kill after at least ${killAfter} acknowledged messages`);
    let written = 0;
    const writing = (async () => {
      while (written < total) {
        let burst = "";
        for (let i = 0; i < ACK_EVERY && written < total; i++, written++) {
          burst += `<message to='${to}' type='chat' id='m${written}'><body>m${written}</body>${pad}</message>`;
        }
        sender.send(`${burst}<r xmlns='${NS_SM}'/>`);
        await new Promise((r) => setImmediate(r));
      }
    })();
    const deadline = Date.now() + 60_000;
    while (highestAck(sender) < killAfter) {
      assert.ok(Date.now() < deadline, `no ack for ${killAfter} messages: ${sender.data.slice(-300)}`);
      await new Promise((r) => setTimeout(r, 1));
    }
    await killHard(server!);
    server = undefined;
    await writing;
    // Acks already on their way when the kill landed count too: the server sent them.
    await new Promise((r) => setTimeout(r, 100));
    const acked = highestAck(sender);
    sender.destroy();
    t.diagnostic(`sent ${written}, acknowledged ${acked} before the kill`);
    assert.ok(acked >= killAfter && acked < written, "the kill landed mid-stream");
    return { written, acked };
  }

  /** Logs `user` in after the restart, sends initial presence and returns the bodies of the messages that arrive. */
  async function collectAfterRestart(user: string, expectAtLeast: number, waitMs = 60_000): Promise<string[]> {
    const { rc } = await rawLogin(ts, user, `pw-${user}`, "phone");
    rc.send("<presence/>");
    // Offline messages arrive after the initial presence: wait for as many as expected (or time out), then until no
    // more come for a second, so that a duplicate would have arrived.
    const arrived = () => (rc.data.match(/<\/message>/g) ?? []).length;
    const until = Date.now() + waitMs;
    while (arrived() < expectAtLeast && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    for (let count = -1, quiet = 0; quiet < 5; ) {
      await new Promise((r) => setTimeout(r, 200));
      quiet = arrived() === count ? quiet + 1 : 0;
      count = arrived();
    }
    rc.destroy();
    return messageBodies(rc);
  }

  /** Every message body in `user`'s archive (XEP-0313), fetched page by page after the restart. */
  async function archiveBodies(user: string): Promise<string[]> {
    const { rc } = await rawLogin(ts, user, `pw-${user}`, "archive");
    const bodies: string[] = [];
    let after = "";
    // Pages of 100: one answer with everything would exceed what the server buffers for a client (16 MiB).
    for (let page = 0; ; page++) {
      rc.data = "";
      const rsm = `<set xmlns='${NS_RSM}'><max>100</max>${after === "" ? "" : `<after>${after}</after>`}</set>`;
      rc.send(`<iq type='set' id='mam${page}'><query xmlns='${NS_MAM}' queryid='q${page}'>${rsm}</query></iq>`);
      await rc.waitFor(new RegExp(`<iq[^>]* id=["']mam${page}["']`), 60_000);
      const elements = parseServerOutput(rc.data).elements;
      for (const el of elements) {
        const forwarded = el.getChild("result", NS_MAM)?.getChild("forwarded", NS_FORWARD);
        const message = forwarded?.getChild("message", NS_CLIENT);
        if (message !== undefined) bodies.push(message.getChildText("body") ?? "");
      }
      const fin = elements.find((el) => el.name === "iq")?.getChild("fin", NS_MAM);
      assert.ok(fin, `MAM page ${page} answered with a <fin/>`);
      const last = fin.getChild("set", NS_RSM)?.getChildText("last");
      if (fin.attrs.complete === "true" || last === undefined) break;
      after = last;
    }
    rc.destroy();
    return bodies;
  }

  function assertExactlyOnce(bodies: string[], acked: number): void {
    const times = new Map<string, number>();
    for (const b of bodies) times.set(b, (times.get(b) ?? 0) + 1);
    const duplicated = [...times].filter(([, n]) => n > 1).map(([b]) => b);
    assert.deepEqual(duplicated, [], "no message delivered twice");
    const lost: string[] = [];
    for (let i = 0; i < acked; i++) if (!times.has(`m${i}`)) lost.push(`m${i}`);
    assert.deepEqual(
      lost,
      [],
      `every acknowledged message delivered (${bodies.length} arrived, ${acked} acknowledged)`,
    );
  }

  it("to an offline account: every message acknowledged before the kill is delivered once after the restart", async (t) => {
    server = await startServer(cfg);
    const { acked } = await loadThenKill(t, "rcpt@localhost");
    server = await startServer(cfg);
    const bodies = await collectAfterRestart("rcpt", acked);
    t.diagnostic(`${bodies.length} delivered after the restart`);
    assertExactlyOnce(bodies, acked);
  });

  it("to an online account using XEP-0198: every acknowledged message arrives once, before the kill or after", async (t) => {
    server = await startServer(cfg);
    const { rc: online } = await rawLogin(ts, "rcpt2", "pw-rcpt2", "desk");
    online.send(`<enable xmlns='${NS_SM}'/><presence/>`);
    await online.waitFor(/<enabled/);
    const { acked } = await loadThenKill(t, "rcpt2@localhost");
    await online.closed;
    const before = messageBodies(online);
    server = await startServer(cfg);
    const after = await collectAfterRestart("rcpt2", acked - before.length);
    t.diagnostic(`${before.length} delivered before the kill, ${after.length} after the restart`);
    assertExactlyOnce([...before, ...after], acked);
  });

  it("to an online account that reads slowly: what did not reach it before the kill is in its archive after", async (t) => {
    // The recipient stops reading, so what the server routes to it piles up in the server's memory (the XEP-0198
    // unacknowledged queue and the socket's buffer) and dies with the process. Such messages were acknowledged to the
    // sender all the same, because XEP-0313 archiving committed them first: the recipient's client catches up there.
    server = await startServer(cfg);
    const { rc: slow } = await rawLogin(ts, "rcpt3", "pw-rcpt3", "desk");
    slow.send(`<enable xmlns='${NS_SM}'/><presence/>`);
    await slow.waitFor(/<enabled/);
    slow.pause();
    // 32 KB a message: the socket buffers hold ~4 MB (about 125 of them), fewer than are acknowledged before the kill.
    const { acked } = await loadThenKill(t, "rcpt3@localhost", { total: 1000, padBytes: 32_000, killFrom: 300 });
    slow.resume();
    await slow.closed;
    const live = messageBodies(slow);
    server = await startServer(cfg);
    const archived = await archiveBodies("rcpt3");
    t.diagnostic(`${live.length} delivered before the kill, ${archived.length} in the archive after the restart`);
    assert.ok(live.length < acked, "some acknowledged messages never reached the recipient's socket");
    assertExactlyOnce(live, 0);
    assertExactlyOnce(archived, acked);
  });

  it("offline messages handed to a XEP-0198 client that stops reading: what it acknowledged is gone, nothing is lost", async (t) => {
    // XEP-0198 §4: a stored message is deleted once the client acknowledges it, not when it is written into the
    // session's buffers. A kill while the client is not reading then loses none; what reached the client but was
    // not yet acknowledged comes again after the restart (the client could not have told the server), and what it
    // acknowledged does not.
    server = await startServer(cfg);
    const { rc: sender } = await rawLogin(ts, "sender", "pw-sender", "load");
    const count = 400;
    let burst = `<enable xmlns='${NS_SM}'/>`;
    const pad = `<pad xmlns='urn:example:pad'>${"x".repeat(20_000)}</pad>`;
    for (let i = 0; i < count; i++) {
      burst += `<message to='rcpt4@localhost' type='chat' id='m${i}'><body>m${i}</body>${pad}</message>`;
    }
    sender.send(`${burst}<r xmlns='${NS_SM}'/>`);
    await sender.waitFor(new RegExp(`h=["']${count}["']`), 60_000); // all stored offline and acknowledged
    sender.destroy();

    const { rc } = await rawLogin(ts, "rcpt4", "pw-rcpt4", "phone");
    rc.send(`<enable xmlns='${NS_SM}'/>`);
    await rc.waitFor(/<enabled/);
    const afterEnabled = rc.data.length;
    rc.send("<presence/>");
    await rc.waitFor(/<\/message>/, 30_000);
    await new Promise((r) => setTimeout(r, 300));
    rc.pause(); // the client stops reading mid-delivery; the server's buffers fill
    // It acknowledges every stanza it has read so far (XEP-0198 §4: an <a/> may be sent at any time).
    const stanzas = parseServerOutput(rc.data.slice(afterEnabled)).elements.filter((el) =>
      ["message", "presence", "iq"].includes(el.name),
    );
    const acknowledged = stanzas
      .filter((el) => el.name === "message")
      .map((el) => el.getChildText("body", el.ns) ?? "");
    rc.send(`<a xmlns='${NS_SM}' h='${stanzas.length}'/>`);
    await new Promise((r) => setTimeout(r, 2000));
    await killHard(server!);
    server = undefined;
    rc.resume();
    await rc.closed;
    const before = messageBodies(rc);
    server = await startServer(cfg);
    const after = await collectAfterRestart("rcpt4", count - acknowledged.length, 10_000);
    t.diagnostic(
      `${acknowledged.length} read and acknowledged, ${before.length} read before the kill, ${after.length} delivered after the restart`,
    );
    assert.ok(acknowledged.length > 0 && acknowledged.length < count, "the client acknowledged part of the backlog");
    const again = after.filter((b) => acknowledged.includes(b));
    assert.deepEqual(again, [], "nothing the client acknowledged is delivered again");
    assert.equal(new Set(after).size, after.length, "nothing delivered twice after the restart");
    const arrived = new Set([...before, ...after]);
    const lost = Array.from({ length: count }, (_, i) => `m${i}`).filter((b) => !arrived.has(b));
    assert.deepEqual(lost, [], "every stored message reaches the client");
  });
});
