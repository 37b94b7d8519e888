// The real `natter` command line, as an operator runs it: one-shot commands and a `natter start` process whose
// log lines a test waits for.
import type { ChildProcess } from "node:child_process";
import { spawnSync } from "node:child_process";

export const NATTER_MAIN = new URL("../../src/main.ts", import.meta.url).pathname;

/** Runs `natter <args>` to completion (stdin is `input`, empty by default). */
export function runNatter(args: string[], input = ""): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, ["--import", "tsx", NATTER_MAIN, ...args], { input, encoding: "utf8" });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** Resolves once the child's stdout has printed a match of `pattern`. */
export async function waitForLine(child: ChildProcess, pattern: RegExp, timeoutMs = 20_000): Promise<void> {
  let seen = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${pattern} in: ${seen}`)), timeoutMs);
    child.stdout!.on("data", (d: Buffer) => {
      seen += d.toString();
      if (pattern.test(seen)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}
