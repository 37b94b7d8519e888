// The data directory holds secrets (SCRAM keys and archives in the database, the server secret, TLS keys,
// uploads): owner-only, 0700 directories and 0600 files, whatever the process umask. New files are created
// private; an existing deployment made before this rule is tightened on start, and the log says what changed.
import { chmodSync, closeSync, lstatSync, openSync, readdirSync } from "node:fs";
import { join } from "node:path";

const GROUP_OTHER = 0o077;

/** Creates an empty file 0600 when it does not exist yet (e.g. before SQLite opens it: its -wal and -shm copy its mode). */
export function ensurePrivateFile(path: string): void {
  try {
    closeSync(openSync(path, "wx", 0o600));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
}

export interface ModeChange {
  path: string;
  /** The mode before, in octal. */
  mode: string;
  /** Why it could not be changed (a file owned by another user): left as it was. */
  error?: string;
}

/**
 * Removes group and other permissions from `path` and, for a directory, everything under it (symbolic links
 * are not followed). Returns the paths it changed or failed to change, with their old modes, for the log.
 */
export function tightenTree(path: string): ModeChange[] {
  const changed: ModeChange[] = [];
  const visit = (p: string) => {
    let stat: ReturnType<typeof lstatSync>;
    try {
      stat = lstatSync(p);
    } catch {
      return; // gone meanwhile
    }
    if (stat.isSymbolicLink()) return;
    if ((stat.mode & GROUP_OTHER) !== 0) {
      const mode = (stat.mode & 0o777).toString(8);
      try {
        chmodSync(p, stat.mode & 0o700);
        changed.push({ path: p, mode });
      } catch (err) {
        changed.push({ path: p, mode, error: (err as NodeJS.ErrnoException).code ?? String(err) });
      }
    }
    if (stat.isDirectory()) for (const name of readdirSync(p)) visit(join(p, name));
  };
  visit(path);
  return changed;
}
