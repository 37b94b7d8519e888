// The figure a repeated scenario reports: per metric, the median of its runs (`--repeat`, default 3), each run on a
// freshly started server. The median rather than the mean: one run disturbed by other work on the machine moves
// a mean but not a median of three.

import type { Metric } from "./target.js";

/** Median of the numbers that are not NaN (mean of the middle two for an even count); NaN when there are none. */
export function median(values: number[]): number {
  const sorted = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * One metric per key, in first-seen order, valued at the median of the runs that reported it. A failed run
 * reports only `<scenario>_failed`: that row stays, labelled with how many runs failed, and the other rows are
 * the medians of the runs that succeeded.
 */
export function medianMetrics(runs: Metric[][]): Metric[] {
  const byKey = new Map<string, Metric[]>();
  for (const run of runs) {
    for (const m of run) {
      const seen = byKey.get(m.key);
      if (seen) seen.push(m);
      else byKey.set(m.key, [m]);
    }
  }
  return [...byKey.values()].map((ms) => {
    const first = ms[0]!;
    if (first.key.endsWith("_failed"))
      return { ...first, label: `${first.label} in ${ms.length} of ${runs.length} runs` };
    return { ...first, value: median(ms.map((m) => m.value)) };
  });
}
