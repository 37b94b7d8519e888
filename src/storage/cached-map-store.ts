// A map store kept in memory per user in front of the real one, for the few stores read on every presence
// (rosters: a probe answer and a broadcast each read the roster; PEP node configs: every available presence
// reaching an owner looks for last items to send). Writes go through to storage first, then to the copy.
//
// One instance serves every opener of the same host/store (store-cache.ts), so modules that share a store see
// each other's writes at once. Values are kept as JSON text and parsed on every read: callers may change
// what they get without changing the cache. A write to the same database from another process is not seen
// until forgetUser() (the CLI's account deletion goes through it) or eviction.
import { compareCodePoints } from "./code-point-order.js";
import type { Json, MapStore } from "./types.js";

/** The least recently used users are dropped once the entries of all cached users exceed the budget. */
export class EntryBudget {
  private used = 0;
  private readonly holders = new Map<CachedMapStore, true>();

  constructor(readonly maxEntries: number) {}

  register(store: CachedMapStore): void {
    this.holders.set(store, true);
  }

  add(n: number): void {
    this.used += n;
    if (this.used <= this.maxEntries) return;
    // Evict from each store's least recently used end in turn until under budget.
    for (const store of this.holders.keys()) {
      while (this.used > this.maxEntries && store.evictOldest()) {}
      if (this.used <= this.maxEntries) return;
    }
  }

  sub(n: number): void {
    this.used -= n;
  }

  get entries(): number {
    return this.used;
  }
}

type UserEntries = Map<string, string>;

export class CachedMapStore implements MapStore {
  /** Cached users, least recently used first. Values: key → JSON text, sorted by key as storage returns them. */
  private readonly users = new Map<string, UserEntries>();
  /** Loads in progress, shared by concurrent readers. */
  private readonly loading = new Map<string, Promise<UserEntries>>();
  /** Bumped before and after every write and by forget, so a load that overlapped a write is not installed. */
  private readonly generation = new Map<string, number>();
  /** Writes in progress per user. */
  private readonly inFlight = new Map<string, number>();

  constructor(
    private readonly backing: MapStore,
    private readonly budget: EntryBudget,
  ) {
    budget.register(this);
  }

  async get(user: string, key: string): Promise<Json | undefined> {
    const text = (await this.entries(user)).get(key);
    return text === undefined ? undefined : (JSON.parse(text) as Json);
  }

  async getAll(user: string): Promise<Map<string, Json>> {
    const out = new Map<string, Json>();
    for (const [key, text] of await this.entries(user)) out.set(key, JSON.parse(text) as Json);
    return out;
  }

  async count(user: string): Promise<number> {
    return (await this.entries(user)).size;
  }

  async set(user: string, key: string, value: Json): Promise<void> {
    await this.writing(user, () => this.backing.set(user, key, value));
    const cached = this.users.get(user);
    if (!cached) return;
    const text = JSON.stringify(value);
    if (cached.has(key)) {
      cached.set(key, text);
      return;
    }
    // Keep storage's key order (code point order) so getAll stays sorted.
    const sorted: UserEntries = new Map([...cached, [key, text] as [string, string]].sort(([a], [b]) => compareCodePoints(a, b)));
    this.users.set(user, sorted);
    this.budget.add(1);
  }

  async delete(user: string, key: string): Promise<void> {
    await this.writing(user, () => this.backing.delete(user, key));
    const cached = this.users.get(user);
    if (cached?.delete(key)) this.budget.sub(1);
  }

  async deleteAll(user: string): Promise<void> {
    this.forgetUser(user);
    await this.writing(user, () => this.backing.deleteAll(user));
    this.forgetUser(user);
  }

  /** Drops the user's copy: the next read loads from storage. */
  forgetUser(user: string): void {
    this.bump(user);
    const cached = this.users.get(user);
    if (!cached) return;
    this.users.delete(user);
    this.budget.sub(cached.size);
  }

  /** Drops the least recently used user; false when none is cached. */
  evictOldest(): boolean {
    const oldest = this.users.keys().next();
    if (oldest.done) return false;
    this.forgetUser(oldest.value);
    return true;
  }

  private async writing(user: string, write: () => Promise<void>): Promise<void> {
    this.bump(user);
    this.inFlight.set(user, (this.inFlight.get(user) ?? 0) + 1);
    try {
      await write();
    } finally {
      const n = (this.inFlight.get(user) ?? 1) - 1;
      if (n === 0) this.inFlight.delete(user);
      else this.inFlight.set(user, n);
      this.bump(user);
    }
  }

  private bump(user: string): void {
    this.generation.set(user, (this.generation.get(user) ?? 0) + 1);
  }

  private entries(user: string): UserEntries | Promise<UserEntries> {
    const cached = this.users.get(user);
    if (cached) {
      // Most recently used now.
      this.users.delete(user);
      this.users.set(user, cached);
      return cached;
    }
    let pending = this.loading.get(user);
    if (!pending) {
      pending = this.load(user);
      this.loading.set(user, pending);
    }
    return pending;
  }

  private async load(user: string): Promise<UserEntries> {
    const generation = this.generation.get(user) ?? 0;
    try {
      const stored = await this.backing.getAll(user);
      const entries: UserEntries = new Map();
      for (const [key, value] of stored) entries.set(key, JSON.stringify(value));
      // A write or forget while reading: this copy may be stale, so it is handed out once but not kept.
      if ((this.generation.get(user) ?? 0) === generation && !this.inFlight.has(user) && !this.users.has(user)) {
        this.users.set(user, entries);
        this.budget.add(entries.size);
        // Generations of users no longer cached or loading are not needed to detect races later.
        if (this.generation.size > this.users.size * 2 + 1024) this.pruneGenerations();
      }
      return entries;
    } finally {
      this.loading.delete(user);
    }
  }

  private pruneGenerations(): void {
    for (const user of this.generation.keys()) if (!this.users.has(user) && !this.loading.has(user) && !this.inFlight.has(user)) this.generation.delete(user);
  }
}
