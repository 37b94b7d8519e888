// Durations counted into fixed buckets with plain arrays: an observation is a short loop and two additions, with
// no label hashing or allocation (prom-client's Histogram.observe does both). The registry reads the counts at
// scrape time (server-metrics.ts).

/** Upper bounds in seconds: a cached read is well under a millisecond, a group commit a few milliseconds. */
export const STORAGE_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] as const;

export interface LatencySeries {
  /** Observations at or below each bound of `buckets`, not cumulative (the last slot: above every bound). */
  readonly counts: number[];
  sum: number;
  count: number;
}

export class LatencyHistogram<L extends string> {
  private readonly series = new Map<L, LatencySeries>();

  constructor(readonly buckets: readonly number[] = STORAGE_BUCKETS) {}

  observe(label: L, seconds: number): void {
    let s = this.series.get(label);
    if (!s) {
      s = { counts: new Array<number>(this.buckets.length + 1).fill(0), sum: 0, count: 0 };
      this.series.set(label, s);
    }
    let i = 0;
    while (i < this.buckets.length && seconds > (this.buckets[i] as number)) i++;
    s.counts[i] = (s.counts[i] as number) + 1;
    s.sum += seconds;
    s.count++;
  }

  entries(): IterableIterator<[L, LatencySeries]> {
    return this.series.entries();
  }
}
