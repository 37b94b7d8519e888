// Store-cache invalidation between cluster nodes (docs/cluster.md "Caches"). Every node keeps in-memory copies
// of the hot stores per user (storage/store-cache.ts: rosters, pending subscriptions, PEP node configurations…)
// over the one shared database; a write through one node must make the others drop that user's copy, or a
// login there would read a stale roster. After each write to a cached store settles, the writing node
// broadcasts `{kind: "storage.forget", host, user, store}`; the others drop that store's copy of the user, so
// their next read goes to the database (which holds the write: the broadcast leaves after the commit). `store`
// "*" (an account deleted, or changed by another process) drops every store's copy and what the account
// provider remembers of the account. Broadcasts are at most once: after a resync (Redis was unreachable and
// some may have been missed) every copy goes.
import type { Logger } from "pino";
import type { AccountProvider } from "../auth/types.js";
import type { CachingStorageDriver } from "../storage/store-cache.js";
import type { ClusterBus } from "./types.js";

export const STORAGE_FORGET = "storage.forget";

export interface StoreInvalidationDeps {
  bus: Pick<ClusterBus, "broadcast" | "onBroadcast" | "onResync">;
  storage: CachingStorageDriver;
  accounts: Pick<AccountProvider, "forgetUser">;
  log: Logger;
}

/** Wires the cache to the bus; returns the remover (for the server's stop). */
export function attachStoreInvalidation({ bus, storage, accounts, log }: StoreInvalidationDeps): () => void {
  const unwatch = storage.watchWrites((host, store, user) =>
    bus.broadcast({ kind: STORAGE_FORGET, host, user, store }),
  );
  const offForget = bus.onBroadcast(STORAGE_FORGET, (message, from) => {
    const { host, user, store } = message;
    if (typeof host !== "string" || typeof user !== "string" || typeof store !== "string") {
      log.warn({ from, kind: message.kind }, "malformed cluster message ignored");
      return;
    }
    storage.forgetStore(host, store, user);
    if (store === "*") accounts.forgetUser(host, user);
  });
  const offResync = bus.onResync(() => {
    storage.forgetAll();
    log.info("store cache dropped after a cluster resync");
  });
  return () => {
    unwatch();
    offForget();
    offResync();
  };
}
