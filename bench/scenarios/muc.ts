// MUC (issue 4, issue 13's shapes): `rooms` rooms of `occupants` occupants each (every occupant a different
// account); the first `senders` occupants of each room talk (all of them by default), each keeping `inflight`
// groupchat messages on the way in a closed loop (the room's reflection of its own message lets it send the
// next one); the others only receive. The first joiner creates each room as an
// instant room (XEP-0045 §10.1.2); everyone joins with <history maxstanzas='0'/>. After `warmup`
// seconds, deliveries are counted for `duration` seconds.
//
// Delivered = one occupant receiving one groupchat message, the sender's own reflection included
// (each message is delivered `occupants` times). Fan-out latency = from writing a message to one
// occupant reading it (a timestamp in the body; one process, one monotonic clock).
//
// Natter's rooms archive by default (room_defaults.logging: true, max_history 10000); `archive: false`
// (--muc-archive off) starts Natter with logging off and history_length 0 so nothing is stored. Either
// way the bench lifts the per-occupant message_rate limit (2/s by default, which would cap 50 × 20
// occupants at 2,000 messages/s in, 40,000 delivered/s).

import { readFileSync, writeFileSync } from "node:fs";
import YAML from "yaml";
import type { BenchClient } from "../client.js";
import { Histogram, cpuSeconds, ownCpuSeconds, pool, sleep } from "../stats.js";
import { type Log, type Metric, type Target, loginUser } from "../target.js";

/** One room layout: `rooms` × `occupants`, `senders` of each room's occupants talking. */
export interface MucShape {
  rooms: number;
  occupants: number;
  senders: number;
}

/**
 * `--muc-shapes`: comma-separated `RxO` (all occupants talk) or `RxO:k` (k senders per room), e.g.
 * `10x20,50x50:10,1x200:10` (issue 13's three rows).
 */
export function parseMucShapes(text: string): MucShape[] {
  return text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const m = /^(\d+)\s*[x×]\s*(\d+)(?::(\d+))?$/.exec(s);
      const rooms = Number(m?.[1]);
      const occupants = Number(m?.[2]);
      const senders = m?.[3] === undefined ? occupants : Number(m[3]);
      if (m === null || !(rooms >= 1) || !(occupants >= 1) || !(senders >= 1) || senders > occupants) {
        throw new Error(`bad MUC shape "${s}": expected ROOMSxOCCUPANTS or ROOMSxOCCUPANTS:SENDERS (1 ≤ senders ≤ occupants)`);
      }
      return { rooms, occupants, senders };
    });
}

/** Key part and row label of a shape: `10x20` / "10 rooms × 20, all talk"; `50x50s10` / "50 × 50, 10 senders". */
export function mucShapeName(shape: MucShape): { key: string; label: string } {
  const all = shape.senders >= shape.occupants;
  return {
    key: `${shape.rooms}x${shape.occupants}${all ? "" : `s${shape.senders}`}`,
    label: `${shape.rooms} × ${shape.occupants}, ${all ? "all talk" : `${shape.senders} senders`}`,
  };
}

export interface MucOptions extends MucShape {
  inflight: number;
  duration: number;
  warmup: number;
  presence: boolean;
  /** Only reported: whether the server archives room messages. */
  archive: boolean | undefined;
}

const NS_MUC = "http://jabber.org/protocol/muc";

/**
 * Natter's bench config with the muc module's options for this scenario: the message rate limit
 * lifted, and with `archive` false, room logging and history off.
 */
export function writeMucConfig(configPath: string, archive: boolean): void {
  const doc = YAML.parseDocument(readFileSync(configPath, "utf8"));
  const muc: Record<string, unknown> = { message_rate: { per_second: 1_000_000, burst: 1_000_000 } };
  if (!archive) Object.assign(muc, { history_length: 0, room_defaults: { logging: false } });
  doc.setIn(["modules", "muc"], doc.createNode(muc));
  writeFileSync(configPath, doc.toString());
}

/** Resolves with the client's incoming text once `re` matches it (searched from when it was called). */
function waitForText(client: BenchClient, re: RegExp, timeoutMs: number, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    const onData = (chunk: string) => {
      text += chunk;
      const m = re.exec(text);
      if (m === null) return;
      cleanup();
      resolve(text.slice(m.index));
    };
    const cleanup = () => {
      clearTimeout(timer);
      client.socket.off("data", onData);
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; received: ${text.slice(-400)}`));
    }, timeoutMs);
    client.socket.on("data", onData);
  });
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Joins room/nick with no history; resolves with the self-presence's opening tag and what follows. */
async function join(client: BenchClient, occupantJid: string, timeoutMs: number): Promise<string> {
  const self = waitForText(client, new RegExp(`<presence\\b[^>]*\\bfrom=["']${escapeRe(occupantJid)}["']`), timeoutMs, `self-presence from ${occupantJid}`);
  client.socket.write(`<presence to='${occupantJid}'><x xmlns='${NS_MUC}'><history maxstanzas='0'/></x></presence>`);
  return self;
}

export async function runMuc(target: Target, opts: MucOptions, log: Log): Promise<Metric[]> {
  const service = `conference.${target.domain}`;
  const total = opts.rooms * opts.occupants;
  log(`muc: logging in ${total} sessions`);
  const clients: BenchClient[] = [];
  await pool(total, 50, async (i) => {
    clients[i] = await loginUser(target, i + 1, opts.presence);
  });
  const roomOf = (i: number) => `bench-room-${Math.floor(i / opts.occupants) + 1}@${service}`;
  const nickOf = (i: number) => `o${i % opts.occupants}`;

  // 1. The first occupant of each room creates it as an instant room; then everyone else joins.
  log(`muc: creating ${opts.rooms} instant rooms`);
  let created = 0;
  await pool(opts.rooms, 10, async (r) => {
    const i = r * opts.occupants;
    const client = clients[i] as BenchClient;
    const self = await join(client, `${roomOf(i)}/${nickOf(i)}`, target.stepTimeoutMs);
    if (!/code=["']201["']/.test(self.slice(0, 2000))) return; // the room existed already
    created++;
    const id = `inst${r}`;
    const reply = waitForText(client, new RegExp(`<iq\\b[^>]*\\bid=["']${id}["'][^>]*>`), target.stepTimeoutMs, `instant room ${roomOf(i)}`);
    client.socket.write(
      `<iq type='set' id='${id}' to='${roomOf(i)}'><query xmlns='${NS_MUC}#owner'><x xmlns='jabber:x:data' type='submit'/></query></iq>`,
    );
    const iq = await reply;
    if (!/type=["']result["']/.test(/<iq\b[^>]*>/.exec(iq)?.[0] ?? "")) throw new Error(`instant room ${roomOf(i)} refused: ${iq.slice(0, 400)}`);
  });
  log(`muc: ${created} rooms created; ${total - opts.rooms} more occupants joining`);
  await pool(total, 50, async (i) => {
    if (i % opts.occupants === 0) return;
    await join(clients[i] as BenchClient, `${roomOf(i)}/${nickOf(i)}`, target.stepTimeoutMs);
  });
  await sleep(500);

  // 2. Everyone talks: a closed loop per occupant.
  const hist = new Histogram();
  let sending = true;
  let measuring = false;
  let delivered = 0;
  let sent = 0;
  let errors = 0;
  let inflight = 0;
  let lost: Error | undefined;
  let firstError = "";
  const starters: (() => void)[] = [];
  for (let i = 0; i < total; i++) {
    const client = clients[i] as BenchClient;
    const head = `<message type='groupchat' to='${roomOf(i)}'><body>${i}:`;
    const send = () => {
      inflight++;
      if (measuring) sent++;
      client.send(`${head}${performance.now()}</body></message>`);
    };
    client.onMessage = (body, isError) => {
      const colon = body.indexOf(":");
      if (colon < 0) return; // not one of ours
      const mine = Number(body.slice(0, colon)) === i;
      if (isError) {
        errors++;
        if (mine) {
          inflight--;
          if (sending) send();
        }
        return;
      }
      if (measuring) {
        delivered++;
        hist.record(performance.now() - Number(body.slice(colon + 1)));
      }
      if (mine) {
        inflight--;
        if (sending) send();
      }
    };
    client.onClosed = (err) => {
      lost ??= err ?? new Error("connection closed");
    };
    // Only the first `senders` occupants of each room talk; the rest only receive.
    if (i % opts.occupants < opts.senders) {
      starters.push(() => {
        for (let n = 0; n < opts.inflight; n++) send();
      });
    }
  }
  // Errors are logged once, with their text, for diagnosis.
  const errorTap = (chunk: string) => {
    if (firstError === "" && (chunk.includes("type='error'") || chunk.includes('type="error"'))) firstError = chunk.slice(0, 600);
  };
  for (const c of clients) c.socket.on("data", errorTap);

  log(
    `muc: ${opts.rooms} rooms × ${opts.occupants} occupants, ${opts.senders} senders per room × ${opts.inflight} in flight, ` +
      `${opts.warmup} s warm-up, ${opts.duration} s measured`,
  );
  for (const start of starters) start();
  await sleep(opts.warmup * 1000);
  const cpu0 = target.pid ? cpuSeconds(target.pid) : 0;
  const own0 = ownCpuSeconds();
  const t0 = performance.now();
  measuring = true;
  await sleep(opts.duration * 1000);
  measuring = false;
  const seconds = (performance.now() - t0) / 1000;
  const serverCpu = target.pid ? ((cpuSeconds(target.pid) - cpu0) / seconds) * 100 : Number.NaN;
  const clientCpu = ((ownCpuSeconds() - own0) / seconds) * 100;
  sending = false;

  const drainUntil = performance.now() + 15_000;
  while (inflight > 0 && performance.now() < drainUntil && lost === undefined) await sleep(50);
  if (inflight > 0) log(`muc: ${inflight} messages without their reflection after the run`);
  if (lost) log(`muc: a session was closed during the run: ${lost.message}`);
  if (errors > 0) log(`muc: ${errors} error messages; first: ${firstError}`);
  for (const c of clients) c.socket.off("data", errorTap);
  await pool(total, 200, (i) => (clients[i] as BenchClient).close());

  // Each shape its own rows: keys muc_<shape>_…, labels "muc <rooms> × <occupants>, …: …".
  const { key, label } = mucShapeName(opts);
  const m = (k: string, l: string, value: number, unit: string, better: Metric["better"]): Metric => ({
    key: `muc_${key}_${k}`,
    label: `muc ${label}: ${l}`,
    value,
    unit,
    better,
  });
  const metrics: Metric[] = [
    m("occupants", "occupants in all rooms", total, "", "info"),
    m("delivered_per_s", "deliveries/s", delivered / seconds, "/s", "higher"),
    m("sent_per_s", "groupchat messages sent/s", sent / seconds, "/s", "info"),
    m("p50_ms", "delivery latency p50", hist.quantile(0.5), "ms", "lower"),
    m("p99_ms", "delivery latency p99", hist.quantile(0.99), "ms", "lower"),
    m("errors", "errors / unreflected", errors + inflight, "", "lower"),
  ];
  if (opts.archive !== undefined) metrics.push(m("archive", "room archive (1 on, 0 off)", opts.archive ? 1 : 0, "", "info"));
  if (target.pid) metrics.push(m("server_cpu", "server CPU", serverCpu, "%", "info"));
  metrics.push(m("client_cpu", "load generator CPU", clientCpu, "%", "info"));
  return metrics;
}
