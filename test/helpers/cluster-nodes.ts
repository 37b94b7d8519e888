// Several Natter nodes in this process serving one domain: one fresh PostgreSQL database
// (test/helpers/postgres.ts) and the machine's Redis under a key prefix of their own, so that test files run in
// parallel. To be unified with the other cluster helper (test/helpers/cluster.ts) at integration.
import { randomBytes } from "node:crypto";
import { createClient } from "@redis/client";
import { createTestDatabase, type TestDatabase } from "./postgres.js";
import { startTestServer, type TestServer, type TestServerOptions } from "./test-server.js";

export const REDIS_URL = process.env.NATTER_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

export interface ClusterNodes {
  nodes: TestServer[];
  db: TestDatabase;
  keyPrefix: string;
  /** Starts one more node (id `n<index>`). */
  add(): Promise<TestServer>;
  stop(): Promise<void>;
}

/** `cluster:` YAML lines beyond the URL, id and prefix, e.g. "node_timeout: 1". */
export async function startClusterNodes(
  count: number,
  options: { cluster?: string[]; server?: TestServerOptions } = {},
): Promise<ClusterNodes> {
  const db = await createTestDatabase();
  const keyPrefix = `natter-test:${randomBytes(6).toString("hex")}:`;
  const nodes: TestServer[] = [];
  const add = async () => {
    const id = `n${nodes.length + 1}`;
    const cluster = [
      "cluster:",
      `  redis_url: ${JSON.stringify(REDIS_URL)}`,
      `  node_id: ${id}`,
      `  key_prefix: ${JSON.stringify(keyPrefix)}`,
      "  heartbeat_interval: 0.2",
      "  node_timeout: 1",
      ...(options.cluster ?? []).map((l) => `  ${l}`),
    ].join("\n");
    const node = await startTestServer({
      ...options.server,
      postgresUrl: db.url,
      yaml: [options.server?.yaml ?? "", cluster].join("\n"),
    });
    nodes.push(node);
    return node;
  };
  for (let i = 0; i < count; i++) await add();
  return {
    nodes,
    db,
    keyPrefix,
    add,
    async stop() {
      for (const n of nodes) await n.stop().catch(() => {});
      await db.drop().catch(() => {});
      const redis = createClient({ url: REDIS_URL });
      redis.on("error", () => {});
      await redis.connect();
      const keys = (await redis.sendCommand(["KEYS", `${keyPrefix}*`])) as string[];
      if (keys.length > 0) await redis.sendCommand(["DEL", ...keys]);
      redis.destroy();
    },
  };
}

/** Waits until `check` holds (polling), or throws naming `what`. */
export async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
