// `natter status|sessions|kick|rooms|reload|token`: administration from the command line, through the running
// server's control socket (the same operations as the admin API). Each prints a table, or with --json the data.
// Token commands also work with no server running: they then use the storage directly, as adduser does.
import type { Command } from "commander";
import { type ApiTokenInfo, ApiTokens, parseScopes } from "../admin/api-tokens.js";
import type { RoomSummary, ServerStatus, SessionSummary } from "../admin/types.js";
import type { Config } from "../core/config/index.js";
import { type ControlRequest, sendControlRequest } from "../control/control-server.js";
import { openStorage } from "../storage/open-storage.js";
import { CliError } from "./accounts.js";
import { formatDuration, formatTable, formatTime } from "./table.js";

interface JsonOption {
  json?: boolean;
}

class ServerUnreachable extends CliError {}

async function ask<T>(config: Config, req: ControlRequest): Promise<T> {
  let response: Awaited<ReturnType<typeof sendControlRequest>>;
  try {
    response = await sendControlRequest(config.control_socket, req);
  } catch {
    throw new ServerUnreachable(`cannot reach a running server at ${config.control_socket} (is it started with this config?)`);
  }
  if (!response.ok) throw new CliError(response.error);
  return response.result as T;
}

/** Through the server when it runs; otherwise on the storage directly. */
async function withTokens<T>(config: Config, viaServer: () => Promise<T>, direct: (tokens: ApiTokens) => Promise<T>): Promise<T> {
  try {
    return await viaServer();
  } catch (err) {
    if (!(err instanceof ServerUnreachable)) throw err;
  }
  const storage = await openStorage(config);
  try {
    return await direct(new ApiTokens(storage));
  } finally {
    await storage.close();
  }
}

function print(json: boolean | undefined, data: unknown, readable: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(data, null, 2)}\n` : readable());
}

function statusText(s: ServerStatus): string {
  const t = s.sessions.byTransport;
  return [
    `Natter ${s.version}, up ${formatDuration(s.uptimeSeconds)} (since ${formatTime(s.startedAt)})`,
    `hosts:    ${s.hosts.join(", ")}`,
    `sessions: ${s.sessions.total} (tcp ${t.tcp}, websocket ${t.websocket}, bosh ${t.bosh})`,
    `s2s:      ${s.s2s.inbound} in, ${s.s2s.outbound} out`,
    `rooms:    ${s.rooms} (${s.occupants} occupants)`,
    `memory:   ${Math.round(s.memory.rss / 1048576)} MiB resident, ${Math.round(s.memory.heapUsed / 1048576)} MiB heap`,
    "",
  ].join("\n");
}

function sessionsText(list: SessionSummary[]): string {
  if (list.length === 0) return "no sessions\n";
  const now = Date.now();
  return formatTable(
    ["JID", "ADDRESS", "TRANSPORT", "TLS", "SM", "PRIO", "AVAILABLE", "FOR", "CLIENT"],
    list.map((s) => [
      s.jid,
      s.address,
      s.transport,
      s.secure ? "yes" : "no",
      s.streamManagement,
      String(s.priority),
      s.available ? "yes" : "no",
      formatDuration((now - s.since) / 1000),
      s.client ?? "",
    ]),
  );
}

function roomsText(list: RoomSummary[]): string {
  if (list.length === 0) return "no rooms\n";
  const flags = (r: RoomSummary) =>
    [r.persistent ? "persistent" : "temporary", r.public ? "public" : "hidden", r.membersOnly ? "members-only" : "", r.passwordProtected ? "password" : ""]
      .filter((f) => f !== "")
      .join(",");
  return formatTable(
    ["ROOM", "OCCUPANTS", "FLAGS", "NAME"],
    list.map((r) => [r.jid, String(r.occupants), flags(r), r.name ?? ""]),
  );
}

function tokensText(list: ApiTokenInfo[]): string {
  if (list.length === 0) return "no API tokens\n";
  return formatTable(
    ["ID", "NAME", "CREATED", "EXPIRES", "SCOPES"],
    list.map((t) => [t.id, t.name, formatTime(t.createdAt), t.expiresAt === undefined ? "never" : formatTime(t.expiresAt), t.scopes.join(",")]),
  );
}

export function registerAdminCommands(program: Command, config: () => Config): void {
  program
    .command("status")
    .description("the running server's status: uptime, sessions, s2s links, rooms, memory")
    .option("--json", "print JSON")
    .action(async (opts: JsonOption) => {
      const status = await ask<ServerStatus>(config(), { op: "status" });
      print(opts.json, status, () => statusText(status));
    });

  program
    .command("sessions")
    .description("client sessions of the running server, all or of one bare or full JID")
    .argument("[jid]")
    .option("--json", "print JSON")
    .action(async (jid: string | undefined, opts: JsonOption) => {
      const list = await ask<SessionSummary[]>(config(), { op: "sessions", ...(jid ? { jid } : {}) });
      print(opts.json, list, () => sessionsText(list));
    });

  program
    .command("kick")
    .description("end the sessions of a bare JID (all) or a full JID (one)")
    .argument("<jid>")
    .option("-r, --reason <text>", "the text of the stream error the client gets")
    .option("--json", "print JSON")
    .action(async (jid: string, opts: JsonOption & { reason?: string }) => {
      const result = await ask<{ count: number }>(config(), { op: "kick", jid, ...(opts.reason ? { reason: opts.reason } : {}) });
      print(opts.json, result, () => `ended ${result.count} session${result.count === 1 ? "" : "s"} of ${jid}\n`);
      if (result.count === 0) process.exitCode = 3;
    });

  program
    .command("rooms")
    .description("MUC rooms of the running server")
    .argument("[domain]", "only the rooms of this MUC service")
    .option("--json", "print JSON")
    .action(async (domain: string | undefined, opts: JsonOption) => {
      const list = await ask<RoomSummary[]>(config(), { op: "rooms", ...(domain ? { domain } : {}) });
      print(opts.json, list, () => roomsText(list));
    });

  program
    .command("reload")
    .description("re-read the config file and apply it without dropping a session")
    .option("--json", "print JSON")
    .action(async (opts: JsonOption) => {
      const result = await ask<{ ok: true; changes: string[] }>(config(), { op: "reload" });
      print(opts.json, result, () => (result.changes.length === 0 ? "reloaded: nothing changed\n" : `reloaded:\n${result.changes.map((c) => `  ${c}\n`).join("")}`));
    });

  const token = program.command("token").description("API tokens of the admin HTTP API");
  token
    .command("create")
    .description("create a token (printed once: only its hash is kept)")
    .requiredOption("-s, --scope <scopes>", "comma-separated scopes, e.g. users:read,sessions:write (or all)")
    .option("-n, --name <name>", "what the token is for")
    .option("-e, --expires <days>", "days until it expires (default: never)")
    .option("--json", "print JSON")
    .action(async (opts: JsonOption & { scope: string; name?: string; expires?: string }) => {
      let scopes;
      try {
        scopes = parseScopes(opts.scope);
      } catch (err) {
        throw new CliError((err as Error).message);
      }
      const days = opts.expires === undefined ? undefined : Number(opts.expires);
      if (days !== undefined && !(Number.isFinite(days) && days > 0)) throw new CliError("--expires takes a number of days greater than 0");
      const request = { scopes, ...(opts.name !== undefined ? { name: opts.name } : {}), ...(days !== undefined ? { expiresInDays: days } : {}) };
      const cfg = config();
      const created = await withTokens(
        cfg,
        () => ask<{ token: string; info: ApiTokenInfo }>(cfg, { op: "token-create", ...request }),
        (tokens) => tokens.create(request),
      );
      print(opts.json, created, () => `${created.token}\n(token ${created.info.id}, scopes ${created.info.scopes.join(",")}: store it now, it is not shown again)\n`);
    });
  token
    .command("list")
    .description("list the tokens (never their secrets)")
    .option("--json", "print JSON")
    .action(async (opts: JsonOption) => {
      const cfg = config();
      const list = await withTokens(cfg, () => ask<ApiTokenInfo[]>(cfg, { op: "token-list" }), (tokens) => tokens.list());
      print(opts.json, list, () => tokensText(list));
    });
  token
    .command("revoke")
    .description("revoke a token at once")
    .argument("<id>")
    .option("--json", "print JSON")
    .action(async (id: string, opts: JsonOption) => {
      const cfg = config();
      await withTokens(
        cfg,
        () => ask<undefined>(cfg, { op: "token-revoke", id }),
        async (tokens) => {
          if (!(await tokens.revoke(id))) throw new CliError(`there is no token ${id}`);
          return undefined;
        },
      );
      print(opts.json, { revoked: id }, () => `revoked ${id}\n`);
    });
}
