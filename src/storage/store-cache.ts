// Wraps a storage driver so that the map and key-value stores the modules name hot
// (ModuleDefinition.cachedStores) are served from memory per user (cached-map-store.ts,
// cached-keyval-store.ts), one shared copy per host and store, within one budget of entries. Every other store
// goes straight to the driver. A budget of 0 turns the cache off.
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

type CachedStore = CachedMapStore | CachedKeyValueStore;

export function withStoreCache(driver: StorageDriver, options: StoreCacheOptions): StorageDriver {
  if (options.maxEntries <= 0 || options.stores.size === 0) return driver;
  const budget = new EntryBudget(options.maxEntries);
  const cached = new Map<string, CachedStore>(); // `${host}\0${name}\0${kind}`
  const ofHost = (host: string) => [...cached].filter(([k]) => k.startsWith(`${host}\0`)).map(([, store]) => store);

  return {
    open<K extends StoreKind>(host: string, name: string, kind: K): StoreKinds[K] {
      if (kind === "archive" || !options.stores.has(name)) return driver.open(host, name, kind);
      const key = `${host}\0${name}\0${kind}`;
      let store = cached.get(key);
      if (!store) {
        store =
          kind === "map"
            ? new CachedMapStore(driver.open(host, name, "map") as MapStore, budget)
            : new CachedKeyValueStore(driver.open(host, name, "keyval") as KeyValueStore, budget);
        cached.set(key, store);
      }
      return store as unknown as StoreKinds[K];
    },

    async deleteUser(host, user) {
      for (const store of ofHost(host)) store.forgetUser(user);
      try {
        await driver.deleteUser(host, user);
      } finally {
        for (const store of ofHost(host)) store.forgetUser(user);
      }
    },

    forgetUser(host, user) {
      for (const store of ofHost(host)) store.forgetUser(user);
      driver.forgetUser(host, user);
    },

    close: () => driver.close(),
  };
}
