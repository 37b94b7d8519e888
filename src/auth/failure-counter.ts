// Failure counts per key that leak away at a steady rate (a leaky bucket): `threshold` failures per `window`
// leak out, so a key that reached the threshold gets one more try each window/threshold seconds, as a sliding
// window would give, but in constant memory per key (a number and a time, not one timestamp per failure).
// The number of keys is capped with two generations of maps: a failure puts its key in the young one; when
// that holds half the cap, it becomes the old one and the previous old one (keys that have not failed since)
// is dropped. Every operation is O(1): evicting from the front of one Map, the usual LRU, makes V8 scan the
// holes deleted keys leave (~90 µs an operation at 100 000 keys, measured), which a spray of addresses would
// turn into CPU load. No timer, so this never keeps the process alive.

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
  private young = new Map<string, Entry>();
  private old = new Map<string, Entry>();
  /** Failures leaked per millisecond. */
  private readonly rate: number;
  private readonly generationSize: number;

  /**
   * `threshold` failures leak out per `windowSeconds`. A key counts at most `cap` failures (default: the
   * threshold), so that a key stops being counted at most one window after its last failure.
   */
  constructor(
    threshold: number,
    windowSeconds: number,
    maxEntries: number,
    private readonly cap = threshold,
  ) {
    if (!(threshold > 0) || !(windowSeconds > 0)) throw new RangeError("threshold and window must be positive");
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 2) throw new RangeError(`invalid maxEntries ${maxEntries}`);
    this.rate = threshold / (windowSeconds * 1000);
    this.generationSize = Math.floor(maxEntries / 2);
  }

  /** Keys remembered (at most maxEntries). */
  get size(): number {
    return this.young.size + this.old.size;
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
    if (!this.young.has(key)) {
      this.old.delete(key);
      this.young.set(key, entry);
      if (this.young.size >= this.generationSize) {
        this.old = this.young;
        this.young = new Map();
      }
    }
    return { failures: Math.ceil(entry.count - 1e-9), level: entry.level };
  }

  /**
   * Marks the key as having reached `level` in this episode; true when that is higher than before, so that a
   * caller logs once per episode and level, not once per attempt. An episode ends when every failure leaked out.
   */
  raise(key: string, level: number): boolean {
    const entry = this.young.get(key) ?? this.old.get(key);
    if (entry === undefined || entry.level >= level) return false;
    entry.level = level;
    return true;
  }

  /** Takes back one failure (an attempt counted in advance that turned out not to be a wrong password). */
  refund(key: string, now: number): void {
    const entry = this.current(key, now);
    if (entry === undefined) return;
    entry.count -= 1;
    if (entry.count <= 1e-9) this.clear(key);
  }

  clear(key: string): void {
    this.young.delete(key);
    this.old.delete(key);
  }

  /** The key's entry with leakage applied up to `now`; forgets the key once everything leaked out. */
  private current(key: string, now: number): Entry | undefined {
    const entry = this.young.get(key) ?? this.old.get(key);
    if (entry === undefined) return undefined;
    const count = entry.count - Math.max(0, now - entry.at) * this.rate;
    if (count <= 1e-9) {
      this.clear(key);
      return undefined;
    }
    entry.count = count;
    entry.at = Math.max(entry.at, now);
    return entry;
  }
}
