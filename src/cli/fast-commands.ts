// `natter fast list|revoke <jid>`: an account's XEP-0484 FAST tokens and the clients (XEP-0388 user agents) they
// were issued to, on the storage directly (the server may be running: it reads the token store at each FAST login,
// so a revoked token is refused at once).
import type { Command } from "commander";
import { fastTokenListing } from "../admin/fast-token-listing.js";
import { revokeFastTokens } from "../auth/fast-tokens.js";
import type { Config } from "../core/config/index.js";
import { accountJid, CliError, withAccounts } from "./accounts.js";
import { formatTable, formatTime } from "./table.js";

export function registerFastCommands(program: Command, config: () => Config): void {
  const fast = program.command("fast").description("FAST login tokens (XEP-0484) of an account");
  fast
    .command("list")
    .description("an account's tokens and the clients they belong to (never the tokens themselves)")
    .argument("<jid>", "the account, user@host")
    .option("--json", "print JSON")
    .action(async (input: string, opts: { json?: boolean }) => {
      const cfg = config();
      const jid = accountJid(cfg, input);
      const tokens = await withAccounts(cfg, (_accounts, storage) => fastTokenListing(storage, jid.domain, jid.local));
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ tokens })}\n`);
        return;
      }
      process.stdout.write(
        formatTable(
          ["client id", "client", "mechanism", "issued", "expires"],
          tokens.map((t) => [
            t.client,
            [t.software, t.device].filter(Boolean).join(" on "),
            t.mechanism,
            formatTime(t.issued),
            formatTime(t.expiry),
          ]),
        ),
      );
    });
  fast
    .command("revoke")
    .description("revoke an account's tokens at once (all, or one client's with --client)")
    .argument("<jid>", "the account, user@host")
    .option("--client <id>", "only the tokens of this user agent id")
    .action(async (input: string, opts: { client?: string }) => {
      const cfg = config();
      const jid = accountJid(cfg, input);
      const n = await withAccounts(cfg, (_accounts, storage) =>
        revokeFastTokens(storage, jid.domain, jid.local, opts.client),
      );
      if (n === 0 && opts.client !== undefined) throw new CliError(`no token of client ${opts.client}`);
      process.stdout.write(`revoked ${n} token${n === 1 ? "" : "s"}\n`);
    });
}
