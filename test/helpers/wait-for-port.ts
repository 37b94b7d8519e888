// Waits until a server the test started (Prosody, ejabberd, slapd…) accepts TCP connections on 127.0.0.1, or
// fails at once with the tail of its log when the process exits first.
import type { ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { connect } from "node:net";

export async function waitForPort(
  port: number,
  child: ChildProcess,
  opts: { name: string; logFile?: string; timeoutMs?: number },
): Promise<void> {
  const until = Date.now() + (opts.timeoutMs ?? 20_000);
  while (Date.now() < until) {
    if (child.exitCode !== null) {
      const log = opts.logFile === undefined ? "" : `: ${readFileSync(opts.logFile, "utf8").slice(-2000)}`;
      throw new Error(`${opts.name} exited before listening${log}`);
    }
    const ok = await new Promise<boolean>((res) => {
      const s = connect({ host: "127.0.0.1", port });
      s.once("connect", () => (s.destroy(), res(true)));
      s.once("error", () => res(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${opts.name} did not start listening on ${port}`);
}
