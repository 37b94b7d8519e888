// Wraps a storage driver so that the map and key-value stores the modules name hot
// (ModuleDefinition.cachedStores) are served from memory per user (cached-map-store.ts,
// cached-keyval-store.ts), one shared copy per host and store, within one budget of entries. Every other store
// goes straight to the driver. A budget of 0 turns the cache off.
//
// In a cluster every node keeps such copies of the same database, so the wrapper tells a listener
// (watchWrites, src/cluster/store-invalidation.ts) of every write to a cached store once it settled, and lets
// the cluster drop one store's copy of a user (forgetStore) or everything (forgetAll). Without a listener a
// write costs one optional call.
import { CachedKeyValueStore } from "./cached-keyval-store.js";
import { CachedMapStore } from "./cached-map-store.js";
import type { KeyValueStore, MapStore, StorageDriver, StoreKind, StoreKinds } from "./types.js";
import { EntryBudget } from "./user-cache.js";

export interface StoreCacheOptions {
  /** Names of the map and key-value stores to keep in memory. */
  stores: ReadonlySet<string>;
  /** Most entries (map items, key-value values) kept over all cached users and stores (`storage.cache_entries`). */
  maxEntries: number;
}

/**
 * Told after a write to a cached store settled (`store` is its name), and with `store` "*" after a user's data
 * was deleted or another process changed it (deleteUser, forgetUser).
 */
export type CacheWriteListener = (host: string, store: string, user: string) => void;

/** The driver with the cache's own controls (no-ops when the cache is off). */
export interface CachingStorageDriver extends StorageDriver {
  /** Sets the one write listener (a cluster's invalidation broadcast); returns the remover. */
  watchWrites(listener: CacheWriteListener): () => void;
  /** Drops one store's copy of a user (another node wrote it); "*" drops every store's. Tells no listener. */
  forgetStore(host: string, store: string, user: string): void;
  /** Drops every copy (a cluster node that may have missed invalidations). Tells no listener. */
  forgetAll(): void;
}

type CachedStore = CachedMapStore | CachedKeyValueStore;

export function withStoreCache(driver: StorageDriver, options: StoreCacheOptions): CachingStorageDriver {
  let listener: CacheWriteListener | undefined;
  const watchWrites = (l: CacheWriteListener) => {
    listener = l;
    return () => {
      if (listener === l) listener = undefined;
    };
  };
  if (options.maxEntries <= 0 || options.stores.size === 0) {
    // No copies kept: a cluster hears only of deleted accounts (the account provider's known accounts).
    return {
      open: (host, name, kind) => driver.open(host, name, kind),
      async deleteUser(host, user) {
        try {
          await driver.deleteUser(host, user);
        } finally {
          listener?.(host, "*", user);
        }
      },
      forgetUser(host, user) {
        driver.forgetUser(host, user);
        listener?.(host, "*", user);
      },
      close: () => driver.close(),
      watchWrites,
      forgetStore() {},
      forgetAll() {},
    };
  }
  const budget = new EntryBudget(options.maxEntries);
  const cached = new Map<string, CachedStore>(); // `${host}\0${name}\0${kind}`
  const ofHost = (host: string) => [...cached].filter(([k]) => k.startsWith(`${host}\0`)).map(([, store]) => store);
  const ofStore = (host: string, name: string) =>
    [...cached].filter(([k]) => k.startsWith(`${host}\0${name}\0`)).map(([, store]) => store);
  const forgetLocally = (host: string, user: string) => {
    for (const store of ofHost(host)) store.forgetUser(user);
  };

  return {
    open<K extends StoreKind>(host: string, name: string, kind: K): StoreKinds[K] {
      if (kind === "archive" || !options.stores.has(name)) return driver.open(host, name, kind);
      const key = `${host}\0${name}\0${kind}`;
      let store = cached.get(key);
      if (!store) {
        const written = (user: string) => listener?.(host, name, user);
        store =
          kind === "map"
            ? new CachedMapStore(driver.open(host, name, "map") as MapStore, budget, written)
            : new CachedKeyValueStore(driver.open(host, name, "keyval") as KeyValueStore, budget, written);
        cached.set(key, store);
      }
      return store as unknown as StoreKinds[K];
    },

    async deleteUser(host, user) {
      forgetLocally(host, user);
      try {
        await driver.deleteUser(host, user);
      } finally {
        forgetLocally(host, user);
        listener?.(host, "*", user);
      }
    },

    forgetUser(host, user) {
      forgetLocally(host, user);
      driver.forgetUser(host, user);
      listener?.(host, "*", user);
    },

    watchWrites,

    forgetStore(host, store, user) {
      if (store === "*") {
        forgetLocally(host, user);
        driver.forgetUser(host, user);
      } else for (const s of ofStore(host, store)) s.forgetUser(user);
    },

    forgetAll() {
      for (const store of cached.values()) store.forgetAll();
    },

    close: () => driver.close(),
  };
}
