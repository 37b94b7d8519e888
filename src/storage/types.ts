// The narrow store interfaces every module uses (DESIGN.md "Data and scale"). Modules never import a driver.
// Every store is scoped to one virtual host and one store name; `user` is a localpart ("" for host-wide data).
// Values are JSON-serialisable; XML is stored as its serialised string.

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A JSON value nobody may change: a cached store hands out the one parsed copy it keeps (getFrozen). */
export type FrozenJson =
  | null
  | boolean
  | number
  | string
  | readonly FrozenJson[]
  | { readonly [key: string]: FrozenJson };

/** One value per user: settings, credentials, a vCard. */
export interface KeyValueStore<T extends Json = Json> {
  get(user: string): Promise<T | undefined>;
  set(user: string, value: T): Promise<void>;
  delete(user: string): Promise<void>;
  /** Every user that has a value, sorted. */
  users(): Promise<string[]>;
}

/** Many keyed values per user: roster items, privacy lists, PEP nodes. */
export interface MapStore<T extends Json = Json> {
  get(user: string, key: string): Promise<T | undefined>;
  set(user: string, key: string, value: T): Promise<void>;
  delete(user: string, key: string): Promise<void>;
  /** All of one user's entries, sorted by key. */
  getAll(user: string): Promise<Map<string, T>>;
  /** How many entries one user has, without reading them (limits checked on every write). */
  count(user: string): Promise<number>;
  deleteAll(user: string): Promise<void>;
  /**
   * Whether `key` is among the user's entries, answered from memory without I/O when the store can (a cached
   * store holding that user); undefined when it cannot say without a read. For hot paths that must not await.
   */
  known?(user: string, key: string): boolean | undefined;
  /**
   * get and getAll for hot read-only paths (every probe and broadcast reads a roster): a cached store hands out
   * its own parsed copy, deep-frozen, instead of parsing the stored text at every read. Absent when uncached.
   */
  getFrozen?(user: string, key: string): Promise<FrozenJson | undefined>;
  getAllFrozen?(user: string): Promise<ReadonlyMap<string, FrozenJson>>;
}

export interface ArchiveItem<T extends Json = Json> {
  /** Unique, opaque, stable id (used as XEP-0359 stanza-id and RSM cursor). */
  id: string;
  /** Milliseconds since the epoch. */
  when: number;
  /** The other party (bare JID), for `with` filtering; "" when not applicable. */
  with: string;
  value: T;
}

export interface ArchiveQuery {
  start?: number; // inclusive, ms
  end?: number; // inclusive, ms
  with?: string;
  /** Items strictly after this id (in archive order). */
  after?: string;
  /** Items strictly before this id (in archive order). */
  before?: string;
  ids?: string[];
  /** At most this many items. */
  limit?: number;
  /** Newest first (RSM `<before/>` paging takes the last page). Results are still returned in the order asked. */
  reverse?: boolean;
}

/** Append-only, time-ordered items per user: offline messages, message archive. */
export interface ArchiveStore<T extends Json = Json> {
  /** Appends an item; `id` and `when` are assigned when not given. Returns the stored item's id. */
  append(user: string, item: { id?: string; when?: number; with?: string; value: T }): Promise<string>;
  find(user: string, query?: ArchiveQuery): Promise<ArchiveItem<T>[]>;
  count(user: string, query?: Omit<ArchiveQuery, "limit" | "reverse" | "after" | "before">): Promise<number>;
  /** Deletes matching items (all of the user's when no query); returns how many. */
  delete(user: string, query?: Omit<ArchiveQuery, "limit" | "reverse">): Promise<number>;
  /** Deletes items older than `when` across all users (retention); returns how many. */
  deleteOlderThan(when: number): Promise<number>;
}

export type StoreKind = "keyval" | "map" | "archive";

export interface StoreKinds {
  keyval: KeyValueStore;
  map: MapStore;
  archive: ArchiveStore;
}

/** A storage backend (sqlite, postgres, memory). */
export interface StorageDriver {
  /** Opens (creating if needed) the named store for a host. Cheap: may be called per module load. */
  open<K extends StoreKind>(host: string, name: string, kind: K): StoreKinds[K];
  /** Deletes every trace of a user in every store of a host (account deletion). */
  deleteUser(host: string, user: string): Promise<void>;
  /** Drops whatever the driver keeps in memory about a user, after another process changed its data (the CLI). */
  forgetUser(host: string, user: string): void;
  /** Flushes pending writes and closes. */
  close(): Promise<void>;
}
