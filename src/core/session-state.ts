// Typed per-session state owned by modules (DESIGN.md "The session registry is an interface"). A module
// declares each thing it keeps on a session once, with defineSessionState, and says whether another cluster
// node must know it (`shared`: caps, CSI, carbons, …: what decides how a stanza for that session is routed
// or what the session is sent) or it stays with the node that holds the connection (parser state, queues,
// per-stream bookkeeping). describeSession (session-view.ts) gathers the shared entries.

/** A declared key: `session.state.get(key)` is typed by it. Compare keys by identity, never by name. */
export interface SessionStateKey<T> {
  /** Unique per kind of state (module name, dot, what): names the entry in a SessionView. */
  readonly name: string;
  /** A remote node must know it (part of the session's SessionView). */
  readonly shared: boolean;
  /** For shared state: the plain data a remote node holds (no promises, functions or sockets). Default: the value. */
  describe?(value: T): unknown;
  /** Never set: carries T for the type checker. */
  readonly _type?: T;
}

export interface SessionStateOptions<T> {
  shared: boolean;
  describe?: (value: T) => unknown;
}

export function defineSessionState<T>(name: string, options: SessionStateOptions<T>): SessionStateKey<T> {
  const key: SessionStateKey<T> = { name, shared: options.shared };
  if (options.describe) key.describe = options.describe;
  return Object.freeze(key);
}

/** Told when a shared entry is set or deleted (a cluster node publishes the session's view). */
export interface SharedStateOwner {
  sharedStateChanged(): void;
}

const NO_ENTRIES: readonly unknown[] = [];

/** A session's (or pre-authentication stream's) module state. */
export class SessionState {
  /**
   * Keys and values interleaved (key, value, key, value, …), replaced by an exact-size copy on each new key: a
   * session holds a handful of entries, set at login and read per stanza, and a Map's smallest table (with its
   * Map object) cost an idle session about 180 bytes more than this array (issue 13). Looked up by identity.
   */
  private entries: readonly unknown[] = NO_ENTRIES;

  /** `owner` is told when a shared entry is set or deleted (an object, not a closure: one less per session). */
  constructor(private readonly owner?: SharedStateOwner) {}

  private indexOf(key: SessionStateKey<unknown>): number {
    const entries = this.entries;
    for (let i = 0; i < entries.length; i += 2) if (entries[i] === key) return i;
    return -1;
  }

  get<T>(key: SessionStateKey<T>): T | undefined {
    const i = this.indexOf(key);
    return i < 0 ? undefined : (this.entries[i + 1] as T);
  }

  has(key: SessionStateKey<unknown>): boolean {
    return this.indexOf(key) >= 0;
  }

  set<T>(key: SessionStateKey<T>, value: T): void {
    const i = this.indexOf(key);
    if (i >= 0) (this.entries as unknown[])[i + 1] = value;
    else this.entries = this.entries.concat([key, value]);
    if (key.shared) this.owner?.sharedStateChanged();
  }

  delete(key: SessionStateKey<unknown>): boolean {
    const i = this.indexOf(key);
    if (i < 0) return false;
    this.entries = this.entries.length === 2 ? NO_ENTRIES : this.entries.slice(0, i).concat(this.entries.slice(i + 2));
    if (key.shared) this.owner?.sharedStateChanged();
    return true;
  }

  /** The shared entries, described, by key name: what a SessionView carries. */
  describeShared(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const entries = this.entries;
    for (let i = 0; i < entries.length; i += 2) {
      const key = entries[i] as SessionStateKey<unknown>;
      const value = entries[i + 1];
      if (key.shared) out[key.name] = key.describe ? key.describe(value) : value;
    }
    return out;
  }
}
