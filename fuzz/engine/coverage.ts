// Coverage feedback from V8's own block coverage (node:inspector Profiler, "precise" binary mode), so the code
// under test needs no instrumentation step: it runs as the server runs it (tsx-compiled TypeScript, saxes as shipped).
//
// V8 reports, for each function that ran since the last take, the function's range with count 1 and each block
// inside it that did NOT run as a range with count 0 (blocks that ran like their parent are folded into it).
// So a block is known once it has been seen unexecuted; it is covered in a run when its function ran and no
// zero range of that run contains it. A "feature" is a function or a block seen covered for the first time.
import { Session } from "node:inspector";

interface Range {
  startOffset: number;
  endOffset: number;
  count: number;
}
interface FunctionCoverage {
  ranges: Range[];
}
interface ScriptCoverage {
  url: string;
  functions: FunctionCoverage[];
}

interface FunctionState {
  /** Blocks ("start:end") ever seen unexecuted, with whether some run has covered them since. */
  blocks: Map<string, { start: number; end: number; covered: boolean }>;
}

// V8 keeps one coverage state per isolate, and block counters stay blind to functions that were compiled before
// they were started (or restarted): so one session for the process, started when this module is loaded (import
// the fuzzer before running the code under test) and never stopped.
let shared: Session | undefined;
function coverageSession(): Session {
  if (shared === undefined) {
    shared = new Session();
    shared.connect();
    post(shared, "Profiler.enable");
    post(shared, "Profiler.startPreciseCoverage", { callCount: false, detailed: true });
  }
  return shared;
}

function post(session: Session, method: string, params?: object): unknown {
  // An in-thread inspector session answers synchronously, inside post().
  let error: Error | null = null;
  let answer: unknown;
  session.post(method, params, (err, res) => {
    error = err;
    answer = res;
  });
  if (error !== null) throw error;
  return answer;
}

export class CoverageFeedback {
  private readonly session = coverageSession();
  private readonly functions = new Map<string, FunctionState>();
  private readonly include: (url: string) => boolean;
  /** Functions plus blocks covered so far. */
  features = 0;

  /** `include` selects the scripts whose coverage counts (the code under test, not the harness). */
  constructor(include: (url: string) => boolean) {
    this.include = include;
  }

  /** Forgets what ran since the last call (e.g. module loading before the first input). */
  reset(): void {
    post(this.session, "Profiler.takePreciseCoverage");
  }

  /**
   * Takes the coverage of what ran since the last take; returns how many new features it reached. With
   * `commit` false they are only counted, not remembered (to test a batch, then attribute input by input).
   */
  collect(commit = true): number {
    const { result } = post(this.session, "Profiler.takePreciseCoverage") as { result: ScriptCoverage[] };
    let fresh = 0;
    for (const script of result) {
      if (!this.include(script.url)) continue;
      for (const fn of script.functions) fresh += this.function(script.url, fn.ranges, commit);
      if (!commit && fresh > 0) return fresh;
    }
    if (commit) this.features += fresh;
    return fresh;
  }

  private function(url: string, ranges: Range[], commit: boolean): number {
    const head = ranges[0];
    if (head === undefined || head.count === 0) return 0;
    const key = `${url}#${head.startOffset}`;
    let fresh = 0;
    let state = this.functions.get(key);
    if (state === undefined) {
      if (!commit) return 1;
      state = { blocks: new Map() };
      this.functions.set(key, state);
      fresh++;
    }
    const zeros: Range[] = [];
    for (let i = 1; i < ranges.length; i++) {
      const r = ranges[i] as Range;
      if (r.count !== 0) continue;
      zeros.push(r);
      const id = `${r.startOffset}:${r.endOffset}`;
      if (commit && !state.blocks.has(id))
        state.blocks.set(id, { start: r.startOffset, end: r.endOffset, covered: false });
    }
    for (const block of state.blocks.values()) {
      if (block.covered) continue;
      if (zeros.some((z) => z.startOffset <= block.start && block.end <= z.endOffset)) continue;
      if (commit) block.covered = true;
      fresh++;
    }
    return fresh;
  }
}

coverageSession();
