// On start: the data directory owner-only (0700, its files 0600), created so or tightened, with a log line
// naming what a deployment made before this rule had open to others.
import { mkdirSync } from "node:fs";
import { dirname, relative } from "node:path";
import type { Logger } from "pino";
import type { Config } from "./config/index.js";
import { tightenTree } from "./private-files.js";

export function secureDataDirectory(config: Config, log: Logger): void {
  // mode applies to every directory mkdir creates; existing parents (/var/lib, /srv…) are left alone.
  mkdirSync(config.data_dir, { recursive: true, mode: 0o700 });
  const changed = tightenTree(config.data_dir);
  // A database configured outside the data directory: its file and SQLite's companions, not its directory.
  const db = config.storage.driver === "sqlite" ? config.storage.sqlite.path : undefined;
  if (db && relative(config.data_dir, dirname(db)).startsWith("..")) {
    for (const file of [db, `${db}-wal`, `${db}-shm`]) changed.push(...tightenTree(file));
  }
  const done = changed.filter((c) => c.error === undefined);
  const failed = changed.filter((c) => c.error !== undefined);
  if (done.length > 0) {
    log.warn(
      { dataDir: config.data_dir, count: done.length, changed: done.slice(0, 20) },
      "removed group/other access from files in the data directory (secrets must be owner-only)",
    );
  }
  if (failed.length > 0) {
    // Not fatal: a file another user owns (copied in as root) is theirs to fix; the server still starts.
    log.error({ dataDir: config.data_dir, count: failed.length, failed: failed.slice(0, 20) }, "could not make files in the data directory owner-only");
  }
}
