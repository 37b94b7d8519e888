// The bench's side of bench/loop-delay-probe.ts: how to load the probe into a Node server, and how to read the
// server's event-loop delay over a window (a SIGUSR2 ends the previous window and starts the next).

import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { sleep } from "./stats.js";

/** The event loop's delay over one window, in ms. */
export interface LoopDelay {
  p99: number;
  max: number;
  mean: number;
  /** How many 10 ms ticks were sampled. */
  samples: number;
}

/** The server's memory right after a full garbage collection (bytes), V8's heap spaces apart. */
export interface HeapAfterGc {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  spaces: Record<string, { committed: number; used: number }>;
}

export interface LoopDelayProbe {
  /** Ends the current window: its figures, and a new window starts. */
  sample(): Promise<LoopDelay>;
  /** Runs a full garbage collection in the server (SIGURG) and returns its memory after it. */
  collectGarbage(): Promise<HeapAfterGc>;
}

const here = dirname(fileURLToPath(import.meta.url));

/**
 * Environment that loads the probe into a Node process (and only it: the probe drops the variable for whatever
 * the process starts); undefined when the probe is not built (running from sources: the .ts would need tsx).
 */
export function loopDelayEnv(file: string): Record<string, string> | undefined {
  const probe = join(here, "loop-delay-probe.js");
  if (!existsSync(probe)) return undefined;
  const options = [process.env.NODE_OPTIONS, `--import=${pathToFileURL(probe).href}`].filter(Boolean).join(" ");
  return { NODE_OPTIONS: options, NATTER_BENCH_LOOP_DELAY_FILE: file };
}

/** Reads the probe in process `pid` that writes to `file`. */
export function loopDelayProbe(pid: number, file: string): LoopDelayProbe {
  let seen = 0;
  let gcSeen = 0;
  return {
    async collectGarbage() {
      process.kill(pid, "SIGURG");
      // A full collection of a few hundred MiB takes a second or so on a shared core.
      const until = performance.now() + 30_000;
      while (performance.now() < until) {
        try {
          const s = JSON.parse(readFileSync(`${file}.heap`, "utf8")) as HeapAfterGc & { sequence: number };
          if (s.sequence > gcSeen) {
            gcSeen = s.sequence;
            return s;
          }
        } catch {
          // not written yet
        }
        await sleep(20);
      }
      throw new Error(`no heap figures from pid ${pid} in ${file}.heap within 30 s`);
    },
    async sample() {
      process.kill(pid, "SIGUSR2");
      const until = performance.now() + 5000;
      while (performance.now() < until) {
        try {
          const s = JSON.parse(readFileSync(file, "utf8")) as {
            sequence: number;
            p99_ms: number;
            max_ms: number;
            mean_ms: number;
            samples: number;
          };
          if (s.sequence > seen) {
            seen = s.sequence;
            return { p99: s.p99_ms, max: s.max_ms, mean: s.mean_ms, samples: s.samples };
          }
        } catch {
          // not written yet
        }
        await sleep(5);
      }
      throw new Error(
        `no event-loop delay from pid ${pid} in ${file} within 5 s (is bench/loop-delay-probe.js loaded?)`,
      );
    },
  };
}
