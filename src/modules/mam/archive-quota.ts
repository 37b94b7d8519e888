// The per-account message quota of user archives: past `max` messages the oldest go (XEP-0313 §3.2 lets a
// server expire messages, oldest first, never from the middle), so a sender cannot grow an account's archive
// without bound. The count of each account recently written to is kept in memory (bounded), so the hot path
// pays one storage count per account per cache life and a trim only when an account is over its quota.
import type { Logger } from "pino";
import { LruMap } from "../../core/lru-map.js";
import { createPerKeyQueue } from "../../core/per-key-queue.js";
import type { ArchiveStore } from "../../storage/types.js";

/** Accounts whose archive size is remembered; beyond it the least recently written are forgotten (re-counted). */
const COUNTS_KEPT = 50_000;

export class ArchiveQuota {
  private readonly counts = new LruMap<string, number>(COUNTS_KEPT);
  private readonly serial = createPerKeyQueue();

  constructor(
    private readonly store: ArchiveStore,
    /** Messages kept per account; 0: no quota. */
    private readonly max: number,
    private readonly log: Logger,
  ) {}

  /** Called once a message was appended to `user`'s archive: removes the oldest beyond the quota. */
  appended(user: string): Promise<void> {
    if (this.max === 0) return Promise.resolve();
    return this.serial(user, async () => {
      const known = this.counts.get(user);
      let n = known === undefined ? await this.store.count(user) : known + 1;
      if (n > this.max) {
        // Down to 1% below the quota, so that a full archive pays a trim per hundredth of its size, not per message.
        const oldest = await this.store.find(user, { limit: n - this.max + Math.floor(this.max / 100) });
        const removed = await this.store.delete(user, { ids: oldest.map((o) => o.id) });
        this.log.info({ user, removed, limit: this.max }, "message archive over its quota: oldest messages removed");
        n -= removed;
      }
      this.counts.set(user, n);
    });
  }

  /** Forgets every count (after deletions the quota does not see, such as retention). */
  forget(): void {
    this.counts.clear();
  }
}
