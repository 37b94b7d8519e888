// Several real `natter start` processes serving one domain as a cluster (docs/cluster.md): each on its own port
// and data directory, sharing a fresh PostgreSQL database (postgres.ts) and the local Redis under a key prefix
// of their own, so parallel test files never meet.
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@redis/client";
import { InternalAccountProvider } from "../../src/auth/internal-account-provider.js";
import { parseConfig } from "../../src/core/config/index.js";
import { openStorage } from "../../src/storage/open-storage.js";
import { NATTER_MAIN } from "./natter-process.js";
import { createTestDatabase, type TestDatabase } from "./postgres.js";
import { freePort, type TestServer } from "./test-server.js";

export const REDIS_URL = process.env.NATTER_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

export interface ClusterNode {
  readonly id: string;
  readonly port: number;
  readonly configPath: string;
  /** What the @xmpp/client helpers (xmpp-client.ts) need to connect to this node. */
  readonly target: TestServer;
  child: ChildProcess | undefined;
  /** Everything the process printed (its JSON log lines). */
  output: string;
  /** Starts the process (again, after a kill) and waits for "Natter started". */
  start(): Promise<void>;
  /** SIGKILL: no clean leave, nothing flushed. */
  kill9(): Promise<void>;
  /** SIGTERM and wait for the exit (a clean leave). */
  stop(): Promise<void>;
}

export interface Cluster {
  nodes: ClusterNode[];
  domain: string;
  keyPrefix: string;
  db: TestDatabase;
  /** Log lines (parsed) of a node matching a message. */
  logLines(node: ClusterNode, msg: RegExp): Record<string, unknown>[];
  stop(): Promise<void>;
}

export interface ClusterOptions {
  nodes: number;
  /** Accounts created before the nodes start: [user, password]. */
  users: [string, string][];
  heartbeatInterval?: number;
  nodeTimeout?: number;
  /** Extra top-level YAML for every node. */
  yaml?: string;
  /** A Redis of the test's own (e.g. one it restarts) instead of the shared one. */
  redisUrl?: string;
  /** The Redis URL a node (`n1`, `n2` …) connects to, when not REDIS_URL (a proxy between them). */
  redisUrlOf?: (node: string) => string | undefined;
}

export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const domain = "localhost";
  const redisUrl = options.redisUrl ?? REDIS_URL;
  const db = await createTestDatabase();
  const keyPrefix = `natter-test:${randomBytes(6).toString("hex")}:`;
  const dir = mkdtempSync(join(tmpdir(), "natter-cluster-"));
  const configFor = (id: string, port: number) =>
    [
      `hosts: [${domain}]`,
      `data_dir: ${JSON.stringify(join(dir, id))}`,
      "log_level: debug",
      `listeners: { c2s: { port: ${port}, bind: [127.0.0.1] }, c2s_direct_tls: { enabled: false }, http: { enabled: false }, https: { enabled: false } }`,
      "s2s: { enabled: false }",
      "c2s: { rate_limits: { authenticated: { bytes_per_second: 0, stanzas_per_second: 0 } } }",
      "auth:",
      "  scram_iterations: 4096",
      "  throttle:",
      "    per_ip: { delay_after: 0, attempts: 0 }",
      "    per_ip_account: { delay_after: 0, attempts: 0 }",
      "    per_account: { delay_after: 0 }",
      // The store cache is per process; keeping it in step between nodes is not what these tests are about.
      `storage: { driver: postgres, cache_entries: 0, postgres: { url: ${JSON.stringify(db.url)}, pool_size: 4 } }`,
      "cluster:",
      `  redis_url: ${JSON.stringify(options.redisUrlOf?.(id) ?? redisUrl)}`,
      `  node_id: ${id}`,
      `  key_prefix: ${JSON.stringify(keyPrefix)}`,
      `  heartbeat_interval: ${options.heartbeatInterval ?? 0.25}`,
      `  node_timeout: ${options.nodeTimeout ?? 1.5}`,
      options.yaml ?? "",
    ].join("\n");

  // Accounts first, through the same storage code: this also creates the schema once, before the nodes race to.
  const first = parseConfig(configFor("setup", 5222), join(dir, "setup.yaml"), dir);
  const storage = await openStorage(first);
  const accounts = new InternalAccountProvider(storage, { iterations: 4096 });
  for (const [user, password] of options.users) await accounts.createUser(domain, user, password);
  await storage.close();

  const nodes: ClusterNode[] = [];
  for (let i = 0; i < options.nodes; i++) {
    const id = `n${i + 1}`;
    const port = await freePort();
    const configPath = join(dir, `${id}.yaml`);
    writeFileSync(configPath, configFor(id, port));
    const node: ClusterNode = {
      id,
      port,
      configPath,
      target: { port, domain } as TestServer,
      child: undefined,
      output: "",
      async start() {
        const child = spawn(process.execPath, ["--import", "tsx", NATTER_MAIN, "-c", configPath, "start"], {
          stdio: ["ignore", "pipe", "pipe"],
        });
        node.child = child;
        // A restart: only what this process prints counts ("Natter started" of the previous one is in `output`).
        const from = node.output.length;
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`${id} did not start: ${node.output.slice(-3000)}`)), 60_000);
          const onExit = (code: number | null) => {
            clearTimeout(timer);
            reject(new Error(`${id} exited (${code}): ${node.output.slice(-3000)}`));
          };
          child.once("exit", onExit);
          child.stderr!.on("data", (d: Buffer) => {
            node.output += d.toString();
          });
          child.stdout!.on("data", (d: Buffer) => {
            node.output += d.toString();
            if (/Natter started/.test(node.output.slice(from))) {
              clearTimeout(timer);
              child.off("exit", onExit);
              resolve();
            }
          });
        });
      },
      async kill9() {
        const child = node.child;
        if (!child || child.exitCode !== null) return;
        const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
        child.kill("SIGKILL");
        await exited;
        node.child = undefined;
      },
      async stop() {
        const child = node.child;
        if (!child || child.exitCode !== null) return;
        const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
        await exited;
        clearTimeout(timer);
        node.child = undefined;
      },
    };
    nodes.push(node);
  }
  try {
    await Promise.all(nodes.map((n) => n.start()));
  } catch (err) {
    for (const n of nodes) await n.kill9();
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    nodes,
    domain,
    keyPrefix,
    db,
    logLines(node, msg) {
      const out: Record<string, unknown>[] = [];
      for (const line of node.output.split("\n")) {
        if (!line.startsWith("{")) continue;
        try {
          const parsed = JSON.parse(line) as Record<string, unknown>;
          if (typeof parsed.msg === "string" && msg.test(parsed.msg)) out.push(parsed);
        } catch {
          // not a log line
        }
      }
      return out;
    },
    async stop() {
      await Promise.all(nodes.map((n) => n.stop()));
      // NATTER_CLUSTER_LOGS=<dir>: keep each node's log there (debugging a failure).
      const keep = process.env.NATTER_CLUSTER_LOGS;
      if (keep) for (const n of nodes) writeFileSync(join(keep, `${n.id}.log`), n.output);
      await db.drop();
      rmSync(dir, { recursive: true, force: true });
      // This run's keys (the Redis is shared with other tests and runs).
      if (options.redisUrl) return; // the test's own Redis: the test stops it
      const redis = createClient({ url: REDIS_URL, RESP: 2 });
      redis.on("error", () => {});
      await redis.connect();
      let cursor = "0";
      do {
        const [next, keys] = (await redis.sendCommand(["SCAN", cursor, "MATCH", `${keyPrefix}*`, "COUNT", "1000"])) as [
          string,
          string[],
        ];
        cursor = next;
        if (keys.length > 0) await redis.sendCommand(["DEL", ...keys]);
      } while (cursor !== "0");
      redis.destroy();
    },
  };
}
