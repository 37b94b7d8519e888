// Where benchmark processes run. The team's rule for figures: every server under test on the same single
// core (`taskset -c 0`), the load generator on the others, so that servers compete with neither the load
// generator nor each other's leftovers and figures from one run can be compared. One decision per process,
// shared by every bench entry point (run.ts, preauth-memory.ts) and by servers.ts, which starts the servers.

import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus } from "node:os";

export interface CpuPinning {
  /** Whether servers go on SERVER_CORE and the load generator on `loadCores`. */
  enabled: boolean;
  /** taskset's list for the load generator, e.g. "1" or "1-3"; "" when pinning is off. */
  loadCores: string;
  /** One line for headers and logs. */
  description: string;
}

export const SERVER_CORE = 0;

let decided: CpuPinning | undefined;

function tasksetAccepts(list: string): boolean {
  try {
    execFileSync("taskset", ["-c", list, "true"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/**
 * Pinning is on when taskset exists and there are at least two cores, core 0 for the servers and the rest for
 * the load generator (`taskset -c` also fails when a cpuset keeps us off one of them); otherwise off, with the
 * reason in the description.
 */
export function cpuPinning(): CpuPinning {
  if (decided) return decided;
  const count = cpus().length;
  const loadCores = count === 2 ? "1" : `1-${count - 1}`;
  if (count < 2) {
    decided = {
      enabled: false,
      loadCores: "",
      description: `unpinned (${count} core: nothing to keep the load generator apart on)`,
    };
  } else if (!tasksetAccepts(String(SERVER_CORE)) || !tasksetAccepts(loadCores)) {
    decided = {
      enabled: false,
      loadCores: "",
      description: `unpinned (taskset missing, or it refused core ${SERVER_CORE} or ${loadCores})`,
    };
  } else {
    decided = {
      enabled: true,
      loadCores,
      description: `servers pinned to core ${SERVER_CORE} (taskset -c ${SERVER_CORE}), load generator to core${count === 2 ? "" : "s"} ${loadCores}`,
    };
  }
  return decided;
}

/** `argv` prefixed so that the process it starts, and everything that process spawns, runs on the server core. */
export function onServerCore(argv: string[]): string[] {
  return cpuPinning().enabled ? ["taskset", "-c", String(SERVER_CORE), ...argv] : argv;
}

/**
 * Move this process (every thread it has: `-a`; threads it starts later inherit the main thread's mask, and
 * so do children, which the servers' taskset then overrides) to the load generator's cores.
 * Returns the description, or a warning when pinning is off.
 */
export function pinLoadGenerator(): string {
  const pinning = cpuPinning();
  if (!pinning.enabled) return `warning: ${pinning.description}: figures are not comparable with pinned runs`;
  execFileSync("taskset", ["-a", "-p", "-c", pinning.loadCores, String(process.pid)], { stdio: "ignore" });
  return pinning.description;
}

/** The cores a running process may use (`Cpus_allowed_list` in /proc/<pid>/status), for the logs. */
export function allowedCores(pid: number): string {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    return /^Cpus_allowed_list:\s*(\S+)/m.exec(status)?.[1] ?? "?";
  } catch {
    return "?";
  }
}
