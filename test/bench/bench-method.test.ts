// The benchmark's method (bench/README.md): the table shows the median of each metric over the repeated runs,
// and a process started through onServerCore runs on the server core only.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { describe, it } from "node:test";
import { cpuPinning, onServerCore, SERVER_CORE } from "../../bench/cpu-pinning.js";
import { median, medianMetrics } from "../../bench/median-metrics.js";
import type { Metric } from "../../bench/target.js";

const rate = (value: number): Metric => ({
  key: "messages_per_s",
  label: "messages/s",
  value,
  unit: "/s",
  better: "higher",
});
const failedRun: Metric = {
  key: "messages_failed",
  label: "messages scenario FAILED",
  value: Number.NaN,
  unit: "",
  better: "info",
};

describe("bench medians", () => {
  it("takes the middle value, the mean of the middle two for an even count, and skips NaN", () => {
    assert.equal(median([30, 10, 20]), 20);
    assert.equal(median([40, 10, 30, 20]), 25);
    assert.equal(median([5, Number.NaN, 7]), 6);
    assert.ok(Number.isNaN(median([])));
  });

  it("reports each metric at its median over the runs, in first-seen order", () => {
    const p50 = (value: number): Metric => ({ key: "p50", label: "p50", value, unit: "ms", better: "lower" });
    const out = medianMetrics([
      [rate(50_000), p50(3)],
      [rate(10_000), p50(9)],
      [rate(48_000), p50(4)],
    ]);
    assert.deepEqual(
      out.map((m) => [m.key, m.value]),
      [
        ["messages_per_s", 48_000],
        ["p50", 4],
      ],
    );
  });

  it("keeps a failed run visible and takes the medians of the runs that succeeded", () => {
    const out = medianMetrics([[rate(40_000)], [failedRun], [rate(44_000)]]);
    assert.equal(out.find((m) => m.key === "messages_per_s")?.value, 42_000);
    assert.equal(out.find((m) => m.key === "messages_failed")?.label, "messages scenario FAILED in 1 of 3 runs");
  });
});

describe("bench CPU pinning", () => {
  it("starts server processes on the server core when pinning is on, unchanged otherwise", () => {
    const argv = ["sh", "-c", "grep Cpus_allowed_list /proc/self/status"];
    const pinned = onServerCore(argv);
    const out = execFileSync(pinned[0]!, pinned.slice(1), { encoding: "utf8" });
    const cores = /Cpus_allowed_list:\s*(\S+)/.exec(out)?.[1];
    if (cpuPinning().enabled) {
      assert.deepEqual(pinned.slice(0, 3), ["taskset", "-c", String(SERVER_CORE)]);
      assert.equal(cores, String(SERVER_CORE));
    } else {
      assert.deepEqual(pinned, argv);
      assert.match(cpuPinning().description, /^unpinned/);
    }
  });
});
