// A per-installation random secret kept in the data directory, for values that must stay the same across
// restarts but be unguessable (the fake SCRAM salts answered for unknown users).
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export function loadServerSecret(dataDir: string): Buffer {
  const path = join(dataDir, "server-secret");
  try {
    const existing = readFileSync(path);
    if (existing.length >= 32) return existing;
  } catch {}
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const secret = randomBytes(32);
  writeFileSync(path, secret, { mode: 0o600 });
  return secret;
}
