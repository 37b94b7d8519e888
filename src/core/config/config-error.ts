// One error for every way a configuration can be wrong, listing all problems at once so that a user
// fixes the file in one pass instead of restarting once per typo.

/** One problem, with where it is when the file tells us (`natter.yaml:12:3: listeners.c2s.port: …`). */
export interface ConfigProblem {
  /** File name as given to the loader, or "<defaults>". */
  file: string;
  /** 1-based; absent when the value came from a default rather than the file. */
  line?: number;
  col?: number;
  /** Key path such as `listeners.c2s.port` or `hosts[1]`; "" for the whole document. */
  keyPath: string;
  message: string;
}

export function formatProblem(problem: ConfigProblem): string {
  const where = problem.line === undefined ? problem.file : `${problem.file}:${problem.line}:${problem.col ?? 1}`;
  return problem.keyPath === "" ? `${where}: ${problem.message}` : `${where}: ${problem.keyPath}: ${problem.message}`;
}

export class ConfigError extends Error {
  readonly problems: readonly ConfigProblem[];

  constructor(problems: ConfigProblem[]) {
    const lines = problems.map(formatProblem);
    super(
      lines.length === 1
        ? `invalid configuration: ${lines[0]}`
        : `invalid configuration (${lines.length} problems):\n  ${lines.join("\n  ")}`,
    );
    this.name = "ConfigError";
    this.problems = problems;
  }
}

/** `listeners.c2s.port`, `hosts[1]`, `tls.certificates[0].cert`. */
export function formatKeyPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else out += out === "" ? String(segment) : `.${String(segment)}`;
  }
  return out;
}
