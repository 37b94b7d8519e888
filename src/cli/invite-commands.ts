// `natter invite create|list|revoke`: XEP-0401 invitations from the command line, on the storage directly (the
// server may be running: SQLite WAL allows it; the running server reads the same store at each request).
import type { Command } from "commander";
import type { Config } from "../core/config/index.js";
import { enforceLocalpart, tryParseJid } from "../core/jid.js";
import {
  InviteLimitError,
  InviteStore,
  invitePathPrefix,
  inviteUri,
  parseDuration,
} from "../modules/invites/invite-store.js";
import { openStorage } from "../storage/open-storage.js";
import { CliError } from "./accounts.js";
import { formatTable, formatTime } from "./table.js";

/** The invites module's options as the config has them (defaults when absent). */
function inviteOptions(config: Config): { default_ttl: number; max_total: number; max_per_user: number } {
  const raw = (config.modules as Record<string, unknown>).invites;
  const o = (typeof raw === "object" && raw !== null ? raw : {}) as Record<string, unknown>;
  const num = (k: string, d: number) => (typeof o[k] === "number" ? (o[k] as number) : d);
  return {
    default_ttl: num("default_ttl", 7 * 86400),
    max_total: num("max_total", 1000),
    max_per_user: num("max_per_user", 10),
  };
}

/** The HTTP server's public URL as the running server computes it (web/http-server.ts publicUrl). */
function publicUrl(config: Config): string {
  const l = config.listeners;
  if (l.http.public_url !== "") return l.http.public_url.replace(/\/+$/, "");
  const host = config.hosts[0];
  if (l.https.enabled) return `https://${host}:${l.https.port}`;
  return `http://${host}:${l.http.port}`;
}

function hostOf(config: Config, host: string | undefined): string {
  const h = host ?? config.hosts[0]!;
  if (!config.hosts.includes(h))
    throw new CliError(`${h} is not a host of this server (hosts: ${config.hosts.join(", ")})`);
  return h;
}

async function withInvites<T>(config: Config, host: string, fn: (store: InviteStore) => Promise<T>): Promise<T> {
  const storage = await openStorage(config);
  try {
    return await fn(new InviteStore(storage.open(host, "invites", "map")));
  } finally {
    await storage.close();
  }
}

export function registerInviteCommands(program: Command, config: () => Config): void {
  const invite = program.command("invite").description("invitations to create an account (XEP-0401)");
  invite
    .command("create")
    .description("create an invitation and print its link")
    .option("-u, --user <name>", "reserve this username for the invitee")
    .option(
      "-t, --ttl <duration>",
      "how long it stays valid: 3600, 90m, 12h, 7d, 2w (default modules.invites.default_ttl)",
    )
    .option("--host <host>", "the host the account is created on (default the first)")
    .option("--uses <n>", "how many accounts it may create", "1")
    .option("--contact <jid>", "a local account the invitee gets subscribed with (XEP-0379)")
    .option("--json", "print the invitation as JSON")
    .action(
      async (opts: { user?: string; ttl?: string; host?: string; uses: string; contact?: string; json?: boolean }) => {
        const cfg = config();
        const host = hostOf(cfg, opts.host);
        const o = inviteOptions(cfg);
        const ttl = opts.ttl === undefined ? o.default_ttl : parseDuration(opts.ttl);
        if (ttl === undefined)
          throw new CliError(`--ttl ${opts.ttl}: expected seconds or a number with s, m, h, d or w`);
        const uses = Number(opts.uses);
        if (!Number.isSafeInteger(uses) || uses < 1 || uses > 10_000)
          throw new CliError("--uses: expected a whole number from 1 to 10000");
        let username: string | undefined;
        if (opts.user !== undefined) {
          try {
            username = enforceLocalpart(opts.user);
          } catch {
            throw new CliError(`--user ${opts.user}: not an allowed username`);
          }
        }
        let contact: string | undefined;
        if (opts.contact !== undefined) {
          const jid = tryParseJid(opts.contact);
          if (!jid || jid.local === "" || jid.resource !== "" || jid.domain !== host)
            throw new CliError(`--contact: expected an account of ${host}`);
          contact = jid.toString();
        }
        const created = await withInvites(cfg, host, (store) =>
          store
            .create(
              {
                kind: "account",
                inviter: contact ?? "admin",
                ...(username !== undefined ? { username } : {}),
                subscribe: contact !== undefined,
                ttlSeconds: ttl,
                uses,
              },
              { maxTotal: o.max_total, maxPerUser: Number.MAX_SAFE_INTEGER },
            )
            .catch((err: unknown) => {
              throw err instanceof InviteLimitError ? new CliError(err.message) : err;
            }),
        );
        const enabled = (cfg.modules as Record<string, unknown>).invites;
        if (enabled === undefined || enabled === false)
          process.stderr.write(
            "note: the invites module is not enabled in this config (modules: { invites: {} }): the link works once it is\n",
          );
        const link = `${publicUrl(cfg)}${invitePathPrefix(host, cfg.hosts[0])}/${created.token}`;
        if (opts.json) {
          process.stdout.write(`${JSON.stringify({ ...created, link, uri: inviteUri(created, host) })}\n`);
          return;
        }
        process.stdout.write(`${link}\n`);
        process.stderr.write(`valid until ${formatTime(created.expires)}; XMPP URI: ${inviteUri(created, host)}\n`);
      },
    );
  invite
    .command("list")
    .description("outstanding invitations of a host")
    .option("--host <host>")
    .option("--json", "print JSON")
    .action(async (opts: { host?: string; json?: boolean }) => {
      const cfg = config();
      const host = hostOf(cfg, opts.host);
      const all = await withInvites(cfg, host, (store) => store.all());
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(all)}\n`);
        return;
      }
      process.stdout.write(
        formatTable(
          ["token", "inviter", "username", "uses left", "expires"],
          all.map((i) => [i.token, i.inviter, i.username ?? "", String(i.usesLeft), formatTime(i.expires)]),
        ),
      );
    });
  invite
    .command("revoke")
    .description("withdraw an invitation")
    .argument("<token>", "the token (the last part of the link)")
    .option("--host <host>")
    .action(async (token: string, opts: { host?: string }) => {
      const cfg = config();
      const host = hostOf(cfg, opts.host);
      const t = token.replace(/^.*\//, ""); // a whole link will do
      if (!(await withInvites(cfg, host, (store) => store.revoke(t)))) throw new CliError("no such invitation");
      process.stdout.write("revoked\n");
    });
}
