// The fuzzing loop: run the seeds, then mutate inputs from the corpus, keep each one that reaches new coverage,
// and stop at the first input that breaks the target's invariants (or the time budget).
import { CoverageFeedback } from "./coverage.js";
import { mutate } from "./mutator.js";
import { Prng } from "./prng.js";

export interface FuzzTarget {
  /** Also the name of its seed folder, fuzz/corpus/<name>/. */
  name: string;
  /** Path fragments of the scripts whose coverage guides the fuzzer (the code under test, not the harness). */
  covers: readonly string[];
  /** Grammar keywords the mutator may insert. */
  dictionary: readonly string[];
  /** Longest input generated, in bytes. */
  maxLength: number;
  /** Runs one input; throws (or rejects) when the code under test breaks one of its invariants. */
  run(data: Buffer): void | Promise<void>;
}

export interface FuzzOptions {
  seconds: number;
  seed: number;
  seeds: readonly Buffer[];
  /** A single input slower than this is a finding (superlinear work on attacker input). */
  slowMs?: number;
  /** Called with each input that reached new coverage. */
  onNewInput?: (data: Buffer) => void;
}

export interface FuzzFinding {
  input: Buffer;
  error: unknown;
}

export interface FuzzReport {
  target: string;
  runs: number;
  seconds: number;
  corpusSize: number;
  features: number;
  finding: FuzzFinding | undefined;
}

/** Runs one input and returns what it threw, or undefined. */
export async function runOne(target: FuzzTarget, data: Buffer): Promise<unknown> {
  try {
    const pending = target.run(data);
    if (pending !== undefined) await pending;
    return undefined;
  } catch (err) {
    return err ?? new Error("threw a nullish value");
  }
}

const BATCH = 8;

export async function fuzz(target: FuzzTarget, options: FuzzOptions): Promise<FuzzReport> {
  const started = performance.now();
  const deadline = started + options.seconds * 1000;
  const slowMs = options.slowMs ?? 2000;
  const rng = new Prng(options.seed);
  const coverage = new CoverageFeedback((url) => target.covers.some((part) => url.includes(part)));
  const corpus: Buffer[] = [];
  const source = { dictionary: target.dictionary.map((t) => Buffer.from(t)), corpus, maxLength: target.maxLength };
  let runs = 0;
  let finding: FuzzFinding | undefined;

  /** Runs one input; false once it is a finding. */
  const runChecked = async (input: Buffer): Promise<boolean> => {
    const t0 = performance.now();
    const error = await runOne(target, input);
    const took = performance.now() - t0;
    runs++;
    if (error !== undefined) finding = { input, error };
    else if (took > slowMs) finding = { input, error: new Error(`one input took ${Math.round(took)} ms`) };
    return finding === undefined;
  };

  /** Runs one input and keeps it when it reaches new coverage. */
  const attempt = async (input: Buffer): Promise<boolean> => {
    if (!(await runChecked(input))) return false;
    if (coverage.collect() > 0) {
      corpus.push(input);
      options.onNewInput?.(input);
    }
    return true;
  };

  coverage.reset();
  for (const seed of options.seeds) {
    if (!(await attempt(seed))) break;
    // Seeds stay in the corpus even without new coverage: they are the grammar's examples.
    if (!corpus.includes(seed)) corpus.push(seed);
  }
  if (corpus.length === 0) corpus.push(Buffer.alloc(0));
  // Taking coverage costs about as much as a run, and most inputs add nothing: take it once per batch, and only
  // when the batch reached something new run its inputs again one by one to find which.
  const batch: Buffer[] = [];
  while (finding === undefined && performance.now() < deadline) {
    batch.length = 0;
    for (let i = 0; i < BATCH && finding === undefined; i++) {
      // Newer inputs are the frontier of coverage: favour them a little.
      const from = rng.chance(4)
        ? corpus.length - 1 - rng.below(Math.min(16, corpus.length))
        : rng.below(corpus.length);
      const input = mutate(corpus[from] as Buffer, rng, source);
      if (await runChecked(input)) batch.push(input);
    }
    if (finding !== undefined || coverage.collect(false) === 0) continue;
    for (const input of batch) if (!(await attempt(input))) break;
  }
  return {
    target: target.name,
    runs,
    seconds: (performance.now() - started) / 1000,
    corpusSize: corpus.length,
    features: coverage.features,
    finding,
  };
}
