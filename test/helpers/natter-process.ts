// The real `natter` command line, as an operator runs it: one-shot commands and a `natter start` process whose
// log lines a test waits for.
import type { ChildProcess } from "node:child_process";
import { spawn, spawnSync } from "node:child_process";

export const NATTER_MAIN = new URL("../../src/main.ts", import.meta.url).pathname;

/** Runs `natter <args>` to completion (stdin is `input`, empty by default). */
export function runNatter(args: string[], input = ""): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, ["--import", "tsx", NATTER_MAIN, ...args], { input, encoding: "utf8" });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/**
 * The same without blocking this process: for commands that talk to a server running in the test's own
 * process (its control socket), which runNatter's spawnSync would freeze.
 */
export function runNatterAsync(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", NATTER_MAIN, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, out, err }));
  });
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
