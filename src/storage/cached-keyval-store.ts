// A key-value store kept in memory per user in front of the real one (see cached-map-store.ts for why and
// how): for values read on every presence, such as the vCard avatar hash stamped on each broadcast. Absence
// is kept too. Values are kept as JSON text and parsed on every read.
import type { Json, KeyValueStore } from "./types.js";
import { type EntryBudget, UserCache } from "./user-cache.js";

/** JSON text, or null for no value. */
type Stored = string | null;

export class CachedKeyValueStore extends UserCache<Stored> implements KeyValueStore {
  constructor(
    private readonly backing: KeyValueStore,
    budget: EntryBudget,
    written?: (user: string) => void,
  ) {
    super(budget, written);
  }

  protected async load(user: string): Promise<Stored> {
    const value = await this.backing.get(user);
    return value === undefined ? null : JSON.stringify(value);
  }

  protected sizeOf(): number {
    return 1;
  }

  async get(user: string): Promise<Json | undefined> {
    const text = await this.cached(user);
    return text === null ? undefined : (JSON.parse(text) as Json);
  }

  async set(user: string, value: Json): Promise<void> {
    await this.writing(user, () => this.backing.set(user, value));
    this.replace(user, JSON.stringify(value));
  }

  async delete(user: string): Promise<void> {
    await this.writing(user, () => this.backing.delete(user));
    this.replace(user, null);
  }

  users(): Promise<string[]> {
    return this.backing.users();
  }
}
