// XEP-0484 (FAST, v0.2.0) tokens: issued to a client after a login on request, bound to its user agent id and to the
// mechanism it asked for, checked with the HT-* mechanisms (ht-mechanism.ts), rotated, revoked.
//
// What is stored is never a token: each record holds a random id, and the token is HMAC-SHA-256 of the id under a
// key derived from the installation secret (data_dir/server-secret), so a copy of the database alone yields no
// token. The HT mechanisms need the token itself as their HMAC key, so a hash of it (which could not be used as
// the key) would not do; the keyed derivation gives the same protection of the store.
//
// A record also holds a fingerprint of the account's stored credentials when it was issued: a password change
// (CLI, admin API, in-band, import: whatever path changed the credentials) makes every older token fail.
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { Json, MapStore, StorageDriver } from "../storage/types.js";
import type { AccountProvider } from "./types.js";

export interface FastTokenOptions {
  /** Seconds a token is valid from its issue. */
  lifetime: number;
  /** A token older than this (seconds) is replaced by a new one at its next use (XEP-0484 §3.3 rotation). */
  rotateAfter: number;
  /** Most tokens one account holds (two per user agent during a rotation); the least recently used go first. */
  maxTokensPerAccount: number;
}

export interface FastTokenRecord {
  /** The user agent id (XEP-0388 <user-agent id/>) it was issued to. */
  agent: string;
  /** The HT mechanism it was issued for (XEP-0484 §3.1: used with that one only). */
  mech: string;
  /** Issued and expiry times, ms. */
  iat: number;
  exp: number;
  /** Last use, ms. */
  used: number;
  /** Highest XEP-0484 `count` seen (0 = none). */
  count: number;
  /** Fingerprint of the account's credentials at issue ("" on hosts whose passwords live elsewhere). */
  cred: string;
}

export interface IssuedToken {
  token: string;
  expiry: Date;
}

/** What a FAST login presents beyond the HT proof. */
export interface FastAttempt {
  agentId: string;
  mechanism: string;
  /** XEP-0484 `count` attribute of <fast/>, when sent. */
  count: number | undefined;
  /** `invalidate='true'`: the token is revoked once this login succeeds (a client's logout). */
  invalidate: boolean;
}

export type FastVerdict =
  | {
      ok: true;
      tokenId: string;
      record: FastTokenRecord;
      token: Buffer;
      /** The client sent a `count`, now the record's: it must be stored before the login succeeds. */
      counted: boolean;
      /** The same agent's older tokens, which go once this newer one is used (a completed rotation). */
      older: string[];
      /** The account's disabled flag, read with the credentials the token was checked against, when known. */
      disabled?: boolean;
    }
  | { ok: false; reason: "no-token" | "replayed" | "expired" };

const STORE = "fast-tokens";
const USED_GRANULARITY_MS = 3_600_000;
const AGENT_ID = /^[0-9a-fA-F-]{1,64}$/;

/** A user agent id usable as a binding (XEP-0388 §2.3: a UUID; any short hex-and-dash id is taken). */
export function validAgentId(id: string | undefined): id is string {
  return id !== undefined && AGENT_ID.test(id);
}

export class FastTokens {
  private readonly key: Buffer;

  constructor(
    private readonly storage: StorageDriver,
    private readonly accounts: AccountProvider,
    serverSecret: Buffer,
    private options: FastTokenOptions,
    private readonly now: () => number = Date.now,
  ) {
    this.key = createHmac("sha256", serverSecret).update("natter xep-0484 fast tokens").digest();
  }

  setOptions(options: FastTokenOptions): void {
    this.options = options;
  }

  private store(host: string): MapStore {
    return this.storage.open(host, STORE, "map");
  }

  private tokenOf(host: string, user: string, id: string): Buffer {
    return Buffer.from(createHmac("sha256", this.key).update(`${host}\0${user}\0${id}`).digest("base64url"), "utf8");
  }

  /** A fingerprint of the account's stored credentials: changes whenever the password does. */
  private async credentialFingerprint(host: string, user: string): Promise<string> {
    return (await this.credentialState(host, user)).fingerprint;
  }

  /** The fingerprint, and the account's disabled flag when the provider read it with the credentials. */
  private async credentialState(host: string, user: string): Promise<{ fingerprint: string; disabled?: boolean }> {
    if (this.accounts.credentialKind(host) !== "scram") return { fingerprint: "" };
    const c =
      (await this.accounts.scramCredentials(host, user, "SHA-1")) ??
      (await this.accounts.scramCredentials(host, user, "SHA-256"));
    if (!c) return { fingerprint: "none" };
    const fingerprint = createHash("sha256").update(c.salt).update(c.storedKey).digest("base64").slice(0, 22);
    return c.disabled === undefined ? { fingerprint } : { fingerprint, disabled: c.disabled };
  }

  /** Issues a token for an agent and mechanism (XEP-0484 §3.2); keeps the account within its token limit. */
  async issue(host: string, user: string, agentId: string, mechanism: string): Promise<IssuedToken> {
    const store = this.store(host);
    const id = randomBytes(16).toString("base64url");
    const now = this.now();
    const record: FastTokenRecord = {
      agent: agentId,
      mech: mechanism,
      iat: now,
      exp: now + this.options.lifetime * 1000,
      used: now,
      count: 0,
      cred: await this.credentialFingerprint(host, user),
    };
    // The agent's older tokens stay valid until the new one is used (the <success/> carrying it may be lost),
    // but one agent keeps at most two.
    const all = await this.records(host, user);
    const sameAgent = all.filter(([, r]) => r.agent === agentId).sort((a, b) => b[1].iat - a[1].iat);
    for (const [oldId] of sameAgent.slice(1)) await store.delete(user, oldId);
    const others = all.filter(([k]) => !sameAgent.slice(1).some(([o]) => o === k));
    // Bounded per account: the least recently used tokens make room.
    const excess = others.length + 1 - this.options.maxTokensPerAccount;
    if (excess > 0) {
      const lru = [...others].sort((a, b) => a[1].used - b[1].used).slice(0, excess);
      for (const [oldId] of lru) await store.delete(user, oldId);
    }
    await store.set(user, id, record as unknown as Json);
    return { token: this.tokenOf(host, user, id).toString("utf8"), expiry: new Date(record.exp) };
  }

  /**
   * Finds the token whose HT proof matches (`proves(token)`): bound to the agent and mechanism, unexpired, issued
   * under the current credentials, and (XEP-0484 §4.2) with a `count` above the last one seen when one is sent.
   * Never derives a password: one map read and two HMACs per token of the account.
   */
  async verify(
    host: string,
    user: string,
    attempt: FastAttempt,
    proves: (token: Buffer) => boolean,
  ): Promise<FastVerdict> {
    const now = this.now();
    const records = await this.records(host, user);
    let cred: { fingerprint: string; disabled?: boolean } | undefined;
    for (const [id, record] of records) {
      if (record.agent !== attempt.agentId || record.mech !== attempt.mechanism) continue;
      const token = this.tokenOf(host, user, id);
      if (!proves(token)) continue;
      if (record.exp <= now) {
        await this.store(host).delete(user, id);
        return { ok: false, reason: "expired" };
      }
      cred ??= await this.credentialState(host, user);
      if (record.cred !== cred.fingerprint) {
        await this.store(host).delete(user, id);
        return { ok: false, reason: "expired" };
      }
      if (attempt.count !== undefined) {
        if (attempt.count <= record.count) return { ok: false, reason: "replayed" };
        record.count = attempt.count;
      }
      const older = records
        .filter(([other, r]) => other !== id && r.agent === record.agent && r.iat < record.iat)
        .map(([other]) => other);
      const counted = attempt.count !== undefined;
      const verdict: FastVerdict = { ok: true, tokenId: id, record, token, counted, older };
      if (cred.disabled !== undefined) verdict.disabled = cred.disabled;
      return verdict;
    }
    return { ok: false, reason: "no-token" };
  }

  /**
   * After a successful FAST login: the token's use is recorded, the agent's older tokens go (a rotation is
   * complete once the new token was used), or the token itself when the client asked to invalidate it.
   * Returns whether the token is due for rotation.
   */
  async used(
    host: string,
    user: string,
    verdict: Extract<FastVerdict, { ok: true }>,
    invalidate: boolean,
  ): Promise<boolean> {
    const store = this.store(host);
    if (invalidate) {
      await store.delete(user, verdict.tokenId);
      return false;
    }
    const now = this.now();
    // A new count must be stored (replay protection); `used` only orders eviction, so it is kept to the hour and
    // a phone reconnecting with the same token all day costs a read, not a write, per login.
    if (verdict.counted || now - verdict.record.used >= USED_GRANULARITY_MS) {
      verdict.record.used = now;
      await store.set(user, verdict.tokenId, verdict.record as unknown as Json);
    }
    for (const id of verdict.older) await store.delete(user, id);
    return now - verdict.record.iat >= this.options.rotateAfter * 1000;
  }

  /** Revokes every token of an account, or those of one user agent. Returns how many. */
  revoke(host: string, user: string, agentId?: string): Promise<number> {
    return revokeFastTokens(this.storage, host, user, agentId);
  }

  list(host: string, user: string): Promise<FastTokenSummary[]> {
    return listFastTokens(this.storage, host, user);
  }

  private records(host: string, user: string): Promise<[string, FastTokenRecord][]> {
    return recordsOf(this.store(host), user);
  }
}

/** What an administrator sees of a token: the client it was issued to, never the token. */
export interface FastTokenSummary {
  agent: string;
  mechanism: string;
  issued: Date;
  expiry: Date;
}

/**
 * Revokes every token of an account, or those of one user agent; returns how many. Effective at once, for the
 * running server too: a FAST login reads the store. Needs no secret (ids are deleted, no token is derived), so
 * every admin front end (CLI, HTTP API, ad-hoc commands) calls this one.
 */
export async function revokeFastTokens(
  storage: StorageDriver,
  host: string,
  user: string,
  agentId?: string,
): Promise<number> {
  const store = storage.open(host, STORE, "map");
  let n = 0;
  for (const [id, r] of await recordsOf(store, user)) {
    if (agentId !== undefined && r.agent !== agentId) continue;
    await store.delete(user, id);
    n++;
  }
  return n;
}

/** An account's tokens, as administrators see them. */
export async function listFastTokens(storage: StorageDriver, host: string, user: string): Promise<FastTokenSummary[]> {
  return (await recordsOf(storage.open(host, STORE, "map"), user)).map(([, r]) => ({
    agent: r.agent,
    mechanism: r.mech,
    issued: new Date(r.iat),
    expiry: new Date(r.exp),
  }));
}

async function recordsOf(store: MapStore, user: string): Promise<[string, FastTokenRecord][]> {
  const out: [string, FastTokenRecord][] = [];
  for (const [id, value] of await store.getAll(user)) {
    if (isRecord(value)) out.push([id, value]);
  }
  return out;
}

function isRecord(v: Json): v is Json & FastTokenRecord {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  return (
    typeof v.agent === "string" &&
    typeof v.mech === "string" &&
    typeof v.iat === "number" &&
    typeof v.exp === "number" &&
    typeof v.used === "number" &&
    typeof v.count === "number" &&
    typeof v.cred === "string"
  );
}

/** Constant-time equality for HT proofs. */
export function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
