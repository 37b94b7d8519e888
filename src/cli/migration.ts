// `natter export` and `natter import` (XEP-0227). Both open the storage directly, as adduser does. Export may
// run beside a running server (SQLite WAL; it reads committed data). Import refuses while the server runs: the
// server keeps rosters, PEP nodes, privacy lists and known accounts in memory, and rows written behind it
// would be overwritten or ignored; `--dry-run` writes nothing and may run at any time.

import { statSync } from "node:fs";
import { connect } from "node:net";
import { Presets, SingleBar } from "cli-progress";
import type { Command } from "commander";
import { pino } from "pino";
import { InternalAccountProvider } from "../auth/internal-account-provider.js";
import { providerOfHost } from "../core/config/auth-providers-schema.js";
import type { Config } from "../core/config/index.js";
import { exportPie } from "../migration/export.js";
import { type ImportReport, importInputs, importPie } from "../migration/import.js";
import { type MigrationContext, MigrationFileError } from "../migration/types.js";
import { openStorage } from "../storage/open-storage.js";
import { CliError } from "./accounts.js";

/** A server started with this config listens on its control socket; a connection is enough to know (no answer awaited). */
/**
 * The storage and Natter's own account store. Migration carries SCRAM credentials, which only the internal provider
 * keeps: a host whose passwords are checked elsewhere (LDAP, a program, HTTP) is refused with a message.
 */
async function withMigrationContext<T>(
  config: Config,
  hosts: readonly string[],
  fn: (ctx: MigrationContext) => Promise<T>,
): Promise<T> {
  const elsewhere = hosts.filter((host) => providerOfHost(config, host) !== "internal");
  if (elsewhere.length > 0) {
    throw new CliError(
      `${elsewhere.join(", ")}: passwords are checked by ${elsewhere.map((h) => providerOfHost(config, h)).join(", ")} (auth.provider); export and import cover hosts on the internal provider only`,
    );
  }
  const storage = await openStorage(config);
  try {
    const accounts = new InternalAccountProvider(storage, { iterations: config.auth.scram_iterations });
    return await fn({ storage, accounts, log: pino({ level: "silent" }), modules: config.modules });
  } finally {
    await storage.close();
  }
}

export async function serverRunning(config: Config): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(config.control_socket);
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

export function registerMigrationCommands(program: Command, config: () => Config): void {
  program
    .command("export")
    .description("write every account and its data to a XEP-0227 file (all hosts, or one)")
    .argument("<file>", "the file to write")
    .option("--host <host>", "only this host")
    .option("--no-progress", "no progress bar")
    .action(async (file: string, opts: { host?: string; progress: boolean }) => {
      const cfg = config();
      if (opts.host !== undefined && !cfg.hosts.includes(opts.host)) {
        throw new CliError(`${opts.host} is not a host of this server (hosts: ${cfg.hosts.join(", ")})`);
      }
      const hosts = opts.host !== undefined ? [opts.host] : cfg.hosts;
      const bar = new SingleBar(
        {
          format: "exporting [{bar}] {value}/{total} users {eta_formatted} left",
          noTTYOutput: true,
          notTTYSchedule: 5000,
          stream: process.stderr,
        },
        Presets.shades_classic,
      );
      let started = false;
      const report = await withMigrationContext(cfg, hosts, (ctx) =>
        exportPie(ctx, file, hosts, (done, total) => {
          if (!opts.progress) return;
          if (!started) bar.start(total, 0);
          started = true;
          bar.update(done);
        }),
      );
      if (started) bar.stop();
      const parts = [...report.sections].filter(([, n]) => n > 0).map(([name, n]) => `${name} ${n}`);
      process.stdout.write(
        `exported ${report.users} users to ${file}${parts.length > 0 ? ` (${parts.join(", ")})` : ""}\n`,
      );
    });

  program
    .command("import")
    .description("read accounts and their data from XEP-0227 files or directories of them (Prosody, ejabberd, Natter)")
    .argument("<paths...>", "files, or directories of *.xml files")
    .option("-n, --dry-run", "report what would be added or changed; write nothing")
    .option("--no-progress", "no progress bar")
    .action(async (paths: string[], opts: { dryRun?: boolean; progress: boolean }) => {
      const cfg = config();
      const dryRun = opts.dryRun === true;
      if (!dryRun && (await serverRunning(cfg))) {
        throw new CliError(
          "the server is running: stop it before importing (it keeps rosters, privacy lists and accounts in memory and would not see the import); `natter import --dry-run` may run now",
        );
      }
      let files: string[];
      try {
        files = await importInputs(paths);
      } catch (err) {
        if (err instanceof MigrationFileError) throw new CliError(err.message.replace(/^line 0: /, ""));
        throw err;
      }
      const total = files.reduce((n, f) => n + statSync(f).size, 0);
      const bar = new SingleBar(
        {
          format: "importing [{bar}] {percentage}% {user}",
          noTTYOutput: true,
          notTTYSchedule: 5000,
          stream: process.stderr,
        },
        Presets.shades_classic,
      );
      if (opts.progress) bar.start(total, 0, { user: "" });
      let report: ImportReport;
      try {
        report = await withMigrationContext(cfg, cfg.hosts, (ctx) =>
          importPie(ctx, files, {
            dryRun,
            hosts: cfg.hosts,
            maxProblems: cfg.migration.max_problems,
            limits: {
              maxElementsPerUser: cfg.migration.max_elements_per_user,
              maxDepth: cfg.migration.max_depth,
              maxIncludeDepth: cfg.migration.max_include_depth,
            },
            onProgress: (bytes, user) => {
              if (opts.progress) bar.update(bytes, user === "" ? {} : { user });
            },
          }),
        );
      } catch (err) {
        if (opts.progress) bar.stop();
        if (err instanceof MigrationFileError) {
          throw new CliError(
            `${err.message}\nimport stopped: ${dryRun ? "nothing was written" : "users before this line were imported; fix the file and run the import again (it is idempotent)"}`,
          );
        }
        throw err;
      }
      if (opts.progress) {
        bar.update(total);
        bar.stop();
      }
      process.stdout.write(formatImportReport(report));
      if (report.problems.length > 0 || report.accounts.skipped > 0) process.exitCode = 3;
    });
}

/** The report printed after an import: per section what was (or would be) added, changed, unchanged. */
export function formatImportReport(report: ImportReport): string {
  const verb = report.dryRun ? "would be " : "";
  let out = report.dryRun ? "dry run: nothing was written\n" : "";
  const line = (name: string, c: { added: number; changed: number; unchanged: number }, extra = "") =>
    `  ${name.padEnd(10)} ${c.added} ${verb}added, ${c.changed} ${verb}changed, ${c.unchanged} unchanged${extra}\n`;
  out += line("accounts", report.accounts, report.accounts.skipped > 0 ? `, ${report.accounts.skipped} skipped` : "");
  for (const [name, c] of report.sections) if (c.added + c.changed + c.unchanged > 0) out += line(name, c);
  const changed =
    report.accounts.added +
    report.accounts.changed +
    [...report.sections.values()].reduce((n, c) => n + c.added + c.changed, 0);
  if (changed === 0)
    out += `nothing ${report.dryRun ? "would change" : "changed"}: everything in the file is already here\n`;
  for (const [el, n] of report.unknown) out += `  not carried: ${n} × ${el}\n`;
  for (const p of report.problems) out += `${p.file}:${p.line}: ${p.message}\n`;
  if (report.moreProblems > 0) out += `… and ${report.moreProblems} more problems (see the log)\n`;
  return out;
}
