// The shape of `natter export` / `natter import` (XEP-0227, Portable Import/Export Format): a file of
// <server-data xmlns='urn:xmpp:pie:0'><host jid='…'><user name='…'>…</user></host></server-data>.
// Each kind of data is one section: it writes its elements under <user/> (or <host/>) on export, and on import
// applies the elements it claims. The framework (reader, writer, CLI, progress, dry-run report) knows no section's
// format; a section knows only its own, and reaches data through the same stores and codecs as its module.

import type { Logger } from "pino";
import type { InternalAccountProvider } from "../auth/internal-account-provider.js";
import type { Element } from "../core/xml/element.js";
import type { StorageDriver } from "../storage/types.js";

/** XEP-0227's own namespace. */
export const NS_PIE = "urn:xmpp:pie:0";
/**
 * Natter's documented extension (docs/migration.md) for what XEP-0227 does not name: MUC rooms with their
 * configuration and affiliations, and MUC room archives. Elements in it sit under <host/> like XEP-0227's own.
 */
export const NS_PIE_NATTER = "urn:natter:pie:0";

/** What a section reaches: the storage the server uses (the server may be stopped), and its account provider. */
export interface MigrationContext {
  storage: StorageDriver;
  accounts: InternalAccountProvider;
  log: Logger;
  /** The config's `modules` block: a section reads its module's options there (the MUC service's domain). */
  modules: Readonly<Record<string, unknown>>;
}

/** An element a section claims on import: children of <user/> or <host/> with this namespace and local name. */
export interface ClaimedElement {
  ns: string;
  name: string;
}

/** What one section did (or, in a dry run, would do) for one user or host. */
export interface SectionChanges {
  /** Items that were not there before (a roster item, a message, a vCard). */
  added: number;
  /** Items that were there with other content and were replaced. */
  changed: number;
  /** Items already there with the same content: a second import of one file finds only these (idempotent). */
  unchanged: number;
  /** Data the section skipped, each with the reason ("roster item without jid"); the import goes on. */
  warnings: string[];
}

export interface ImportOptions {
  /** Report what would change; write nothing. */
  dryRun: boolean;
}

/** Per-user data: roster, vCard, private storage, privacy lists, blocklist, offline messages, PEP, archive. */
export interface UserSection {
  /** Short name for the progress line and the report ("roster", "vcard"). */
  readonly name: string;
  readonly claims: readonly ClaimedElement[];
  /** The user's data as elements to append under <user/> (none when the user has none). */
  exportUser(ctx: MigrationContext, host: string, user: string): Promise<Element[]>;
  /** Applies the claimed elements found under one <user/> (the account already exists when this runs). */
  importUser(
    ctx: MigrationContext,
    host: string,
    user: string,
    elements: readonly Element[],
    options: ImportOptions,
  ): Promise<SectionChanges>;
}

/** Per-host data that belongs to no user: MUC rooms of the host's MUC service (Natter's extension). */
export interface HostSection {
  readonly name: string;
  readonly claims: readonly ClaimedElement[];
  exportHost(ctx: MigrationContext, host: string): Promise<Element[]>;
  importHost(
    ctx: MigrationContext,
    host: string,
    elements: readonly Element[],
    options: ImportOptions,
  ): Promise<SectionChanges>;
}

/** A file that cannot be read as XEP-0227: the message names the line (1-based) and what is wrong. */
export class MigrationFileError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
    this.name = "MigrationFileError";
  }
}
