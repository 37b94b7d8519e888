// A map store kept in memory per user in front of the real one, for the few stores read on every presence
// (rosters: a probe answer and a broadcast each read the roster; PEP node configs: every available presence
// reaching an owner looks for last items to send). Writes go through to storage first, then to the copy.
//
// One instance serves every opener of the same host/store (store-cache.ts), so modules that share a store see
// each other's writes at once. Values are kept as JSON text and parsed on every read: callers may change
// what they get without changing the cache; the read-only getFrozen/getAllFrozen hand out one parsed, frozen
// copy per entry instead, for the hot paths that would otherwise parse the same text at every probe. A write to
// the same database from another process is not seen until forgetUser() (the CLI's account deletion goes
// through it) or eviction.
import { compareCodePoints } from "./code-point-order.js";
import type { FrozenJson, Json, MapStore } from "./types.js";
import { type EntryBudget, UserCache } from "./user-cache.js";

/** key → JSON text, in storage's key order (code point order). */
type UserEntries = Map<string, string>;

/** Recursively frozen in place. */
function deepFreeze(value: Json): FrozenJson {
  if (typeof value === "object" && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/**
 * What a user without entries is kept as, shared (most accounts have no pending subscriptions, many no roster
 * or PEP node): an empty Map of its own cost an idle session ~250 bytes per store (issue 13). Never written to:
 * set() of a new key and delete() replace the user's map instead of changing it.
 */
const NO_ENTRIES: UserEntries = new Map();

export class CachedMapStore extends UserCache<UserEntries> implements MapStore {
  /** Parsed, frozen copies of a user's entries, made at the first read-only read of the entries map they are of. */
  private readonly frozen = new WeakMap<UserEntries, Map<string, FrozenJson>>();

  constructor(
    private readonly backing: MapStore,
    budget: EntryBudget,
    written?: (user: string) => void,
  ) {
    super(budget, written);
  }

  protected async load(user: string): Promise<UserEntries> {
    const entries: UserEntries = new Map();
    for (const [key, value] of await this.backing.getAll(user)) entries.set(key, JSON.stringify(value));
    return entries.size === 0 ? NO_ENTRIES : entries;
  }

  protected sizeOf(entries: UserEntries): number {
    return Math.max(1, entries.size);
  }

  async get(user: string, key: string): Promise<Json | undefined> {
    const text = (await this.cached(user)).get(key);
    return text === undefined ? undefined : (JSON.parse(text) as Json);
  }

  known(user: string, key: string): boolean | undefined {
    return this.peek(user)?.has(key);
  }

  async getAll(user: string): Promise<Map<string, Json>> {
    const out = new Map<string, Json>();
    for (const [key, text] of await this.cached(user)) out.set(key, JSON.parse(text) as Json);
    return out;
  }

  async getFrozen(user: string, key: string): Promise<FrozenJson | undefined> {
    return this.frozenEntry(await this.cached(user), key);
  }

  async getAllFrozen(user: string): Promise<ReadonlyMap<string, FrozenJson>> {
    const entries = await this.cached(user);
    const out = new Map<string, FrozenJson>();
    for (const key of entries.keys()) out.set(key, this.frozenEntry(entries, key) as FrozenJson);
    return out;
  }

  private frozenEntry(entries: UserEntries, key: string): FrozenJson | undefined {
    let values = this.frozen.get(entries);
    if (values === undefined) {
      values = new Map();
      this.frozen.set(entries, values);
    }
    let value = values.get(key);
    if (value === undefined) {
      const text = entries.get(key);
      if (text === undefined) return undefined;
      value = deepFreeze(JSON.parse(text) as Json);
      values.set(key, value);
    }
    return value;
  }

  async count(user: string): Promise<number> {
    return (await this.cached(user)).size;
  }

  async set(user: string, key: string, value: Json): Promise<void> {
    await this.writing(user, () => this.backing.set(user, key, value));
    const entries = this.peek(user);
    if (!entries) return;
    const text = JSON.stringify(value);
    if (entries.has(key)) {
      entries.set(key, text);
      this.frozen.get(entries)?.delete(key);
    } else
      this.replace(
        user,
        new Map([...entries, [key, text] as [string, string]].sort(([a], [b]) => compareCodePoints(a, b))),
      );
  }

  async delete(user: string, key: string): Promise<void> {
    await this.writing(user, () => this.backing.delete(user, key));
    const entries = this.peek(user);
    if (entries?.has(key)) {
      const rest = new Map(entries);
      rest.delete(key);
      this.replace(user, rest);
    }
  }

  async deleteAll(user: string): Promise<void> {
    this.forgetUser(user);
    await this.writing(user, () => this.backing.deleteAll(user));
    this.forgetUser(user);
  }
}
