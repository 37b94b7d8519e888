// Loaded into the Natter the bench starts (`NODE_OPTIONS=--import=<this file>`, bench/loop-delay.ts), so that
// its event-loop delay is measured from inside the server without changing the server. It samples the loop
// with perf_hooks.monitorEventLoopDelay (a 10 ms timer: the delay is how late each tick of it ran) and, on
// SIGUSR2, writes the p99, max and mean since the previous signal (or since start) to the file that
// NATTER_BENCH_LOOP_DELAY_FILE names, then starts a new window. Inert without that variable.
// On SIGURG (ignored by a Node process without this probe) it runs a full garbage collection and writes the
// process's memory after it to `<file>.heap`: the idle scenario's steady reading (what the sessions hold, not
// where V8's old space happens to be between two collections).

import { renameSync, writeFileSync } from "node:fs";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { getHeapSpaceStatistics, setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { isMainThread } from "node:worker_threads";

const file = process.env.NATTER_BENCH_LOOP_DELAY_FILE;
// Only the server's own process: whatever it starts (workers, child processes) inherits NODE_OPTIONS, not this.
delete process.env.NATTER_BENCH_LOOP_DELAY_FILE;

if (file !== undefined && file !== "" && isMainThread) {
  const RESOLUTION_MS = 10;
  const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  histogram.enable();
  let sequence = 0;
  // Node records the whole interval between two ticks of its timer (an idle loop reads ~10 ms at resolution 10):
  // the delay is what exceeds the timer's period.
  const ms = (ns: number) => Math.max(0, ns / 1e6 - RESOLUTION_MS);
  process.on("SIGUSR2", () => {
    sequence++;
    const sample = {
      sequence,
      p99_ms: ms(histogram.percentile(99)),
      max_ms: ms(histogram.max),
      mean_ms: ms(histogram.mean),
      samples: histogram.count,
    };
    histogram.reset();
    // Whole or not at all: the bench may read while this is written.
    writeFileSync(`${file}.tmp`, JSON.stringify(sample));
    renameSync(`${file}.tmp`, file);
  });

  // A gc() without starting the server with --expose-gc: the flag set now installs it in contexts made after.
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  let gcSequence = 0;
  process.on("SIGURG", () => {
    gc();
    const memory = process.memoryUsage();
    const spaces: Record<string, { committed: number; used: number }> = {};
    for (const s of getHeapSpaceStatistics())
      spaces[s.space_name] = { committed: s.space_size, used: s.space_used_size };
    writeFileSync(`${file}.heap.tmp`, JSON.stringify({ sequence: ++gcSequence, ...memory, spaces }));
    renameSync(`${file}.heap.tmp`, `${file}.heap`);
  });
}
