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

/** A session's (or pre-authentication stream's) module state. */
export class SessionState {
  private readonly values = new Map<SessionStateKey<unknown>, unknown>();

  /** `onSharedChange` runs when a shared entry is set or deleted (a cluster node publishes the session's view). */
  constructor(private readonly onSharedChange?: () => void) {}

  get<T>(key: SessionStateKey<T>): T | undefined {
    return this.values.get(key) as T | undefined;
  }

  has(key: SessionStateKey<unknown>): boolean {
    return this.values.has(key);
  }

  set<T>(key: SessionStateKey<T>, value: T): void {
    this.values.set(key, value);
    if (key.shared) this.onSharedChange?.();
  }

  delete(key: SessionStateKey<unknown>): boolean {
    const deleted = this.values.delete(key);
    if (deleted && key.shared) this.onSharedChange?.();
    return deleted;
  }

  /** The shared entries, described, by key name: what a SessionView carries. */
  describeShared(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [key, value] of this.values) {
      if (key.shared) out[key.name] = key.describe ? key.describe(value) : value;
    }
    return out;
  }
}
