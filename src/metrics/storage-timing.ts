// Wraps a storage driver so that every store operation's time is counted into a LatencyHistogram, labelled by
// store kind and method ("keyval.get", "archive.append"): a bounded set fixed by the store interfaces, never a
// user or store name. It sits under the store cache (server.ts), so it times what reaches the database.
import { performance } from "node:perf_hooks";
import type { StorageDriver, StoreKind, StoreKinds } from "../storage/types.js";
import { OpenedStores } from "../storage/opened-stores.js";
import type { LatencyHistogram } from "./latency-histogram.js";

const METHODS: { [K in StoreKind]: readonly (keyof StoreKinds[K] & string)[] } = {
  keyval: ["get", "set", "delete", "users"],
  map: ["get", "set", "delete", "getAll", "count", "deleteAll"],
  archive: ["append", "find", "count", "delete", "deleteOlderThan"],
};

export type StorageOperation = `${StoreKind}.${string}` | "deleteUser";

type AnyMethod = (...args: unknown[]) => Promise<unknown>;

function timed<T extends object>(store: T, kind: StoreKind, histogram: LatencyHistogram<StorageOperation>): T {
  // The store's own methods stay reachable through the prototype (a driver's extras pass through untimed);
  // the interface's methods are own properties of the wrapper, so a call costs no proxy trap.
  const wrapped = Object.create(store) as Record<string, unknown>;
  const methods = METHODS[kind] as readonly string[];
  for (const method of methods) {
    const fn = (store as Record<string, AnyMethod>)[method];
    if (typeof fn !== "function") continue;
    const label = `${kind}.${method}` as StorageOperation;
    wrapped[method] = (...args: unknown[]) => {
      const start = performance.now();
      const done = () => histogram.observe(label, (performance.now() - start) / 1000);
      const result = fn.apply(store, args);
      result.then(done, done);
      return result;
    };
  }
  return wrapped as T;
}

export function withStorageTiming(driver: StorageDriver, histogram: LatencyHistogram<StorageOperation>): StorageDriver {
  const opened = new OpenedStores(); // one wrapper per store, not one per open
  return {
    open<K extends StoreKind>(host: string, name: string, kind: K): StoreKinds[K] {
      return opened.get(host, name, kind, () => timed(driver.open(host, name, kind), kind, histogram));
    },
    async deleteUser(host, user) {
      const start = performance.now();
      try {
        await driver.deleteUser(host, user);
      } finally {
        histogram.observe("deleteUser", (performance.now() - start) / 1000);
      }
    },
    forgetUser: (host, user) => driver.forgetUser(host, user),
    close: () => driver.close(),
  };
}
