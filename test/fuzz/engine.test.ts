// The fuzzer's engine (fuzz/engine): coverage feedback from V8 actually guides it.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fuzz } from "../../fuzz/engine/fuzz-loop.js";
import { plantedBug } from "./planted-bug.js";

describe("fuzz engine", () => {
  it("finds a bug behind four nested byte comparisons, guided by block coverage", async (t) => {
    const target = {
      name: "planted",
      covers: ["/test/fuzz/planted-bug"],
      dictionary: [],
      maxLength: 4,
      run: plantedBug,
    };
    const report = await fuzz(target, { seconds: 60, seed: 1, seeds: [Buffer.from("....")] });
    t.diagnostic(`${report.runs} runs, ${report.seconds.toFixed(1)} s`);
    assert.ok(report.finding, `no finding after ${report.runs} runs (${report.features} features)`);
    assert.equal((report.finding.error as Error).message, "planted bug reached");
    assert.deepEqual([...report.finding.input.subarray(0, 4)], [0x46, 0x55, 0x5a, 0x5a]);
    assert.ok(report.corpusSize >= 4, "each comparison passed was kept as a new input");
  });
});
