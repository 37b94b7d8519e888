// The `store` part of a module context for one host, over the storage the CLI opened: sections build the
// modules' own store classes (RosterStore…) on it, so the data format stays the module's.
import type { StorageDriver, StoreKind, StoreKinds } from "../storage/types.js";

export interface HostStores {
  store<K extends StoreKind>(name: string, kind: K): StoreKinds[K];
}

export function hostStores(storage: StorageDriver, host: string): HostStores {
  return { store: (name, kind) => storage.open(host, name, kind) };
}

/** A SectionChanges with nothing counted yet. */
export function noChanges(): { added: number; changed: number; unchanged: number; warnings: string[] } {
  return { added: 0, changed: 0, unchanged: 0, warnings: [] };
}
