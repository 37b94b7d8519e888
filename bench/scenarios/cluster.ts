// cluster (`npm run bench -- --cluster 2`): Natter nodes serving one domain on PostgreSQL + Redis (issue 16).
// Starts its own nodes (a fresh database on the machine's PostgreSQL, Redis under a key prefix of its own),
// then, in the same run:
//   1. local: `pairs` senders and receivers on node 1 (the single-node figure: a local delivery);
//   2. cross-node: the same load with the senders on node 1 and the receivers on node 2;
// each a closed loop (every delivery lets its sender send the next, `inflight` per pair), reporting messages/s,
// latency p50/p99 and server CPU per message (all nodes' CPU over the messages delivered). Before them, on the
// fresh nodes: idle: `sessions` idle sessions spread over the nodes, KiB of node memory per session (RSS) and
// Redis's memory per session (INFO memory used_memory, before and after).
// Cross-node delivery needs the Redis session registry (branch i16-cluster): without it the probe message
// never arrives and the scenario stops with that reason.

import { randomBytes } from "node:crypto";
import { appendFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@redis/client";
import pg from "pg";
import type { BenchClient } from "../client.js";
import {
  createNatterAccounts,
  freePort,
  type NatterOptions,
  natterCommand,
  natterConfig,
  type RunningServer,
  startNatter,
  writeUsersCsv,
} from "../servers.js";
import { cpuSeconds, Histogram, pool, rssKiB, sleep } from "../stats.js";
import { type Log, loginUser, type Metric, type Target } from "../target.js";

export interface ClusterOptions {
  nodes: number;
  pairs: number;
  inflight: number;
  duration: number;
  warmup: number;
  /** Idle sessions over all nodes (0: skip the idle part). */
  sessions: number;
  concurrency: number;
  settle: number;
  keep: boolean;
}

const PASSWORD = "cluster-bench-password";
const DOMAIN = "cluster.bench";
const POSTGRES_ADMIN_URL = process.env.NATTER_BENCH_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const REDIS_URL = process.env.NATTER_BENCH_REDIS_URL ?? "redis://127.0.0.1:6379";

async function postgresAdmin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

async function redisClient() {
  const client = createClient({ url: REDIS_URL });
  client.on("error", () => {});
  await client.connect();
  return client;
}

/** Redis's used_memory in bytes (INFO memory). */
async function redisUsedMemory(): Promise<number> {
  const client = await redisClient();
  try {
    const info = (await client.sendCommand(["INFO", "memory"])) as string;
    return Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? Number.NaN);
  } finally {
    client.destroy();
  }
}

/**
 * Redis's own CPU seconds (INFO cpu: used_cpu_user + used_cpu_sys). Not counted in the issue's figure (the nodes'
 * CPU) but reported beside it: batching moves work between the nodes and Redis. Redis is shared with whatever else
 * runs on the machine, so it is an upper bound for this bench's share.
 */
async function redisCpuSeconds(): Promise<number> {
  const client = await redisClient();
  try {
    const info = (await client.sendCommand(["INFO", "cpu"])) as string;
    const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, "m").exec(info)?.[1] ?? Number.NaN);
    return field("used_cpu_user") + field("used_cpu_sys");
  } finally {
    client.destroy();
  }
}

/** Lowest RSS over three readings a second apart: a collection in between counts, a spike does not. */
async function lowestRss(pid: number): Promise<number> {
  let low = rssKiB(pid);
  for (let i = 0; i < 2; i++) {
    await sleep(1000);
    low = Math.min(low, rssKiB(pid));
  }
  return low;
}

/** Waits until the process used (almost) no CPU for a second, at most `limitSeconds`. */
async function quiet(pid: number, limitSeconds: number): Promise<void> {
  const until = performance.now() + limitSeconds * 1000;
  let before = cpuSeconds(pid);
  while (performance.now() < until) {
    await sleep(1000);
    const now = cpuSeconds(pid);
    if (now - before < 0.02) return;
    before = now;
  }
}

interface LoopResult {
  perSecond: number;
  p50: number;
  p99: number;
  cpuUsPerMessage: number;
  redisCpuUsPerMessage: number;
  errors: number;
}

/**
 * A closed loop from `senders[i]` to `receivers[i]`: `inflight` messages each on the way, every delivery sends
 * the next. CPU of every node in `pids` over the measured seconds, per message delivered then.
 */
async function closedLoop(
  senders: BenchClient[],
  receivers: BenchClient[],
  pids: number[],
  opts: ClusterOptions,
  log: Log,
  label: string,
): Promise<LoopResult> {
  const hist = new Histogram();
  let sending = true;
  let measuring = false;
  let delivered = 0;
  let errors = 0;
  let inflight = 0;
  const sends: (() => void)[] = [];
  for (let i = 0; i < senders.length; i++) {
    const from = senders[i]!;
    const to = receivers[i]!;
    const head = `<message type='chat' to='${to.jid}'><body>`;
    const send = () => {
      inflight++;
      from.send(`${head}${performance.now()}</body></message>`);
    };
    sends.push(send);
    to.onMessage = (body, isError) => {
      if (body === "") return;
      inflight--;
      if (isError) errors++;
      else if (measuring) {
        delivered++;
        hist.record(performance.now() - Number(body));
      }
      if (sending) send();
    };
    from.onMessage = (body, isError) => {
      // A bounce comes back to the sender.
      if (body === "" || !isError) return;
      inflight--;
      errors++;
      if (sending) send();
    };
  }
  log(
    `cluster ${label}: ${senders.length} pairs × ${opts.inflight} in flight, ${opts.warmup} s warm-up, ${opts.duration} s measured`,
  );
  for (let n = 0; n < opts.inflight; n++) for (const send of sends) send();
  await sleep(opts.warmup * 1000);
  const redis0 = await redisCpuSeconds().catch(() => Number.NaN);
  const cpu0 = pids.map((p) => cpuSeconds(p));
  const t0 = performance.now();
  measuring = true;
  await sleep(opts.duration * 1000);
  measuring = false;
  const seconds = (performance.now() - t0) / 1000;
  const cpu = pids.reduce((sum, p, i) => sum + (cpuSeconds(p) - cpu0[i]!), 0);
  const redisCpu = (await redisCpuSeconds().catch(() => Number.NaN)) - redis0;
  sending = false;
  const drainUntil = performance.now() + 10_000;
  while (inflight > 0 && performance.now() < drainUntil) await sleep(50);
  if (inflight > 0) log(`cluster ${label}: ${inflight} messages not delivered after the run`);
  return {
    perSecond: delivered / seconds,
    p50: hist.quantile(0.5),
    p99: hist.quantile(0.99),
    cpuUsPerMessage: delivered > 0 ? (cpu / delivered) * 1e6 : Number.NaN,
    redisCpuUsPerMessage: delivered > 0 ? (redisCpu / delivered) * 1e6 : Number.NaN,
    errors: errors + inflight,
  };
}

/** One message from a client on node 1 to one on node 2: does cross-node routing work in this build? */
async function probeCrossNode(a: BenchClient, b: BenchClient): Promise<boolean> {
  // Both initial presences handled first: a message stored offline on node 1 would otherwise reach the session on
  // node 2 through offline delivery at its initial presence, and look like routing.
  await sleep(1000);
  let arrived = false;
  b.onMessage = (body) => {
    if (body === "probe") arrived = true;
  };
  a.send(`<message type='chat' to='${b.jid}'><body>probe</body></message>`);
  const until = performance.now() + 5000;
  while (!arrived && performance.now() < until) await sleep(20);
  return arrived;
}

export async function runCluster(opts: ClusterOptions, log: Log): Promise<Metric[]> {
  const entry = natterCommand();
  if (!entry) throw new Error("cluster: cannot find Natter's entry point");
  // NATTER_BENCH_NODE_ARGS: node options for the nodes only (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to see where
  // a cross-node message's CPU goes); NODE_OPTIONS would profile the load generator and `adduser` too.
  const nodeArgs = process.env.NATTER_BENCH_NODE_ARGS?.split(/\s+/).filter(Boolean) ?? [];
  const command = [entry[0]!, ...nodeArgs, ...entry.slice(1)];
  if (opts.nodes < 2) throw new Error("cluster: --cluster needs at least 2 nodes");
  const tag = randomBytes(5).toString("hex");
  const database = `natter_bench_${tag}`;
  const keyPrefix = `natter-bench:${tag}:`;
  const accounts = Math.max(2 * opts.pairs, opts.sessions);
  const dirs = Array.from({ length: opts.nodes }, () => mkdtempSync(join(tmpdir(), "natter-bench-cluster-")));
  const servers: RunningServer[] = [];
  const clients: BenchClient[] = [];
  await postgresAdmin(`create database ${database}`);
  try {
    const dbUrl = new URL(POSTGRES_ADMIN_URL);
    dbUrl.pathname = `/${database}`;
    const nodes = await Promise.all(
      dirs.map(async (dir, i) => {
        const o: NatterOptions = { dir, domain: DOMAIN, command, mam: false, exemptLoopback: true };
        const ports = { c2s: await freePort(), http: await freePort() };
        const config = natterConfig(o, ports.c2s, ports.http);
        appendFileSync(
          config,
          `storage:
  driver: postgres
  postgres: { url: ${JSON.stringify(dbUrl.toString())}, pool_size: 10 }
cluster:
  redis_url: ${JSON.stringify(REDIS_URL)}
  node_id: n${i + 1}
  key_prefix: ${JSON.stringify(keyPrefix)}
`,
        );
        return { o, config, ports };
      }),
    );
    log(`cluster: ${opts.nodes} nodes on PostgreSQL (${database}) and Redis (${keyPrefix}*), ${accounts} accounts`);
    const csv = join(dirs[0]!, "users.csv");
    writeUsersCsv(csv, DOMAIN, "u", accounts, PASSWORD);
    await createNatterAccounts(nodes[0]!.o, nodes[0]!.config, csv);
    // One after the other: each claims its node id in Redis.
    for (const n of nodes) servers.push(await startNatter(n.o, n.config, n.ports.c2s, n.ports.http));
    const targets: Target[] = servers.map((s, i) => ({
      name: `n${i + 1}`,
      host: "127.0.0.1",
      port: s.port,
      httpPort: undefined,
      transport: "tcp",
      domain: DOMAIN,
      pid: s.pid,
      userPrefix: "u",
      password: PASSWORD,
      mechanism: "SCRAM-SHA-1",
      stepTimeoutMs: 30_000,
    }));
    const [one, two] = targets as [Target, Target];
    const pids = servers.map((s) => s.pid);

    const probeA = await loginUser(one, 1, true);
    const probeB = await loginUser(two, 2, true);
    const crossNode = await probeCrossNode(probeA, probeB);
    await Promise.all([probeA.close(), probeB.close()]);
    if (!crossNode) {
      throw new Error(
        "cluster: a message from node 1 to a session on node 2 did not arrive: this build has no cross-node routing " +
          "(the Redis session registry of branch i16-cluster is not merged)",
      );
    }

    const idleMetrics: Metric[] = [];
    // 1. Idle sessions spread over the nodes, on fresh nodes (before the message runs grow their heaps).
    if (opts.sessions > 0) {
      // Warm-up: lazily loaded code and caches in place on every node before the baseline.
      const warm = await Promise.all(
        targets.flatMap((t) => Array.from({ length: 10 }, (_, i) => loginUser(t, i + 1, true))),
      );
      await Promise.all(warm.map((c) => c.close()));
      await Promise.all(pids.map((p) => quiet(p, 10)));
      const rssBefore = await Promise.all(pids.map((p) => lowestRss(p)));
      const redisBefore = await redisUsedMemory();
      log(`cluster idle: opening ${opts.sessions} sessions over ${opts.nodes} nodes, ${opts.concurrency} at a time`);
      const idle: BenchClient[] = [];
      let failures = 0;
      await pool(opts.sessions, opts.concurrency, async (i) => {
        try {
          idle.push(await loginUser(targets[i % targets.length]!, i + 1, true));
        } catch {
          failures++;
        }
      });
      if (failures > 0) log(`cluster idle: ${failures} logins failed`);
      clients.push(...idle);
      await sleep(opts.settle * 1000);
      await Promise.all(pids.map((p) => quiet(p, 10)));
      const rssAfter = await Promise.all(pids.map((p) => lowestRss(p)));
      const redisAfter = await redisUsedMemory();
      const held = idle.filter((c) => c.open).length;
      const n = Math.max(1, held);
      const nodeKiB = rssAfter.reduce((sum, r, i) => sum + (r - rssBefore[i]!), 0) / n;
      idleMetrics.push(
        {
          key: "cluster_idle_sessions",
          label: "idle sessions held (all nodes)",
          value: held,
          unit: "",
          better: "higher",
        },
        {
          key: "cluster_idle_kib_per_session",
          label: "node memory per idle session (target < 24)",
          value: nodeKiB,
          unit: "KiB",
          better: "lower",
        },
        {
          key: "cluster_redis_bytes_per_session",
          label: "Redis memory per session",
          value: (redisAfter - redisBefore) / n,
          unit: "B",
          better: "lower",
        },
      );
      await pool(idle.length, 500, (i) => idle[i]!.close());
      await Promise.all(pids.map((p) => quiet(p, 10)));
    }
    // 2. Local delivery on node 1: senders u1..uP, receivers uP+1..u2P.
    const login = async (target: Target, first: number) => {
      const out: BenchClient[] = [];
      await pool(opts.pairs, 25, async (i) => {
        out[i] = await loginUser(target, first + i, true);
      });
      clients.push(...out);
      return out;
    };
    let senders = await login(one, 1);
    let receivers = await login(one, opts.pairs + 1);
    const local = await closedLoop(senders, receivers, [pids[0]!], opts, log, "local (node 1 → node 1)");
    await Promise.all([...receivers].map((c) => c.close()));

    // 3. Cross-node: the same senders on node 1, receivers on node 2.
    receivers = await login(two, opts.pairs + 1);
    const cross = await closedLoop(senders, receivers, pids, opts, log, "cross-node (node 1 → node 2)");
    await Promise.all([...senders, ...receivers].map((c) => c.close()));
    senders = [];
    receivers = [];

    const metrics: Metric[] = [
      ...idleMetrics,
      {
        key: "cluster_local_messages_per_s",
        label: "local messages/s (node 1 → node 1)",
        value: local.perSecond,
        unit: "/s",
        better: "higher",
      },
      {
        key: "cluster_cross_messages_per_s",
        label: "cross-node messages/s (node 1 → node 2)",
        value: cross.perSecond,
        unit: "/s",
        better: "higher",
      },
      { key: "cluster_local_p50_ms", label: "local latency p50", value: local.p50, unit: "ms", better: "lower" },
      { key: "cluster_cross_p50_ms", label: "cross-node latency p50", value: cross.p50, unit: "ms", better: "lower" },
      { key: "cluster_local_p99_ms", label: "local latency p99", value: local.p99, unit: "ms", better: "lower" },
      { key: "cluster_cross_p99_ms", label: "cross-node latency p99", value: cross.p99, unit: "ms", better: "lower" },
      {
        key: "cluster_local_cpu_us",
        label: "server CPU per local message",
        value: local.cpuUsPerMessage,
        unit: "µs",
        better: "lower",
      },
      {
        key: "cluster_cross_cpu_us",
        label: "server CPU per cross-node message (both nodes)",
        value: cross.cpuUsPerMessage,
        unit: "µs",
        better: "lower",
      },
      {
        key: "cluster_cpu_ratio",
        label: "cross-node / local CPU per message (target < 2)",
        value: cross.cpuUsPerMessage / local.cpuUsPerMessage,
        unit: "×",
        better: "lower",
      },
      {
        key: "cluster_local_redis_cpu_us",
        label: "Redis CPU per local message (not counted)",
        value: local.redisCpuUsPerMessage,
        unit: "µs",
        better: "lower",
      },
      {
        key: "cluster_cross_redis_cpu_us",
        label: "Redis CPU per cross-node message (not counted)",
        value: cross.redisCpuUsPerMessage,
        unit: "µs",
        better: "lower",
      },
      {
        key: "cluster_errors",
        label: "errors / undelivered (both runs)",
        value: local.errors + cross.errors,
        unit: "",
        better: "lower",
      },
    ];

    return metrics;
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    await Promise.all(servers.map((s) => s.stop()));
    if (!opts.keep) for (const d of dirs) rmSync(d, { recursive: true, force: true });
    else log(`cluster: kept ${dirs.join(", ")}`);
    await postgresAdmin(`drop database if exists ${database} with (force)`).catch(() => {});
    const redis = await redisClient().catch(() => undefined);
    if (redis) {
      const keys = (await redis.sendCommand(["KEYS", `${keyPrefix}*`])) as string[];
      if (keys.length > 0) await redis.sendCommand(["DEL", ...keys]);
      redis.destroy();
    }
  }
}
