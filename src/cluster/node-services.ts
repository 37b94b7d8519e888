// What a cluster node runs besides routing (issue 16): the bus itself (connected from `cluster.*`), the
// store-cache invalidation between nodes and the cluster-wide admin questions. The server builds it only when
// `cluster.redis_url` is set; MUC placement reaches the bus through ctx.cluster.
import type { Logger } from "pino";
import type { LocalAdmin } from "./cluster-admin.js";
import { ClusterAdmin } from "./cluster-admin.js";
import { defaultNodeId, RedisClusterBus } from "./redis-bus.js";
import { attachStoreInvalidation, type StoreInvalidationDeps } from "./store-invalidation.js";
import type { Config } from "../core/config/index.js";

/** Connects to Redis as `cluster.node_id` (refused while a live node holds the id). Undefined when not clustered. */
export async function connectClusterBus(config: Config, log: Logger): Promise<RedisClusterBus | undefined> {
  const c = config.cluster;
  if (c.redis_url === "") return undefined;
  return RedisClusterBus.connect({
    url: c.redis_url,
    nodeId: c.node_id || defaultNodeId(),
    keyPrefix: c.key_prefix,
    heartbeatIntervalMs: c.heartbeat_interval * 1000,
    nodeTimeoutMs: c.node_timeout * 1000,
    maxQueued: c.max_queued,
    inboxBatch: c.inbox_batch,
    connectTimeoutMs: c.connect_timeout * 1000,
    logger: log,
  });
}

export interface ClusterServices {
  admin: ClusterAdmin;
  close(): void;
}

export function startClusterServices(
  deps: Omit<StoreInvalidationDeps, "bus"> & { bus: RedisClusterBus; local: LocalAdmin; config: Config },
): ClusterServices {
  const { bus, config, log } = deps;
  const stopInvalidation = attachStoreInvalidation(deps);
  const admin = new ClusterAdmin(
    bus,
    deps.local,
    { timeoutMs: config.cluster.admin_timeout * 1000, maxPending: config.cluster.admin_max_pending },
    log.child({ component: "cluster-admin" }),
  );
  return {
    admin,
    close() {
      stopInvalidation();
      admin.close();
    },
  };
}
