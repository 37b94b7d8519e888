// `natter import`: reads XEP-0227 files user by user and applies each section, or (dry run) counts what it
// would change. Idempotent: every section compares with what is stored, so a second import of the same file
// reports everything unchanged. A broken user or host is reported with its line and skipped; malformed XML
// stops the import at its line (MigrationFileError).
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { tryParseJid } from "../core/jid.js";
import { enforceUsernameCaseMapped, PrecisError } from "../core/precis.js";
import type { Element } from "../core/xml/element.js";
import { NS_PIE_SCRAM, readCredentials } from "./account-credentials.js";
import { peekRoot } from "./peek-root.js";
import { DEFAULT_READER_LIMITS, type PieReaderLimits, readPieFile, type Where } from "./pie-reader.js";
import { hostSections, USER_SECTIONS } from "./sections/index.js";
import { type ImportOptions, type MigrationContext, MigrationFileError, NS_PIE, type SectionChanges } from "./types.js";

export interface Counts {
  added: number;
  changed: number;
  unchanged: number;
}

export interface ImportReport {
  dryRun: boolean;
  files: string[];
  accounts: Counts & { skipped: number };
  sections: Map<string, Counts>;
  /** Each skipped user or host and each section warning, with its file and line (the first `maxProblems`). */
  problems: { file: string; line: number; message: string }[];
  /** Problems beyond `maxProblems`, counted only. */
  moreProblems: number;
  /** Elements no section claims, `{ns}name` → how many, skipped. */
  unknown: Map<string, number>;
}

export interface ImportSettings extends ImportOptions {
  /** Hosts this server serves: a <host/> for another is refused (its users skipped) with a message. */
  hosts: readonly string[];
  maxProblems?: number;
  limits?: PieReaderLimits;
  /** Called as bytes of the top-level files are read (for the progress bar), and per user. */
  onProgress?(bytesRead: number, user: string): void;
}

/** Files to read for the paths given: a directory stands for its *.xml files whose root is <server-data/>. */
export async function importInputs(paths: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const path of paths) {
    let isDir: boolean;
    try {
      isDir = statSync(path).isDirectory();
    } catch (err) {
      throw new MigrationFileError(0, `cannot read ${path}: ${(err as Error).message}`);
    }
    if (!isDir) {
      out.push(path);
      continue;
    }
    // A file with another root (ejabberd's per-user files) is read through the xi:include that names it.
    const names = readdirSync(path)
      .filter((n) => n.endsWith(".xml"))
      .sort();
    for (const name of names) {
      const file = join(path, name);
      const root = await peekRoot(file);
      if (root?.ns === NS_PIE && root.name === "server-data") out.push(file);
    }
    if (out.length === 0)
      throw new MigrationFileError(0, `${path}: no XEP-0227 file (*.xml with <server-data/>) in it`);
  }
  return out;
}

export async function importPie(
  ctx: MigrationContext,
  files: readonly string[],
  settings: ImportSettings,
): Promise<ImportReport> {
  const report: ImportReport = {
    dryRun: settings.dryRun,
    files: [...files],
    accounts: { added: 0, changed: 0, unchanged: 0, skipped: 0 },
    sections: new Map(
      [...USER_SECTIONS, ...hostSections(ctx.modules)].map((s) => [s.name, { added: 0, changed: 0, unchanged: 0 }]),
    ),
    problems: [],
    moreProblems: 0,
    unknown: new Map(),
  };
  const maxProblems = settings.maxProblems ?? 1000;
  const options: ImportOptions = { dryRun: settings.dryRun };
  const problem = (at: Where, message: string) => {
    ctx.log.warn({ file: at.file, line: at.line }, message);
    if (report.problems.length < maxProblems) report.problems.push({ file: at.file, line: at.line, message });
    else report.moreProblems++;
  };
  const tally = (name: string, changes: SectionChanges, at: Where, who: string) => {
    const counts = report.sections.get(name) as Counts;
    counts.added += changes.added;
    counts.changed += changes.changed;
    counts.unchanged += changes.unchanged;
    for (const w of changes.warnings) problem(at, `${who}: ${name}: ${w}`);
  };
  let bytesRead = 0;

  const visitor = {
    async host(jid: string, at: Where): Promise<boolean> {
      if (settings.hosts.includes(jid)) return true;
      problem(
        at,
        `host ${jid} is not served by this server (hosts: ${settings.hosts.join(", ")}): its users are skipped; add it to hosts in the configuration first`,
      );
      return false;
    },
    async user(host: string, el: Element, at: Where): Promise<void> {
      const name = el.attrs.name;
      if (name === undefined || name === "") {
        report.accounts.skipped++;
        return problem(at, "<user/> without name: skipped");
      }
      let user: string;
      try {
        user = enforceUsernameCaseMapped(name);
        if (!tryParseJid(`${user}@${host}`)) throw new PrecisError("not a JID");
      } catch {
        report.accounts.skipped++;
        return problem(at, `user "${name}": ${name}@${host} is not a valid JID: skipped`);
      }
      const who = `${user}@${host}`;
      const warnings: string[] = [];
      const credentials = readCredentials(el, warnings);
      for (const w of warnings) problem(at, `${who}: ${w}`);
      if (credentials !== undefined) {
        try {
          const result = await ctx.accounts.importCredentials(host, user, credentials, options.dryRun);
          report.accounts[result]++;
        } catch (err) {
          if (!(err instanceof PrecisError)) throw err;
          report.accounts.skipped++;
          return problem(at, `${who}: the password is not allowed (RFC 8265 OpaqueString): skipped`);
        }
      } else if (await ctx.accounts.userExists(host, user)) {
        report.accounts.unchanged++;
      } else {
        report.accounts.skipped++;
        return problem(
          at,
          `${who}: no scram-credentials and no password: skipped (the account would have no way to log in)`,
        );
      }
      // Each child to the section that claims it.
      const claimed = new Map<string, Element[]>();
      for (const child of el.elements()) {
        if (child.ns === NS_PIE_SCRAM && child.name === "scram-credentials") continue;
        const section = USER_SECTIONS.find((s) => s.claims.some((c) => c.ns === child.ns && c.name === child.name));
        if (section === undefined) {
          const key = `{${child.ns}}${child.name}`;
          report.unknown.set(key, (report.unknown.get(key) ?? 0) + 1);
          continue;
        }
        const list = claimed.get(section.name) ?? [];
        list.push(child);
        claimed.set(section.name, list);
      }
      for (const section of USER_SECTIONS) {
        const elements = claimed.get(section.name);
        if (elements === undefined) continue;
        tally(section.name, await section.importUser(ctx, host, user, elements, options), at, who);
      }
      settings.onProgress?.(bytesRead, who);
    },
    async hostElement(host: string, el: Element, at: Where): Promise<void> {
      const section = hostSections(ctx.modules).find((s) => s.claims.some((c) => c.ns === el.ns && c.name === el.name));
      if (section === undefined) {
        const key = `{${el.ns}}${el.name}`;
        report.unknown.set(key, (report.unknown.get(key) ?? 0) + 1);
        return;
      }
      tally(section.name, await section.importHost(ctx, host, [el], options), at, host);
    },
    problem,
    progress(bytes: number) {
      bytesRead = bytes;
      settings.onProgress?.(bytesRead, "");
    },
  };
  let done = 0;
  for (const file of files) {
    const before = done;
    await readPieFile(
      file,
      { ...visitor, progress: (b) => visitor.progress(before + b) },
      settings.limits ?? DEFAULT_READER_LIMITS,
    );
    done += statSync(file).size;
  }
  return report;
}
