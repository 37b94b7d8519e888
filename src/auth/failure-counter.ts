// Failure counts per key that leak away at a steady rate (a leaky bucket): `threshold` failures per `window`
// leak out, so a key that reached the threshold gets one more try each window/threshold seconds, as a sliding
// window would give, but in constant memory per key (a number and a time, not one timestamp per failure).
// The number of keys is capped; the least recently failing are forgotten first. No timer: expired keys are
// swept a few at a time on each write, so this never keeps the process alive.

export interface FailureCount {
  /** Failures still counted (whole failures: a partly leaked one still counts). */
  failures: number;
  /** Throttle level last reported for this key in the current episode (see `raise`). */
  level: number;
}

interface Entry {
  count: number;
  at: number;
  level: number;
}

export class FailureCounter {
  private readonly entries = new Map<string, Entry>();
  /** Failures leaked per millisecond. */
  private readonly rate: number;

  /**
   * `threshold` failures leak out per `windowSeconds`. A key counts at most `cap` failures (default: the
   * threshold), so that a key stops being counted at most one window after its last failure.
   */
  constructor(
    threshold: number,
    windowSeconds: number,
    private readonly maxEntries: number,
    private readonly cap = threshold,
  ) {
    if (!(threshold > 0) || !(windowSeconds > 0)) throw new RangeError("threshold and window must be positive");
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) throw new RangeError(`invalid maxEntries ${maxEntries}`);
    this.rate = threshold / (windowSeconds * 1000);
  }

  get size(): number {
    return this.entries.size;
  }

  /** Whole failures still counted for `key` (0 when unknown). */
  failures(key: string, now: number): number {
    const entry = this.current(key, now);
    return entry === undefined ? 0 : Math.ceil(entry.count - 1e-9);
  }

  /** Milliseconds until fewer than `limit` whole failures are counted for `key` (0 when that is already so). */
  retryAfterMs(key: string, now: number, limit: number): number {
    const entry = this.current(key, now);
    if (entry === undefined || Math.ceil(entry.count - 1e-9) < limit) return 0;
    return Math.ceil((entry.count - (limit - 1)) / this.rate);
  }

  /** Counts one failure; returns the key's state after it. */
  record(key: string, now: number): FailureCount {
    const entry = this.current(key, now) ?? { count: 0, at: now, level: 0 };
    entry.count = Math.min(entry.count + 1, this.cap);
    entry.at = now;
    this.entries.delete(key); // re-insert: the Map's order is least recently failing first
    this.entries.set(key, entry);
    this.sweep(now);
    return { failures: Math.ceil(entry.count - 1e-9), level: entry.level };
  }

  /**
   * Marks the key as having reached `level` in this episode; true when that is higher than before, so that a
   * caller logs once per episode and level, not once per attempt. An episode ends when every failure leaked out.
   */
  raise(key: string, level: number): boolean {
    const entry = this.entries.get(key);
    if (entry === undefined || entry.level >= level) return false;
    entry.level = level;
    return true;
  }

  /** Takes back one failure (an attempt counted in advance that turned out not to be a wrong password). */
  refund(key: string, now: number): void {
    const entry = this.current(key, now);
    if (entry === undefined) return;
    entry.count -= 1;
    if (entry.count <= 1e-9) this.entries.delete(key);
  }

  clear(key: string): void {
    this.entries.delete(key);
  }

  /** The key's entry with leakage applied up to `now`; forgets the key once everything leaked out. */
  private current(key: string, now: number): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    const count = entry.count - Math.max(0, now - entry.at) * this.rate;
    if (count <= 1e-9) {
      this.entries.delete(key);
      return undefined;
    }
    entry.count = count;
    entry.at = Math.max(entry.at, now);
    return entry;
  }

  /** Drops a couple of leaked-out entries from the old end, then enforces the size cap. */
  private sweep(now: number): void {
    let checked = 0;
    for (const key of this.entries.keys()) {
      if (checked++ >= 2) break;
      this.current(key, now);
    }
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }
}
