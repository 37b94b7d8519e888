// What a cluster node runs besides routing (issue 16): the store-cache invalidation between nodes and the
// cluster-wide admin questions, over the server's bus. The server builds it only when `cluster.redis_url` is set;
// MUC placement reaches the bus through ctx.cluster.
import { ClusterAdmin, type LocalAdmin } from "./cluster-admin.js";
import type { RedisClusterBus } from "./redis-bus.js";
import { attachStoreInvalidation, type StoreInvalidationDeps } from "./store-invalidation.js";
import type { Config } from "../core/config/index.js";

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
