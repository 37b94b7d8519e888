// The last-activity module's record of when each user last logged out, and with what status (XEP-0012 §3):
// one key-value store per host, read here by the module and by administration (XEP-0133 §4.17 "last login").
import type { KeyValueStore, StorageDriver } from "../../storage/types.js";

export const LAST_LOG_STORE = "lastlog";

export interface LastLog {
  /** Milliseconds since the epoch of the logout (or unavailable presence). */
  time: number;
  status: string;
}

export async function readLastLog(store: KeyValueStore, user: string): Promise<LastLog | undefined> {
  const value = await store.get(user);
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const { time, status } = value;
  if (typeof time !== "number") return undefined;
  return { time, status: typeof status === "string" ? status : "" };
}

export function writeLastLog(store: KeyValueStore, user: string, log: LastLog): Promise<void> {
  return store.set(user, { time: log.time, status: log.status });
}

/** The store as administration opens it, without a module context. */
export function lastLogStore(storage: StorageDriver, host: string): KeyValueStore {
  return storage.open(host, LAST_LOG_STORE, "keyval");
}
