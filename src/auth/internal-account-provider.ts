// Accounts kept in Natter's own storage: per host, one JSON record per user in the "accounts" key-value store,
// holding SCRAM-SHA-1 and SCRAM-SHA-256 credentials (RFC 5802 §3) and never the password.
import { timingSafeEqual } from "node:crypto";
import { LruMap } from "../core/lru-map.js";
import { enforceUsernameCaseMapped, PrecisError } from "../core/precis.js";
import type { Json, KeyValueStore, StorageDriver } from "../storage/types.js";
import { deriveScramCredentials } from "./scram-credentials.js";
import {
  AccountExistsError,
  type AccountProvider,
  NoSuchAccountError,
  type ScramCredentials,
  type ScramHash,
} from "./types.js";

export interface InternalAccountProviderOptions {
  /** PBKDF2 iterations for new credentials; RFC 7677 §4 asks for at least 4096. */
  iterations: number;
  /**
   * Account names remembered as existing (`storage.cache_entries`; 0: none): the router asks for every stanza to
   * an offline bare JID, a presence broadcast for each contact. Only existence is kept, never credentials, so a
   * password changed by the CLI takes effect at once; an account deleted by the CLI is forgotten through
   * forgetUser when the server hears of the deletion.
   */
  knownAccounts?: number;
}

// Strongest first.
const HASHES: readonly ScramHash[] = ["SHA-256", "SHA-1"];

/** A stored credential set, as JSON: binary fields in base64. */
interface StoredScram {
  salt: string;
  iterations: number;
  storedKey: string;
  serverKey: string;
}

// Fixed salt for the dummy derivation run for unknown users: only its cost matters, not its output.
const DUMMY_SALT = Buffer.alloc(16);

export class InternalAccountProvider implements AccountProvider {
  private readonly stores = new Map<string, KeyValueStore>();
  /** Accounts being created right now, so two concurrent createUser calls cannot both succeed. */
  private readonly creating = new Set<string>();
  /** `${host}\0${username}` of accounts seen to exist. */
  private readonly known: LruMap<string, true> | undefined;
  private readonly deleting = new Set<string>();

  constructor(
    private readonly storage: StorageDriver,
    private readonly options: InternalAccountProviderOptions,
  ) {
    if (!Number.isSafeInteger(options.iterations) || options.iterations < 1) {
      throw new RangeError(`invalid SCRAM iteration count ${options.iterations}`);
    }
    const capacity = options.knownAccounts ?? 0;
    this.known = capacity > 0 ? new LruMap(capacity) : undefined;
  }

  credentialKind(): "scram" {
    return "scram";
  }

  async scramCredentials(host: string, user: string, hash: ScramHash): Promise<ScramCredentials | undefined> {
    const username = normalizeOrUndefined(user);
    if (username === undefined) return undefined;
    const record = await this.store(host).get(username);
    if (record === undefined) return undefined;
    const credentials = decodeCredentials(record, hash);
    // The flag lives in the same record: a login learns it here, without reading the record again.
    return credentials === undefined ? undefined : { ...credentials, disabled: isDisabledRecord(record) };
  }

  async verifyPassword(host: string, user: string, password: string): Promise<boolean> {
    const username = normalizeOrUndefined(user);
    const record = username === undefined ? undefined : await this.store(host).get(username);
    const stored = record === undefined ? undefined : strongestCredentials(record);
    try {
      if (stored === undefined) {
        // Same PBKDF2 cost as a real check, so response time does not tell which accounts exist.
        await deriveScramCredentials(password, "SHA-256", this.options.iterations, DUMMY_SALT);
        return false;
      }
      const { hash, credentials } = stored;
      const derived = await deriveScramCredentials(password, hash, credentials.iterations, credentials.salt);
      const valid =
        derived.storedKey.length === credentials.storedKey.length &&
        timingSafeEqual(derived.storedKey, credentials.storedKey);
      // XEP-0480 (server side): an account imported with SCRAM-SHA-1 credentials only gets SCRAM-SHA-256 ones the
      // first time its password is seen (a PLAIN login), so SCRAM-SHA-256 works for it from then on.
      if (valid && hash === "SHA-1" && username !== undefined && isObject(record)) {
        await this.addSha256(host, username, record, password).catch(() => undefined);
      }
      return valid;
    } catch (err) {
      // A password the OpaqueString profile refuses cannot be anyone's.
      if (err instanceof PrecisError) return false;
      throw err;
    }
  }

  /**
   * XEP-0480: credentials of `hash` for an account that has none of that hash (an upgrade task's result). False
   * when there is no such account or it has them already: a task never replaces credentials.
   */
  async addScramCredentials(
    host: string,
    user: string,
    hash: ScramHash,
    credentials: ScramCredentials,
  ): Promise<boolean> {
    const username = normalizeOrUndefined(user);
    const record = username === undefined ? undefined : await this.store(host).get(username);
    if (username === undefined || !isObject(record)) return false;
    const scram = isObject(record.scram) ? record.scram : {};
    if (scram[hash] !== undefined) return false;
    await this.store(host).set(username, { ...record, scram: { ...scram, [hash]: encodeCredentials(credentials) } });
    return true;
  }

  private async addSha256(
    host: string,
    username: string,
    record: { [key: string]: Json },
    password: string,
  ): Promise<void> {
    const scram = isObject(record.scram) ? record.scram : {};
    if (scram["SHA-256"] !== undefined) return;
    const sha256 = await deriveScramCredentials(password, "SHA-256", this.options.iterations);
    await this.store(host).set(username, { ...record, scram: { ...scram, "SHA-256": encodeCredentials(sha256) } });
  }

  async userExists(host: string, user: string): Promise<boolean> {
    const username = normalizeOrUndefined(user);
    if (username === undefined) return false;
    const key = `${host}\0${username}`;
    if (this.known?.get(key)) return true;
    const exists = (await this.store(host).get(username)) !== undefined;
    // Not remembered if deleted meanwhile (deleteUser forgets before its write completes).
    if (exists && !this.deleting.has(key)) this.known?.set(key, true);
    return exists;
  }

  forgetUser(host: string, user: string): void {
    const username = normalizeOrUndefined(user);
    if (username !== undefined) this.known?.delete(`${host}\0${username}`);
  }

  /** Throws AccountExistsError, or PrecisError when the username or password is not allowed (RFC 8265). */
  async createUser(host: string, user: string, password: string): Promise<void> {
    const username = enforceUsernameCaseMapped(user);
    const key = `${host}\0${username}`;
    if (this.creating.has(key)) throw new AccountExistsError(`${username}@${host} exists`);
    this.creating.add(key);
    try {
      if ((await this.store(host).get(username)) !== undefined)
        throw new AccountExistsError(`${username}@${host} exists`);
      await this.store(host).set(username, await this.credentialRecord(password));
    } finally {
      this.creating.delete(key);
    }
  }

  /** Throws NoSuchAccountError, or PrecisError when the password is not allowed. */
  async setPassword(host: string, user: string, password: string): Promise<void> {
    const username = this.existingUsername(user);
    const record = await this.store(host).get(username);
    if (record === undefined) throw new NoSuchAccountError(`${username}@${host}`);
    // A new password does not re-enable a disabled account.
    const credentials = await this.credentialRecord(password);
    await this.store(host).set(username, isDisabledRecord(record) ? { ...credentials, disabled: true } : credentials);
  }

  /** Throws NoSuchAccountError. The flag lives in the account's record, beside its credentials. */
  async setDisabled(host: string, user: string, disabled: boolean): Promise<void> {
    const username = this.existingUsername(user);
    const record = await this.store(host).get(username);
    if (!isObject(record)) throw new NoSuchAccountError(`${username}@${host}`);
    const { disabled: _previous, ...rest } = record;
    await this.store(host).set(username, disabled ? { ...rest, disabled: true } : rest);
  }

  async isDisabled(host: string, user: string): Promise<boolean> {
    const username = normalizeOrUndefined(user);
    if (username === undefined) return false;
    return isDisabledRecord(await this.store(host).get(username));
  }

  /** Throws NoSuchAccountError when there is no such account. */
  async deleteUser(host: string, user: string): Promise<void> {
    const username = this.existingUsername(user);
    if ((await this.store(host).get(username)) === undefined) throw new NoSuchAccountError(`${username}@${host}`);
    const key = `${host}\0${username}`;
    this.deleting.add(key);
    this.known?.delete(key);
    try {
      await this.store(host).delete(username);
    } finally {
      this.known?.delete(key);
      this.deleting.delete(key);
    }
  }

  /**
   * The stored SCRAM credentials of an account, per hash, for export (XEP-0227 §4.2 scram-credentials):
   * never a password, which is not kept. Undefined when there is no such account.
   */
  async exportCredentials(
    host: string,
    user: string,
  ): Promise<Partial<Record<ScramHash, ScramCredentials>> | undefined> {
    const username = normalizeOrUndefined(user);
    const record = username === undefined ? undefined : await this.store(host).get(username);
    if (record === undefined) return undefined;
    const out: Partial<Record<ScramHash, ScramCredentials>> = {};
    for (const hash of HASHES) {
      const c = decodeCredentials(record, hash);
      if (c !== undefined) out[hash] = c;
    }
    return out;
  }

  /**
   * Creates or updates an account from imported credentials (`natter import`): SCRAM records as another server
   * derived them, or a plaintext password (older exports) from which both hashes are derived. A password that
   * the stored credentials already verify, or records equal to the stored ones, change nothing ("unchanged"),
   * so a second import of one file is a no-op. The disabled flag of an existing account is kept.
   * Throws PrecisError when the username or password is not allowed (RFC 8265).
   */
  async importCredentials(
    host: string,
    user: string,
    source: { password: string } | { scram: Partial<Record<ScramHash, ScramCredentials>> },
    dryRun: boolean,
  ): Promise<"added" | "changed" | "unchanged"> {
    const username = enforceUsernameCaseMapped(user);
    const existing = await this.store(host).get(username);
    if (existing !== undefined) {
      if ("password" in source) {
        if (await this.verifyPassword(host, username, source.password)) return "unchanged";
      } else if (HASHES.every((h) => sameCredentials(decodeCredentials(existing, h), source.scram[h]))) {
        return "unchanged";
      }
    }
    if (dryRun) return existing === undefined ? "added" : "changed";
    let record: { [key: string]: Json };
    if ("password" in source) record = await this.credentialRecord(source.password);
    else {
      const scram: { [key: string]: Json } = {};
      for (const h of HASHES) {
        const c = source.scram[h];
        if (c !== undefined) scram[h] = encodeCredentials(c);
      }
      record = { scram };
    }
    await this.store(host).set(username, isDisabledRecord(existing) ? { ...record, disabled: true } : record);
    return existing === undefined ? "added" : "changed";
  }

  async listUsers(host: string): Promise<string[]> {
    return this.store(host).users();
  }

  private store(host: string): KeyValueStore {
    let store = this.stores.get(host);
    if (store === undefined) {
      store = this.storage.open(host, "accounts", "keyval");
      this.stores.set(host, store);
    }
    return store;
  }

  /** A name the profile refuses cannot belong to an account. */
  private existingUsername(user: string): string {
    const username = normalizeOrUndefined(user);
    if (username === undefined) throw new NoSuchAccountError(user);
    return username;
  }

  private async credentialRecord(password: string): Promise<{ [key: string]: Json }> {
    const [sha1, sha256] = await Promise.all([
      deriveScramCredentials(password, "SHA-1", this.options.iterations),
      deriveScramCredentials(password, "SHA-256", this.options.iterations),
    ]);
    return { scram: { "SHA-1": encodeCredentials(sha1), "SHA-256": encodeCredentials(sha256) } };
  }
}

function normalizeOrUndefined(user: string): string | undefined {
  try {
    return enforceUsernameCaseMapped(user);
  } catch {
    return undefined;
  }
}

function encodeCredentials(c: ScramCredentials): { [key: string]: Json } & StoredScram {
  return {
    salt: c.salt.toString("base64"),
    iterations: c.iterations,
    storedKey: c.storedKey.toString("base64"),
    serverKey: c.serverKey.toString("base64"),
  };
}

/** Reads one hash's credentials from a record; undefined when absent or not well-formed. */
function decodeCredentials(record: Json, hash: ScramHash): ScramCredentials | undefined {
  const scram = isObject(record) ? record.scram : undefined;
  const entry = isObject(scram) ? scram[hash] : undefined;
  if (!isObject(entry)) return undefined;
  const { salt, iterations, storedKey, serverKey } = entry;
  if (typeof salt !== "string" || typeof storedKey !== "string" || typeof serverKey !== "string") return undefined;
  if (typeof iterations !== "number" || !Number.isSafeInteger(iterations) || iterations < 1) return undefined;
  return {
    salt: Buffer.from(salt, "base64"),
    iterations,
    storedKey: Buffer.from(storedKey, "base64"),
    serverKey: Buffer.from(serverKey, "base64"),
  };
}

/** The best credentials a record holds (records imported from elsewhere may lack SHA-256). */
function strongestCredentials(record: Json): { hash: ScramHash; credentials: ScramCredentials } | undefined {
  for (const hash of HASHES) {
    const credentials = decodeCredentials(record, hash);
    if (credentials !== undefined) return { hash, credentials };
  }
  return undefined;
}

function sameCredentials(a: ScramCredentials | undefined, b: ScramCredentials | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return (
    a.iterations === b.iterations &&
    a.salt.equals(b.salt) &&
    a.storedKey.equals(b.storedKey) &&
    a.serverKey.equals(b.serverKey)
  );
}

function isDisabledRecord(record: Json | undefined): boolean {
  return isObject(record) && record.disabled === true;
}

function isObject(value: Json | undefined): value is { [key: string]: Json } {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
