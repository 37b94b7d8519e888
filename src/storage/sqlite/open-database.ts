import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { ensurePrivateFile } from "../../core/private-files.js";

/** How long a writer waits for another process (a CLI command beside the server) to release the file. */
const BUSY_TIMEOUT_MS = 5000;

/** Opens (creating it and its directory if needed) a SQLite file tuned for a server. */
export function openSqliteDatabase(path: string): Database.Database {
  if (path !== ":memory:") {
    // SCRAM keys, archives, secrets: owner-only from the first byte; SQLite gives -wal and -shm the file's mode.
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    ensurePrivateFile(path);
  }
  const db = new Database(path);
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`); // first, so the pragmas below wait too
  db.pragma("journal_mode = WAL"); // readers never block the writer
  db.pragma("synchronous = NORMAL"); // WAL stays consistent; a power cut may drop the last commits, a crash does not
  db.pragma("foreign_keys = ON");
  return db;
}
