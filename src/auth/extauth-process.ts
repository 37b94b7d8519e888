// One long-lived ejabberd extauth program (docs/authentication.md "External program"): each request is a
// 2-byte big-endian length and `op:user:server[:password]`, each answer 2 bytes of length (2) and 2 bytes
// 0 (false) or 1 (true). One request in flight; a request past its timeout kills the program, which is
// restarted with a growing delay, as one that exits by itself.
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import type { Logger } from "pino";

export interface ExtauthProcessOptions {
  command: string;
  args: string[];
  timeoutMs: number;
  /** First restart delay; doubled after each quick death up to maxRestartDelayMs. */
  restartDelayMs: number;
  maxRestartDelayMs: number;
  /** Requests waiting for one program at most; more are refused at once (backend unavailable). */
  maxQueue: number;
}

/** A program that lives this long is healthy: its next restart starts at the first delay again. */
const HEALTHY_MS = 10_000;
/** The protocol's length is 16 bits. */
const MAX_REQUEST_BYTES = 0xffff;

interface Pending {
  resolve: (answer: boolean) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export class ExtauthProcess {
  private child: ChildProcessWithoutNullStreams | undefined;
  private startedAt = 0;
  private restartDelay: number;
  private restartTimer: NodeJS.Timeout | undefined;
  private buffered = Buffer.alloc(0);
  private pending: Pending | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private queued = 0;
  private closed = false;

  constructor(
    private readonly options: ExtauthProcessOptions,
    private readonly log: Logger,
  ) {
    this.restartDelay = options.restartDelayMs;
    this.start();
  }

  get queueLength(): number {
    return this.queued;
  }

  /** Sends one request after those before it; rejects when the program is down, dies or times out. */
  request(fields: string[]): Promise<boolean> {
    // A hung program makes each request wait its timeout: a bounded queue keeps that from piling up.
    if (this.queued >= this.options.maxQueue)
      return Promise.reject(new Error("too many requests waiting for the external program"));
    this.queued++;
    const run = this.queue.then(() => this.send(fields)).finally(() => this.queued--);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private send(fields: string[]): Promise<boolean> {
    const payload = Buffer.from(fields.join(":"), "utf8");
    if (payload.length > MAX_REQUEST_BYTES)
      return Promise.reject(new Error("request too long for the extauth protocol"));
    const child = this.child;
    if (this.closed || !child) return Promise.reject(new Error("the external authentication program is not running"));
    const frame = Buffer.alloc(2 + payload.length);
    frame.writeUInt16BE(payload.length, 0);
    payload.copy(frame, 2);
    return new Promise<boolean>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.log.warn(
          { command: this.options.command, op: fields[0] },
          "external authentication program timed out; restarting it",
        );
        this.fail(new Error(`no answer within ${this.options.timeoutMs} ms`));
        child.kill("SIGKILL");
      }, this.options.timeoutMs);
      this.pending = { resolve, reject, timer };
      child.stdin.write(frame, (err) => {
        if (err) this.fail(err);
      });
    });
  }

  private start(): void {
    if (this.closed) return;
    this.restartTimer = undefined;
    this.buffered = Buffer.alloc(0);
    let child: ChildProcessWithoutNullStreams;
    try {
      child = spawn(this.options.command, this.options.args, { stdio: ["pipe", "pipe", "pipe"] });
    } catch (err) {
      this.log.error(
        { command: this.options.command, error: (err as Error).message },
        "cannot start the external authentication program",
      );
      this.scheduleRestart();
      return;
    }
    this.child = child;
    this.startedAt = Date.now();
    child.stdout.on("data", (chunk: Buffer) => this.onData(chunk));
    // Its stderr is its log: passed on line by line, bounded so a chatty program cannot fill ours.
    child.stderr.on("data", (chunk: Buffer) =>
      this.log.info(
        { command: this.options.command, stderr: chunk.toString("utf8", 0, 2000).trimEnd() },
        "extauth program",
      ),
    );
    child.stdin.on("error", () => undefined); // an exit mid-write: reported by 'exit'
    child.on("error", (err) => {
      this.log.error({ command: this.options.command, error: err.message }, "external authentication program failed");
      this.died(child);
    });
    child.on("exit", (code, signal) => {
      if (!this.closed)
        this.log.warn({ command: this.options.command, code, signal }, "external authentication program exited");
      this.died(child);
    });
  }

  private died(child: ChildProcessWithoutNullStreams): void {
    if (this.child !== child) return;
    this.child = undefined;
    this.fail(new Error("the external authentication program exited"));
    this.scheduleRestart();
  }

  private scheduleRestart(): void {
    if (this.closed || this.restartTimer) return;
    if (Date.now() - this.startedAt > HEALTHY_MS) this.restartDelay = this.options.restartDelayMs;
    const delay = this.restartDelay;
    this.restartDelay = Math.min(this.restartDelay * 2, this.options.maxRestartDelayMs);
    this.restartTimer = setTimeout(() => this.start(), delay);
    this.restartTimer.unref();
  }

  private onData(chunk: Buffer): void {
    this.buffered = Buffer.concat([this.buffered, chunk]);
    while (this.buffered.length >= 2) {
      const length = this.buffered.readUInt16BE(0);
      if (length !== 2) {
        // Not the protocol: nothing after this can be trusted to line up with our requests.
        this.log.error(
          { command: this.options.command, length },
          "external authentication program answered out of protocol; restarting it",
        );
        this.fail(new Error("answer out of protocol"));
        this.child?.kill("SIGKILL");
        return;
      }
      if (this.buffered.length < 4) return;
      const value = this.buffered.readUInt16BE(2);
      this.buffered = this.buffered.subarray(4);
      const pending = this.pending;
      if (!pending) {
        this.log.warn(
          { command: this.options.command },
          "external authentication program answered with no request; ignored",
        );
        continue;
      }
      this.pending = undefined;
      clearTimeout(pending.timer);
      // Only 1 is yes: anything else counts as no.
      pending.resolve(value === 1);
    }
  }

  private fail(err: Error): void {
    const pending = this.pending;
    if (!pending) return;
    this.pending = undefined;
    clearTimeout(pending.timer);
    pending.reject(err);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.fail(new Error("closing"));
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.stdin.end(); // extauth programs end at EOF
    const timer = setTimeout(() => child.kill("SIGKILL"), 2000);
    await exited;
    clearTimeout(timer);
  }
}
