// Latency histogram (1% buckets, log scale) and small helpers shared by the scenarios.

import { readFileSync } from "node:fs";

const GROWTH = Math.log(1.01);
const MIN_US = 1;
const BUCKETS = 2000; // 1 µs × 1.01^2000 ≈ 440 s

/** Records durations in milliseconds with 1% precision; constant memory however many samples. */
export class Histogram {
  private readonly counts = new Uint32Array(BUCKETS);
  count = 0;
  max = 0;

  record(ms: number): void {
    const us = ms * 1000;
    const i = us <= MIN_US ? 0 : Math.min(BUCKETS - 1, Math.ceil(Math.log(us / MIN_US) / GROWTH));
    this.counts[i] = (this.counts[i] ?? 0) + 1;
    this.count++;
    if (ms > this.max) this.max = ms;
  }

  /** The q-quantile (0..1) in milliseconds (upper edge of its bucket); NaN when empty. */
  quantile(q: number): number {
    if (this.count === 0) return Number.NaN;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i] ?? 0;
      if (seen >= rank) return Math.min(this.max, (MIN_US * Math.exp(i * GROWTH)) / 1000);
    }
    return this.max;
  }
}

/** Run fn(0..count-1) with at most `concurrency` at a time; resolves when all have settled. */
export async function pool(count: number, concurrency: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      await fn(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Resident set size of a process in KiB (VmRSS in /proc/<pid>/status). */
export function rssKiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (m === null) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]);
}

/** CPU time (user + system) a process has used, in seconds, from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name (which may contain spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14, 15)
  return ticks / 100; // USER_HZ is 100 on Linux
}

/** CPU seconds this (load generator) process has used. */
export function ownCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}
