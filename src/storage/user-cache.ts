// What the in-memory copies of hot stores (store-cache.ts) share: one entry per user, least recently used
// dropped first within a budget shared by all copies, concurrent loads of one user joined, and a load that
// overlapped a write or a forget handed out once but not kept (a pooled database can answer a read that
// started before a write with the older data after the write is done).

/** The least recently used users are dropped once the entries of all cached users exceed the budget. */
export class EntryBudget {
  private used = 0;
  private readonly holders = new Set<UserCache<unknown>>();

  constructor(readonly maxEntries: number) {}

  register(cache: UserCache<unknown>): void {
    this.holders.add(cache);
  }

  add(n: number): void {
    this.used += n;
    if (this.used <= this.maxEntries) return;
    for (const cache of this.holders) {
      while (this.used > this.maxEntries && cache.evictOldest()) {}
      if (this.used <= this.maxEntries) return;
    }
  }

  sub(n: number): void {
    this.used -= n;
  }
}

export abstract class UserCache<V> {
  /** Cached users, least recently used first. */
  private readonly kept = new Map<string, V>();
  private readonly loading = new Map<string, Promise<V>>();
  /** Bumped before and after every write and by forget. */
  private readonly generation = new Map<string, number>();
  /** Writes in progress per user. */
  private readonly inFlight = new Map<string, number>();

  /**
   * `written` is told after each write to storage settled (committed or failed: either way another copy of the
   * user's data, on another cluster node, must be dropped); store-cache.ts passes it on to a cluster.
   */
  constructor(
    private readonly budget: EntryBudget,
    private readonly written?: (user: string) => void,
  ) {
    budget.register(this as UserCache<unknown>);
  }

  /** Reads the user's data from storage. */
  protected abstract load(user: string): Promise<V>;
  /** Entries the budget counts for a cached value. */
  protected abstract sizeOf(value: V): number;

  /** The user's cached value, or its load (joined with any load in progress). */
  protected cached(user: string): V | Promise<V> {
    const hit = this.kept.get(user);
    if (hit !== undefined) {
      this.kept.delete(user); // most recently used now
      this.kept.set(user, hit);
      return hit;
    }
    let pending = this.loading.get(user);
    if (!pending) {
      pending = this.loadAndKeep(user);
      this.loading.set(user, pending);
    }
    return pending;
  }

  /** The cached value without loading, to update it after a write. */
  protected peek(user: string): V | undefined {
    return this.kept.get(user);
  }

  /** Replaces a cached value (after a write), keeping the budget right. */
  protected replace(user: string, value: V): void {
    const old = this.kept.get(user);
    if (old === undefined) return;
    this.kept.set(user, value);
    this.budget.add(this.sizeOf(value) - this.sizeOf(old));
  }

  /** Runs a write to storage; loads overlapping it are not kept. */
  protected async writing<T>(user: string, write: () => Promise<T>): Promise<T> {
    this.bump(user);
    this.inFlight.set(user, (this.inFlight.get(user) ?? 0) + 1);
    try {
      return await write();
    } finally {
      const n = (this.inFlight.get(user) ?? 1) - 1;
      if (n === 0) this.inFlight.delete(user);
      else this.inFlight.set(user, n);
      this.bump(user);
      this.written?.(user);
    }
  }

  /** Drops the user's copy: the next read loads from storage. */
  forgetUser(user: string): void {
    this.bump(user);
    const old = this.kept.get(user);
    if (old === undefined) return;
    this.kept.delete(user);
    this.budget.sub(this.sizeOf(old));
  }

  /** Drops every user's copy (a cluster node that may have missed invalidations). */
  forgetAll(): void {
    for (const user of [...this.kept.keys()]) this.forgetUser(user);
    for (const user of this.loading.keys()) this.bump(user);
  }

  /** Drops the least recently used user; false when none is cached. */
  evictOldest(): boolean {
    const oldest = this.kept.keys().next();
    if (oldest.done) return false;
    this.forgetUser(oldest.value);
    return true;
  }

  private bump(user: string): void {
    this.generation.set(user, (this.generation.get(user) ?? 0) + 1);
  }

  private async loadAndKeep(user: string): Promise<V> {
    const generation = this.generation.get(user) ?? 0;
    try {
      const value = await this.load(user);
      if ((this.generation.get(user) ?? 0) === generation && !this.inFlight.has(user) && !this.kept.has(user)) {
        this.kept.set(user, value);
        this.budget.add(this.sizeOf(value));
        // Generations only matter while a user is cached, loading or written.
        if (this.generation.size > this.kept.size * 2 + 1024) {
          for (const u of this.generation.keys())
            if (!this.kept.has(u) && !this.loading.has(u) && !this.inFlight.has(u)) this.generation.delete(u);
        }
      }
      return value;
    } finally {
      this.loading.delete(user);
    }
  }
}
