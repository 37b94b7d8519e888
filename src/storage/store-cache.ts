// Wraps a storage driver so that the map stores named hot by the modules (ModuleDefinition.cachedStores) are
// served from memory per user (cached-map-store.ts), one shared copy per host and store, within one budget of
// entries. Every other store goes straight to the driver. A budget of 0 turns the cache off.
import { CachedMapStore, EntryBudget } from "./cached-map-store.js";
import type { MapStore, StorageDriver, StoreKind, StoreKinds } from "./types.js";

export interface StoreCacheOptions {
  /** Names of the map stores to keep in memory. */
  mapStores: ReadonlySet<string>;
  /** Most entries (map items) kept over all cached users and stores (`storage.cache_entries`). */
  maxEntries: number;
}

export function withStoreCache(driver: StorageDriver, options: StoreCacheOptions): StorageDriver {
  if (options.maxEntries <= 0 || options.mapStores.size === 0) return driver;
  const budget = new EntryBudget(options.maxEntries);
  const cached = new Map<string, CachedMapStore>(); // `${host}\0${name}`
  const ofHost = (host: string) => [...cached].filter(([k]) => k.startsWith(`${host}\0`)).map(([, store]) => store);

  return {
    open<K extends StoreKind>(host: string, name: string, kind: K): StoreKinds[K] {
      if (kind !== "map" || !options.mapStores.has(name)) return driver.open(host, name, kind);
      const key = `${host}\0${name}`;
      let store = cached.get(key);
      if (!store) {
        store = new CachedMapStore(driver.open(host, name, "map") as MapStore, budget);
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
