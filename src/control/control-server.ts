// The control socket: a Unix socket in the data directory through which the CLI asks a running server to
// do things only the server can (deliver a message now, list and end sessions, reload, manage API tokens).
// Access is the socket file's permissions (0600): whoever may open it is the server's administrator.
import { chmodSync, existsSync, mkdirSync, unlinkSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { dirname } from "node:path";
import type { Logger } from "pino";
import { z } from "zod";
import type { ApiTokens } from "../admin/api-tokens.js";
import { ADMIN_SCOPES, AdminError, type AdminOperations } from "../admin/types.js";
import { tryParseJid } from "../core/jid.js";

export interface ControlTarget {
  sendNotification(to: string, body: string): Promise<void>;
  /** Cleans up after accounts the CLI deleted (core/account-deletion.ts); returns how many. */
  processAccountDeletions(): Promise<number>;
  /** Administration (status, sessions, kick, rooms, reload): the same operations as the admin API. */
  readonly admin: AdminOperations;
  readonly apiTokens: ApiTokens;
  /** `natter cert renew`: a new ACME certificate now (throws AdminError when tls.acme is off). */
  renewCertificates?(): Promise<{ domains: string[]; serial: string; not_after: string }>;
}

const jidText = z.string().min(1).max(3071);

/** What the CLI may ask, one JSON line per connection; anything else is refused as an unknown request. */
export const controlRequest = z.discriminatedUnion("op", [
  z.object({ op: z.literal("send"), to: jidText, body: z.string() }),
  z.object({ op: z.literal("account-deletions") }),
  z.object({ op: z.literal("status") }),
  z.object({ op: z.literal("sessions"), jid: jidText.optional() }),
  z.object({ op: z.literal("kick"), jid: jidText, reason: z.string().max(1024).optional() }),
  z.object({ op: z.literal("rooms"), domain: z.string().min(1).max(1023).optional() }),
  z.object({ op: z.literal("reload") }),
  z.object({ op: z.literal("cert-renew") }),
  z.object({
    op: z.literal("token-create"),
    scopes: z.array(z.enum(ADMIN_SCOPES)).min(1),
    name: z.string().max(200).optional(),
    expiresInDays: z.number().positive().optional(),
  }),
  z.object({ op: z.literal("token-list") }),
  z.object({ op: z.literal("token-revoke"), id: z.string().min(1).max(100) }),
]);

export type ControlRequest = z.infer<typeof controlRequest>;

export type ControlResponse = { ok: true; result?: unknown } | { ok: false; error: string };

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
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    return { ok: false, error: "not JSON" };
  }
  const parsed = controlRequest.safeParse(json);
  if (!parsed.success) return { ok: false, error: "unknown request" };
  const req = parsed.data;
  try {
    return await perform(req, target, log);
  } catch (err) {
    if (err instanceof AdminError) return { ok: false, error: err.message };
    log.error({ err, op: req.op }, "control request failed");
    return { ok: false, error: "internal error" };
  }
}

async function perform(req: ControlRequest, target: ControlTarget, log: Logger): Promise<ControlResponse> {
  const { admin, apiTokens } = target;
  switch (req.op) {
    case "account-deletions": {
      const count = await target.processAccountDeletions();
      log.info({ count }, "account deletions from the command line processed");
      return { ok: true };
    }
    case "send":
      if (!tryParseJid(req.to)) return { ok: false, error: `not a valid JID: ${req.to}` };
      await target.sendNotification(req.to, req.body);
      log.info({ to: req.to }, "notification sent from the command line");
      return { ok: true };
    case "status":
      return { ok: true, result: admin.status() };
    case "sessions":
      return { ok: true, result: admin.sessions(req.jid) };
    case "kick": {
      const count = admin.kick(req.jid, req.reason);
      log.info({ admin: "control-socket", op: "kick", target: req.jid, count }, "sessions ended from the command line");
      return { ok: true, result: { count } };
    }
    case "rooms":
      return { ok: true, result: admin.rooms(req.domain) };
    case "reload": {
      const result = await admin.reload();
      log.info({ admin: "control-socket", op: "reload", ok: result.ok }, "reload asked from the command line");
      return result.ok ? { ok: true, result } : { ok: false, error: result.error };
    }
    case "cert-renew": {
      if (!target.renewCertificates) return { ok: false, error: "this server cannot renew certificates" };
      log.info({ admin: "control-socket", op: "cert-renew" }, "certificate renewal asked from the command line");
      return { ok: true, result: await target.renewCertificates() };
    }
    case "token-create": {
      const created = await apiTokens.create({
        scopes: req.scopes,
        ...(req.name !== undefined ? { name: req.name } : {}),
        ...(req.expiresInDays !== undefined ? { expiresInDays: req.expiresInDays } : {}),
      });
      log.info(
        { admin: "control-socket", op: "token-create", id: created.info.id, scopes: created.info.scopes },
        "API token created",
      );
      return { ok: true, result: created };
    }
    case "token-list":
      return { ok: true, result: await apiTokens.list() };
    case "token-revoke": {
      const revoked = await apiTokens.revoke(req.id);
      if (!revoked) return { ok: false, error: `there is no token ${req.id}` };
      log.info({ admin: "control-socket", op: "token-revoke", id: req.id }, "API token revoked");
      return { ok: true };
    }
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
