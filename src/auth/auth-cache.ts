// Brief memory of what an external account backend answered (docs/authentication.md "Caching"): a verified
// password for `ttl` seconds and a user's existence, so a burst of logins or of stanzas to offline users does
// not become a burst of directory queries. Never the password itself: an HMAC of it under a per-process key
// and a per-entry salt, compared in constant time. Bounded: the least recently stored entry goes first.
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

export interface AuthCacheOptions {
  /** Milliseconds an answer is trusted; 0 turns the cache off. */
  ttlMs: number;
  /** Entries of each kind (passwords, existence) kept at most. */
  maxEntries: number;
  now?: () => number;
}

interface PasswordEntry {
  salt: Buffer;
  digest: Buffer;
  expires: number;
}

export class AuthCache {
  private readonly key = randomBytes(32);
  private readonly passwords = new Map<string, PasswordEntry>();
  private readonly existence = new Map<string, { exists: boolean; expires: number }>();
  private readonly now: () => number;

  constructor(private readonly options: AuthCacheOptions) {
    this.now = options.now ?? Date.now;
  }

  private get enabled(): boolean {
    return this.options.ttlMs > 0 && this.options.maxEntries > 0;
  }

  private digest(salt: Buffer, password: string): Buffer {
    return createHmac("sha256", this.key).update(salt).update(password, "utf8").digest();
  }

  /** True when this exact password was verified for the user within the TTL. */
  hasVerified(host: string, user: string, password: string): boolean {
    const id = entryKey(host, user);
    const entry = this.passwords.get(id);
    if (!entry) return false;
    if (entry.expires <= this.now()) {
      this.passwords.delete(id);
      return false;
    }
    return timingSafeEqual(entry.digest, this.digest(entry.salt, password));
  }

  /** Only positive answers are stored: a refused password always asks the backend again. */
  rememberVerified(host: string, user: string, password: string): void {
    if (!this.enabled) return;
    const salt = randomBytes(16);
    const id = entryKey(host, user);
    this.passwords.delete(id);
    this.passwords.set(id, { salt, digest: this.digest(salt, password), expires: this.now() + this.options.ttlMs });
    trim(this.passwords, this.options.maxEntries);
    this.rememberExists(host, user, true);
  }

  /** Whether the user exists, when known within the TTL; undefined otherwise. */
  exists(host: string, user: string): boolean | undefined {
    const id = entryKey(host, user);
    const entry = this.existence.get(id);
    if (!entry) return undefined;
    if (entry.expires <= this.now()) {
      this.existence.delete(id);
      return undefined;
    }
    return entry.exists;
  }

  rememberExists(host: string, user: string, exists: boolean): void {
    if (!this.enabled) return;
    const id = entryKey(host, user);
    this.existence.delete(id);
    this.existence.set(id, { exists, expires: this.now() + this.options.ttlMs });
    trim(this.existence, this.options.maxEntries);
  }

  /** A failed verification (the password may have changed) or an operator's change: ask again next time. */
  forget(host: string, user: string): void {
    const id = entryKey(host, user);
    this.passwords.delete(id);
    this.existence.delete(id);
  }

  get size(): { passwords: number; existence: number } {
    return { passwords: this.passwords.size, existence: this.existence.size };
  }
}

function entryKey(host: string, user: string): string {
  return `${host}\u0000${user}`;
}

/** Maps iterate in insertion order and entries are re-inserted when stored: the first is the oldest. */
function trim(map: Map<string, unknown>, max: number): void {
  while (map.size > max) {
    const oldest = map.keys().next().value;
    if (oldest === undefined) return;
    map.delete(oldest);
  }
}
