// `natter storage copy --to postgres://…`: moves a SQLite deployment to PostgreSQL (docs/postgresql.md).
// Refuses while the server runs (it would go on writing to SQLite behind the copy) and, without --force,
// when the target already holds data. Verifies by counting rows per store on both sides.
import { existsSync } from "node:fs";
import { Presets, SingleBar } from "cli-progress";
import type { Command } from "commander";
import type { Config } from "../core/config/index.js";
import { openPostgresTables, redactPostgresUrl } from "../storage/postgres/index.js";
import { copyTables, countRowsPerStore, holdsData, type StoreCounts } from "../storage/sql/copy-tables.js";
import { openSqliteTables } from "../storage/sqlite/index.js";
import { CliError } from "./accounts.js";
import { serverRunning } from "./migration.js";
import { formatTable } from "./table.js";

interface CopyOptions {
  to?: string;
  force?: boolean;
  progress: boolean;
}

export function registerStorageCommands(program: Command, config: () => Config): void {
  const storage = program.command("storage").description("storage maintenance");
  storage
    .command("copy")
    .description("copy every store of the configured SQLite database to a PostgreSQL database, then compare row counts")
    .option("--to <url>", "the target, postgres://user@host:5432/database (default: storage.postgres.url)")
    .option("--force", "replace what the target database already holds")
    .option("--no-progress", "no progress bar")
    .action(async (opts: CopyOptions) => {
      const cfg = config();
      if (cfg.storage.driver !== "sqlite") {
        throw new CliError(`storage.driver is ${cfg.storage.driver}: storage copy reads a SQLite deployment`);
      }
      // The URL may come from the config (or the password from PGPASSWORD): a command line is visible in `ps`.
      const url = opts.to ?? cfg.storage.postgres.url;
      if (url === "") throw new CliError("give the target with --to postgres://… or set storage.postgres.url");
      if (!/^postgres(ql)?:\/\//.test(url))
        throw new CliError("--to: expected a URL like postgres://user:password@host:5432/database");
      const target = redactPostgresUrl(url);
      if (await serverRunning(cfg)) {
        throw new CliError(
          "the server is running: stop it before copying (it would go on writing to SQLite behind the copy)",
        );
      }
      const path = cfg.storage.sqlite.path;
      if (path === ":memory:" || !existsSync(path))
        throw new CliError(`there is no SQLite database at ${path} (storage.sqlite.path)`);
      const from = await openSqliteTables(path);
      try {
        const to = await openPostgresTables(url, {
          poolSize: 2,
          connectTimeoutMs: cfg.storage.postgres.connect_timeout * 1000,
        }).catch((error: Error) => {
          throw new CliError(`cannot open the target: ${error.message}`);
        });
        try {
          if (!opts.force && (await holdsData(to))) {
            throw new CliError(`${target} already holds Natter data: give --force to replace it`);
          }
          const sourceCounts = await countRowsPerStore(from);
          const total = [...sourceCounts.values()].reduce((a, b) => a + b, 0);
          const bar = new SingleBar(
            {
              format: "copying [{bar}] {value}/{total} rows {eta_formatted} left",
              noTTYOutput: true,
              notTTYSchedule: 5000,
              stream: process.stderr,
            },
            Presets.shades_classic,
          );
          if (opts.progress) bar.start(total, 0);
          let done = 0;
          try {
            await copyTables(from, to, (rows) => {
              done += rows;
              if (opts.progress) bar.update(done);
            });
          } finally {
            if (opts.progress) bar.stop();
          }
          const targetCounts = await countRowsPerStore(to);
          const report = compareCounts(sourceCounts, targetCounts);
          process.stdout.write(`copied ${cfg.storage.sqlite.path} to ${target}\n${report.text}`);
          if (!report.equal) throw new CliError("the row counts differ: the copy is not complete");
          process.stdout.write(
            `${total} rows in ${sourceCounts.size} stores, the same on both sides; set storage.driver: postgres${opts.to === undefined ? "" : " and storage.postgres.url"} to use it\n`,
          );
        } finally {
          await to.destroy();
        }
      } finally {
        await from.destroy();
      }
    });
}

/** The per-store row counts side by side. */
export function compareCounts(source: StoreCounts, target: StoreCounts): { text: string; equal: boolean } {
  const keys = [...new Set([...source.keys(), ...target.keys()])].sort();
  let equal = true;
  const rows = keys.map((key) => {
    const [table, host, store] = JSON.parse(key) as [string, string, string];
    const a = source.get(key) ?? 0;
    const b = target.get(key) ?? 0;
    if (a !== b) equal = false;
    return [host, store, table, String(a), String(b), a === b ? "" : "DIFFERENT"];
  });
  return { text: formatTable(["host", "store", "kind", "sqlite", "postgres", ""], rows), equal };
}
