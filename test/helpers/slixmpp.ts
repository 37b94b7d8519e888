// Runs the slixmpp interop scripts of test/interop/slixmpp/ with Debian's python3-slixmpp (/usr/bin/python3).
// Every script takes one JSON object as argv[1] and prints one JSON object as its last stdout line (see
// natter_slix.py); it may print progress lines before it ({"event": ...}, natter_slix.progress) and read
// lines from stdin (natter_slix.read_line) when the test must act in the middle of a script.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, before } from "node:test";
import { fileURLToPath } from "node:url";
import type { TestServer } from "./test-server.js";

export const PYTHON = "/usr/bin/python3";
export const SLIXMPP_SCRIPTS = join(dirname(fileURLToPath(import.meta.url)), "..", "interop", "slixmpp");

/** The scripts stop themselves (SIGALRM) well before this; it only guards against a wedged interpreter. */
const DEFAULT_KILL_AFTER_MS = 45_000;

export interface SlixmppProgress {
  event: string;
  [key: string]: unknown;
}

export interface RunSlixmppOptions {
  /** SIGKILL after this long (default 45 s). */
  timeoutMs?: number;
  /**
   * Called with each progress line ({"event": ...}) the script prints while it runs; `reply` writes one line
   * to the script's stdin. Without it the script's stdin is closed.
   */
  onProgress?: (event: SlixmppProgress, reply: (line: string) => void) => void;
}

const children = new Set<ChildProcess>();

/** The host and port a script connects to (c2s with STARTTLS). */
export const slixmppTarget = (ts: TestServer) => ({ host: "127.0.0.1", port: ts.port });

/**
 * Runs test/interop/slixmpp/<script> with its JSON argument and resolves with the JSON object it printed last.
 * Rejects when the script ends without one (with its stdout and the tail of its stderr).
 */
export function runSlixmpp<T>(script: string, args: Record<string, unknown>, options: RunSlixmppOptions = {}): Promise<T> {
  const { timeoutMs = DEFAULT_KILL_AFTER_MS, onProgress } = options;
  return new Promise((resolve, reject) => {
    // -I: ignore PYTHON* variables and the user site (a pyenv in PATH must not leak in); -B: no __pycache__ in the repo.
    const child = spawn(PYTHON, ["-I", "-B", join(SLIXMPP_SCRIPTS, script), JSON.stringify(args)], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    children.add(child);
    let stdout = "";
    let stderr = "";
    let seen = 0; // stdout characters already looked at for progress lines
    const reply = (line: string) => {
      if (child.stdin.writable) child.stdin.write(`${line}\n`);
    };
    child.stdin.on("error", () => {}); // the script may have ended before reading
    if (!onProgress) child.stdin.end();
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
      if (!onProgress) return;
      let end = stdout.indexOf("\n", seen);
      while (end !== -1) {
        const line = stdout.slice(seen, end).trim();
        seen = end + 1;
        end = stdout.indexOf("\n", seen);
        if (!line.startsWith("{")) continue;
        try {
          const parsed = JSON.parse(line) as Partial<SlixmppProgress>;
          if (typeof parsed.event === "string") onProgress(parsed as SlixmppProgress, reply);
        } catch {
          // not a progress line
        }
      }
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
    });
    const killer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("error", (err) => {
      clearTimeout(killer);
      children.delete(child);
      reject(err);
    });
    child.once("close", (code, signal) => {
      clearTimeout(killer);
      children.delete(child);
      child.stdin.destroy();
      const last = stdout.trim().split("\n").at(-1) ?? "";
      try {
        resolve(JSON.parse(last) as T);
      } catch {
        reject(
          new Error(`${script} exited ${code ?? signal} without a JSON result\nstdout: ${stdout}\nstderr: ${stderr.slice(-3000)}`),
        );
      }
    });
  });
}

/** SIGKILLs every script still running (a test that failed half-way leaves them behind). */
export function killSlixmppLeftovers(): void {
  for (const child of children) child.kill("SIGKILL");
}

/**
 * For the top of a describe that runs slixmpp scripts: `before`, fail clearly when python3-slixmpp is not
 * installed; `after`, kill the scripts left running. Register it before the describe's own hooks.
 */
export function useSlixmpp(): void {
  before(() => {
    assert.ok(existsSync(PYTHON), `${PYTHON} is missing: install python3-slixmpp (.ci/run does)`);
  });
  after(() => {
    killSlixmppLeftovers();
  });
}
