// The stores a driver has opened, kept by host, name and kind, so that `open` is a map lookup after the first call.
// Callers open stores per use (a FAST login opens "fast-tokens" and "user-agents" each time): a SQL store built
// anew compiles its queries with Kysely again at its first run of each, which cost a login more than the reads.
// Bounded: store names are a fixed set in the code (no user data in them), times the configured hosts.
import type { StoreKind, StoreKinds } from "./types.js";

export class OpenedStores {
  private readonly stores = new Map<string, unknown>();

  /** The store opened before for (host, name, kind), or the one `make` opens now and is kept. */
  get<K extends StoreKind>(host: string, name: string, kind: K, make: () => StoreKinds[K]): StoreKinds[K] {
    const key = `${host}\0${name}\0${kind}`;
    let store = this.stores.get(key) as StoreKinds[K] | undefined;
    if (store === undefined) {
      store = make();
      this.stores.set(key, store);
    }
    return store;
  }
}
