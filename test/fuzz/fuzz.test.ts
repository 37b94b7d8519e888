// The bounded CI run of the fuzzer (fuzz/): every target for $FUZZ_SECONDS_PER_TARGET seconds (default 10, so
// about a minute in all) from its seed corpus, with a fresh random seed each run (printed, so a finding can be
// replayed with `npm run fuzz -- <target> --seed N`). A finding fails the test with the input that caused it.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { corpusDir, loadCorpus } from "../../fuzz/engine/corpus.js";
import { fuzz, runOne } from "../../fuzz/engine/fuzz-loop.js";
import { targets } from "../../fuzz/targets/index.js";

const SECONDS = Number(process.env.FUZZ_SECONDS_PER_TARGET ?? "10");

describe("fuzz targets", () => {
  for (const target of targets) {
    it(`${target.name}: every seed passes, then ${SECONDS} s of fuzzing find nothing`, {
      timeout: (SECONDS + 60) * 1000,
    }, async (t) => {
      const seeds = loadCorpus(corpusDir(target.name));
      assert.ok(seeds.length > 0, `fuzz/corpus/${target.name}/ has seeds`);
      for (const seed of seeds) assert.equal(await runOne(target, seed), undefined, `seed ${seed.toString("latin1")}`);

      const seed = Math.floor(Math.random() * 2 ** 32);
      const report = await fuzz(target, { seconds: SECONDS, seed, seeds, slowMs: 5000 });
      t.diagnostic(`${report.runs} runs, ${report.features} features, corpus ${report.corpusSize}, seed ${seed}`);
      assert.ok(report.features > 0, "coverage feedback reached the code under test");
      if (report.finding !== undefined) {
        assert.fail(
          `input ${JSON.stringify(report.finding.input.toString("latin1"))} (base64 ${report.finding.input.toString("base64")}):\n` +
            String((report.finding.error as Error)?.stack ?? report.finding.error),
        );
      }
    });
  }
});
