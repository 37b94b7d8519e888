// `npm run fuzz -- [target...] [--seconds N] [--seed N] [--save] [--repro FILE]`
//   Fuzzes each target (default: all) for N seconds (default $FUZZ_SECONDS, else 60) starting from its seeds in
//   fuzz/corpus/<target>/. An input that breaks an invariant is written to fuzz/findings/<target>/ and the exit
//   code is 1. --save adds the inputs that reached new coverage to the seed folder. --repro runs one file.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { corpusDir, FUZZ_DIR, loadCorpus, saveInput } from "./engine/corpus.js";
import { fuzz, runOne } from "./engine/fuzz-loop.js";
import { targetNamed, targets } from "./targets/index.js";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    seconds: { type: "string", default: process.env.FUZZ_SECONDS ?? "60" },
    seed: { type: "string" },
    save: { type: "boolean", default: false },
    repro: { type: "string" },
  },
});

const chosen = positionals.length > 0 ? positionals.map(targetNamed) : targets;

if (values.repro !== undefined) {
  if (chosen.length !== 1) throw new Error("--repro needs exactly one target");
  const error = await runOne(chosen[0]!, readFileSync(values.repro));
  console.log(error === undefined ? "no finding" : error);
  process.exit(error === undefined ? 0 : 1);
}

const seconds = Number(values.seconds);
if (!(seconds > 0)) throw new Error(`--seconds must be a positive number, not ${values.seconds}`);
let failed = false;
for (const target of chosen) {
  const seed = values.seed !== undefined ? Number(values.seed) : Math.floor(Math.random() * 2 ** 32);
  const dir = corpusDir(target.name);
  const report = await fuzz(target, {
    seconds,
    seed,
    seeds: loadCorpus(dir),
    onNewInput: values.save ? (data) => saveInput(dir, data) : undefined,
  });
  console.log(
    `${target.name}: ${report.runs} runs in ${report.seconds.toFixed(1)} s, ${report.features} features, corpus ${report.corpusSize}, seed ${seed}`,
  );
  if (report.finding !== undefined) {
    failed = true;
    const path = saveInput(join(FUZZ_DIR, "findings", target.name), report.finding.input, "crash-");
    console.log(
      `  FINDING saved to ${path}\n  ${String((report.finding.error as Error)?.stack ?? report.finding.error)}`,
    );
  }
}
process.exit(failed ? 1 : 0);
