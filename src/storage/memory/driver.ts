import type { StorageDriver, StoreKind, StoreKinds } from "../types.js";
import { memoryArchiveStore, type UserArchive } from "./archive-store.js";
import { memoryKeyValueStore } from "./keyval-store.js";
import { memoryMapStore } from "./map-store.js";
import { ScopeTable } from "./scopes.js";

/** A storage driver that keeps everything in process memory: for unit tests, lost on exit. */
export function createMemoryDriver(): StorageDriver {
  const keyval = new ScopeTable<string>();
  const map = new ScopeTable<Map<string, string>>();
  const archive = new ScopeTable<UserArchive>();
  let lastSeq = 0;
  const seq = { next: () => ++lastSeq };

  return {
    open<K extends StoreKind>(host: string, name: string, kind: K): StoreKinds[K] {
      // Each call builds a thin view over the shared tables: two opens of one store see the same data.
      const stores: { [Kind in StoreKind]: () => StoreKinds[Kind] } = {
        keyval: () => memoryKeyValueStore(keyval.get(host, name)),
        map: () => memoryMapStore(map.get(host, name)),
        archive: () => memoryArchiveStore(archive.get(host, name), seq),
      };
      return stores[kind]();
    },

    async deleteUser(host, user) {
      for (const scope of keyval.ofHost(host)) scope.users.delete(user);
      for (const scope of map.ofHost(host)) scope.users.delete(user);
      for (const scope of archive.ofHost(host)) scope.users.delete(user);
    },

    forgetUser() {}, // nothing is kept in memory

    async close() {},
  };
}
