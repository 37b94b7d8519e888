// The control socket: a Unix socket in the data directory through which the CLI asks a running server to
// do things only the server can (deliver a message now). Access is the socket file's permissions (0600).
import { existsSync, unlinkSync, chmodSync, mkdirSync } from "node:fs";
import { type Server, type Socket, connect, createServer } from "node:net";
import { dirname } from "node:path";
import type { Logger } from "pino";
import { tryParseJid } from "../core/jid.js";

export interface ControlTarget {
  sendNotification(to: string, body: string): Promise<void>;
  /** Cleans up after accounts the CLI deleted (core/account-deletion.ts); returns how many. */
  processAccountDeletions(): Promise<number>;
}

export type ControlRequest = { op: "send"; to: string; body: string } | { op: "account-deletions" };

export type ControlResponse = { ok: true } | { ok: false; error: string };

const MAX_REQUEST_BYTES = 1024 * 1024;

async function isLive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

export class ControlServer {
  private constructor(
    private readonly server: Server,
    private readonly path: string,
  ) {}

  static async start(path: string, target: ControlTarget, log: Logger): Promise<ControlServer> {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    if (existsSync(path)) {
      if (await isLive(path)) throw new Error(`another Natter is already running with control socket ${path}`);
      unlinkSync(path); // left over from a crash
    }
    const server = createServer((socket) => handle(socket, target, log));
    // The socket file is created by listen() with the process umask; a socket outside the (0700) data
    // directory would be open to others until the chmod. bind() runs inside listen() synchronously, so a
    // umask set around that call alone makes it 0600 from creation.
    const previousUmask = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(path, () => {
          server.off("error", reject);
          resolve();
        });
      });
    } finally {
      process.umask(previousUmask);
    }
    chmodSync(path, 0o600);
    return new ControlServer(server, path);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    try {
      unlinkSync(this.path);
    } catch {}
  }
}

function handle(socket: Socket, target: ControlTarget, log: Logger): void {
  let buffer = "";
  socket.setEncoding("utf8");
  socket.on("error", () => socket.destroy());
  socket.on("data", (chunk: string) => {
    buffer += chunk;
    if (buffer.length > MAX_REQUEST_BYTES) {
      reply(socket, { ok: false, error: "request too large" });
      return;
    }
    const nl = buffer.indexOf("\n");
    if (nl === -1) return;
    const line = buffer.slice(0, nl);
    buffer = "";
    void answer(line, target, log).then((r) => reply(socket, r));
  });
}

function reply(socket: Socket, response: ControlResponse): void {
  socket.end(`${JSON.stringify(response)}\n`);
}

async function answer(line: string, target: ControlTarget, log: Logger): Promise<ControlResponse> {
  let req: ControlRequest;
  try {
    req = JSON.parse(line) as ControlRequest;
  } catch {
    return { ok: false, error: "not JSON" };
  }
  if (req?.op === "account-deletions") {
    try {
      const count = await target.processAccountDeletions();
      log.info({ count }, "account deletions from the command line processed");
      return { ok: true };
    } catch (err) {
      log.error({ err }, "control request failed");
      return { ok: false, error: "internal error" };
    }
  }
  if (req?.op !== "send" || typeof req.to !== "string" || typeof req.body !== "string") {
    return { ok: false, error: "unknown request" };
  }
  if (!tryParseJid(req.to)) return { ok: false, error: `not a valid JID: ${req.to}` };
  try {
    await target.sendNotification(req.to, req.body);
    log.info({ to: req.to }, "notification sent from the command line");
    return { ok: true };
  } catch (err) {
    log.error({ err }, "control request failed");
    return { ok: false, error: "internal error" };
  }
}

/** Client side, for the CLI. */
export async function sendControlRequest(path: string, req: ControlRequest): Promise<ControlResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    let data = "";
    socket.setEncoding("utf8");
    socket.once("connect", () => socket.write(`${JSON.stringify(req)}\n`));
    socket.on("data", (c: string) => {
      data += c;
    });
    socket.once("end", () => {
      try {
        resolve(JSON.parse(data) as ControlResponse);
      } catch {
        reject(new Error("the server gave no valid answer"));
      }
    });
    socket.once("error", reject);
  });
}
