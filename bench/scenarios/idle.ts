// Idle: open `sessions` authenticated, bound sessions and read the server's resident memory
// (VmRSS) before and after, once it has settled; reports KiB per idle session. For a server with the bench's
// probe loaded (Natter, bench/loop-delay-probe.ts) also the same after a full garbage collection, the live JS
// heap and what is outside it: the first reading depends on where V8's old space is between two collections
// (after 10,000 fast logins it may hold ~10 KiB of their garbage per session, or none), the second does not.

import type { BenchClient } from "../client.js";
import { cpuSeconds, pool, rssKiB, sleep } from "../stats.js";
import type { HeapAfterGc } from "../loop-delay.js";
import { type Log, type Metric, type Target, loginUser } from "../target.js";

export interface IdleOptions {
  sessions: number;
  concurrency: number;
  presence: boolean;
  /** Seconds to wait before reading memory (lets a garbage collector finish). */
  settle: number;
}

/** Lowest RSS over a few readings a second apart: a collection in between counts, a spike doesn't. */
async function settledRss(pid: number, readings: number): Promise<number> {
  let low = rssKiB(pid);
  for (let i = 1; i < readings; i++) {
    await sleep(1000);
    low = Math.min(low, rssKiB(pid));
  }
  return low;
}

/** Wait until the server has used (almost) no CPU for a second, at most `limitSeconds`. */
async function quiet(pid: number, limitSeconds: number): Promise<void> {
  const until = performance.now() + limitSeconds * 1000;
  let before = cpuSeconds(pid);
  while (performance.now() < until) {
    await sleep(1000);
    const now = cpuSeconds(pid);
    if (now - before < 0.02) return;
    before = now;
  }
}

/** A full collection in the server (its bench probe), then its settled RSS; undefined without the probe. */
async function afterGc(target: Target, pid: number): Promise<{ heap: HeapAfterGc; rssKiB: number } | undefined> {
  if (!target.loopDelay) return undefined;
  const heap = await target.loopDelay.collectGarbage();
  // V8 gives the freed pages back to the system from a background thread just after the collection.
  await sleep(1000);
  return { heap, rssKiB: await settledRss(pid, 3) };
}

export async function runIdle(target: Target, opts: IdleOptions, log: Log): Promise<Metric[]> {
  const pid = target.pid;
  if (pid === undefined) {
    log("idle: no server pid given; skipped");
    return [];
  }
  // Warm up: a few logins so lazily loaded code and caches are in place before the baseline.
  const warm = await Promise.all(Array.from({ length: 10 }, (_, i) => loginUser(target, i + 1, opts.presence)));
  await Promise.all(warm.map((c) => c.close()));
  await quiet(pid, 10);
  const before = await settledRss(pid, 3);
  const gcBefore = await afterGc(target, pid);

  log(`idle: opening ${opts.sessions} sessions, ${opts.concurrency} at a time`);
  const clients: BenchClient[] = [];
  let failures = 0;
  let firstError = "";
  const t0 = performance.now();
  await pool(opts.sessions, opts.concurrency, async (i) => {
    try {
      clients.push(await loginUser(target, i + 1, opts.presence));
    } catch (err) {
      failures++;
      firstError ||= (err as Error).message;
    }
  });
  const openSeconds = (performance.now() - t0) / 1000;
  if (failures > 0) log(`idle: ${failures} sessions failed: ${firstError}`);
  log(`idle: ${clients.length} sessions open after ${openSeconds.toFixed(1)} s; settling ${opts.settle} s`);
  await sleep(opts.settle * 1000);
  await quiet(pid, 10);
  const after = await settledRss(pid, 5);
  const gcAfter = await afterGc(target, pid);
  const stillOpen = clients.filter((c) => c.open).length;
  if (stillOpen < clients.length) log(`idle: ${clients.length - stillOpen} sessions were closed by the server`);

  log("idle: closing sessions");
  await pool(clients.length, 500, (i) => (clients[i] as BenchClient).close());
  await quiet(pid, 10);

  const n = Math.max(1, stillOpen);
  const kib = (bytes: number) => bytes / 1024 / n;
  // After a full GC the heap still has the pages its collection did not compact (fragmentation): the live heap
  // plus what is outside the heap is what the sessions hold, the steadiest of these figures from run to run.
  const live = gcBefore && gcAfter ? kib(gcAfter.heap.heapUsed - gcBefore.heap.heapUsed) : 0;
  const outside =
    gcBefore && gcAfter
      ? (gcAfter.rssKiB - gcBefore.rssKiB) / n - kib(gcAfter.heap.heapTotal - gcBefore.heap.heapTotal)
      : 0;
  const gcMetrics: Metric[] =
    gcBefore && gcAfter
      ? [
          {
            key: "idle_held_kib",
            label: "held per idle session: live JS heap + outside the heap",
            value: live + outside,
            unit: "KiB",
            better: "lower",
          },
          {
            key: "idle_gc_kib_per_session",
            label: "server memory per idle session after a full GC",
            value: (gcAfter.rssKiB - gcBefore.rssKiB) / n,
            unit: "KiB",
            better: "lower",
          },
          {
            key: "idle_live_heap_kib",
            label: "live JS heap per idle session",
            value: live,
            unit: "KiB",
            better: "lower",
          },
          {
            key: "idle_heap_committed_kib",
            label: "JS heap committed per idle session after GC",
            value: kib(gcAfter.heap.heapTotal - gcBefore.heap.heapTotal),
            unit: "KiB",
            better: "info",
          },
          {
            key: "idle_outside_heap_kib",
            label: "memory outside the JS heap per idle session",
            value: outside,
            unit: "KiB",
            better: "info",
          },
          {
            key: "idle_external_kib",
            label: "of it, external (Buffers) per idle session",
            value: kib(gcAfter.heap.external - gcBefore.heap.external),
            unit: "KiB",
            better: "info",
          },
        ]
      : [];
  return [
    { key: "idle_sessions", label: "idle sessions held", value: stillOpen, unit: "", better: "higher" },
    {
      key: "idle_kib_per_session",
      label: "server memory per idle session",
      value: (after - before) / n,
      unit: "KiB",
      better: "lower",
    },
    {
      key: "idle_mib",
      label: "server memory for all sessions",
      value: (after - before) / 1024,
      unit: "MiB",
      better: "lower",
    },
    { key: "idle_rss_before_mib", label: "server RSS before", value: before / 1024, unit: "MiB", better: "info" },
    { key: "idle_rss_after_mib", label: "server RSS with sessions", value: after / 1024, unit: "MiB", better: "info" },
    ...gcMetrics,
  ];
}
