// Account commands that work on the storage directly (the server may be running: SQLite WAL allows it).
import { readFileSync } from "node:fs";
import { cpus } from "node:os";
import { SingleBar } from "cli-progress";
import { pino } from "pino";
import { buildAccountProviders } from "../auth/account-providers.js";
import { InternalAccountProvider } from "../auth/internal-account-provider.js";
import {
  AccountBackendUnavailableError,
  AccountExistsError,
  type AccountProvider,
  AccountsManagedElsewhereError,
} from "../auth/types.js";
import type { Config } from "../core/config/index.js";
import { type Jid, tryParseJid } from "../core/jid.js";
import { openStorage } from "../storage/open-storage.js";
import type { StorageDriver } from "../storage/types.js";

export class CliError extends Error {}

/**
 * Runs `fn` with each host's account provider, as the server builds them (auth.provider, auth.host_providers).
 * On a host whose accounts live elsewhere, what the backend cannot do (or cannot answer now) is a CliError.
 */
export async function withAccounts<T>(
  config: Config,
  fn: (accounts: AccountProvider, storage: StorageDriver) => Promise<T>,
): Promise<T> {
  const storage = await openStorage(config);
  let accounts: ReturnType<typeof buildAccountProviders> | undefined;
  try {
    const internal = new InternalAccountProvider(storage, { iterations: config.auth.scram_iterations });
    accounts = buildAccountProviders(config, internal, pino({ level: "silent" }), false);
    return await fn(accounts, storage);
  } catch (err) {
    if (err instanceof AccountsManagedElsewhereError || err instanceof AccountBackendUnavailableError)
      throw new CliError(err.message);
    throw err;
  } finally {
    await accounts?.close();
    await storage.close();
  }
}

/** An account JID: user@host with a host this server serves. */
export function accountJid(config: Config, input: string): Jid {
  const jid = tryParseJid(input);
  if (!jid || jid.local === "" || jid.resource !== "")
    throw new CliError(`"${input}" is not an account JID such as alice@${config.hosts[0]}`);
  if (!config.hosts.includes(jid.domain)) {
    throw new CliError(`${jid.domain} is not a host of this server (hosts: ${config.hosts.join(", ")})`);
  }
  return jid;
}

export interface BulkResult {
  created: number;
  skipped: { line: number; reason: string }[];
}

/** `natter adduser --from-file users.csv`: "jid,password" per line; blank lines and # comments skipped. */
export async function addUsersFromFile(config: Config, path: string, showProgress: boolean): Promise<BulkResult> {
  const lines = readFileSync(path, "utf8").split(/\r?\n/);
  const rows: { line: number; jid: Jid; password: string }[] = [];
  const skipped: BulkResult["skipped"] = [];
  lines.forEach((text, i) => {
    const line = i + 1;
    if (text.trim() === "" || text.startsWith("#")) return;
    const comma = text.indexOf(",");
    if (comma === -1) return skipped.push({ line, reason: "expected jid,password" });
    const password = text.slice(comma + 1);
    if (password === "") return skipped.push({ line, reason: "empty password" });
    try {
      rows.push({ line, jid: accountJid(config, text.slice(0, comma).trim()), password });
    } catch (err) {
      skipped.push({ line, reason: (err as Error).message });
    }
  });
  return withAccounts(config, async (accounts) => {
    const bar = new SingleBar({
      format: "creating accounts [{bar}] {value}/{total} {eta_formatted} left",
      noTTYOutput: showProgress,
      notTTYSchedule: 5000,
    });
    if (showProgress) bar.start(rows.length, 0);
    let created = 0;
    let next = 0;
    // PBKDF2 runs on libuv's thread pool: keep it busy without flooding it.
    const workers = Array.from({ length: Math.max(2, cpus().length * 2) }, async () => {
      while (next < rows.length) {
        const row = rows[next++]!;
        try {
          await accounts.createUser(row.jid.domain, row.jid.local, row.password);
          created++;
        } catch (err) {
          skipped.push({
            line: row.line,
            reason: err instanceof AccountExistsError ? "account exists" : (err as Error).message,
          });
        }
        if (showProgress) bar.increment();
      }
    });
    await Promise.all(workers);
    if (showProgress) bar.stop();
    skipped.sort((a, b) => a.line - b.line);
    return { created, skipped };
  });
}
