// API tokens for the admin HTTP API (`natter token create|list|revoke`). A token is shown once; only its
// SHA-256 is stored (a 256-bit random secret needs no slow hash: nobody can guess it, only steal it), in a
// key-value store on host "" (no account lives there), one record per token id.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { Json, KeyValueStore, StorageDriver } from "../storage/types.js";
import { ADMIN_SCOPES, type AdminAuthenticator, type AdminPrincipal, type AdminScope } from "./types.js";

const STORE = "admin-api-tokens";
/** natter_<id>_<secret>: the id finds the record, the secret proves it. */
const TOKEN_FORMAT = /^natter_([A-Za-z0-9_-]{12})_([A-Za-z0-9_-]{43})$/;
const DAY_MS = 24 * 60 * 60 * 1000;

export interface ApiTokenInfo {
  id: string;
  name: string;
  scopes: AdminScope[];
  createdAt: number;
  /** ms since epoch; absent: never expires. */
  expiresAt?: number;
}

interface StoredToken extends ApiTokenInfo {
  /** base64 SHA-256 of the secret part. */
  hash: string;
}

export function isAdminScope(s: string): s is AdminScope {
  return (ADMIN_SCOPES as readonly string[]).includes(s);
}

/** "users:read,sessions:write" → scopes; throws on an unknown one. "*" or "all" means every scope. */
export function parseScopes(text: string): AdminScope[] {
  const names = text.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (names.length === 1 && (names[0] === "*" || names[0] === "all")) return [...ADMIN_SCOPES];
  if (names.length === 0) throw new Error(`give at least one scope: ${ADMIN_SCOPES.join(", ")}`);
  for (const n of names) if (!isAdminScope(n)) throw new Error(`unknown scope "${n}" (scopes: ${ADMIN_SCOPES.join(", ")})`);
  return [...new Set(names as AdminScope[])];
}

function sha256(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

export class ApiTokens {
  private readonly store: KeyValueStore;

  constructor(storage: StorageDriver) {
    this.store = storage.open("", STORE, "keyval");
  }

  /** Creates a token; the returned `token` is the only copy of its secret. */
  async create(options: { scopes: AdminScope[]; name?: string; expiresInDays?: number }): Promise<{ token: string; info: ApiTokenInfo }> {
    if (options.scopes.length === 0) throw new Error("a token needs at least one scope");
    const id = randomBytes(9).toString("base64url");
    const secret = randomBytes(32).toString("base64url");
    const now = Date.now();
    const info: ApiTokenInfo = {
      id,
      name: options.name ?? "",
      scopes: [...options.scopes],
      createdAt: now,
      ...(options.expiresInDays !== undefined ? { expiresAt: now + options.expiresInDays * DAY_MS } : {}),
    };
    const stored: StoredToken = { ...info, hash: sha256(secret).toString("base64") };
    await this.store.set(id, stored as unknown as Json);
    return { token: `natter_${id}_${secret}`, info };
  }

  async list(): Promise<ApiTokenInfo[]> {
    const out: ApiTokenInfo[] = [];
    for (const id of await this.store.users()) {
      const record = decode(await this.store.get(id));
      if (record) out.push(publicInfo(record));
    }
    return out.sort((a, b) => a.createdAt - b.createdAt);
  }

  /** False when there is no such token. */
  async revoke(id: string): Promise<boolean> {
    if ((await this.store.get(id)) === undefined) return false;
    await this.store.delete(id);
    return true;
  }

  /** The token's record when `token` is valid and not expired; undefined otherwise. */
  async verify(token: string): Promise<ApiTokenInfo | undefined> {
    const m = TOKEN_FORMAT.exec(token);
    if (!m) return undefined;
    const record = decode(await this.store.get(m[1]!));
    if (!record) return undefined;
    const expected = Buffer.from(record.hash, "base64");
    const actual = sha256(m[2]!);
    if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) return undefined;
    if (record.expiresAt !== undefined && record.expiresAt <= Date.now()) return undefined;
    return publicInfo(record);
  }
}

/** `Authorization: Bearer <token>` (RFC 6750 §2.1). */
export class BearerTokenAuthenticator implements AdminAuthenticator {
  constructor(private readonly tokens: ApiTokens) {}

  async authenticate(headers: Readonly<Record<string, string | string[] | undefined>>): Promise<AdminPrincipal | undefined> {
    const header = headers.authorization;
    if (typeof header !== "string") return undefined;
    const m = /^Bearer ([^\s]+)$/i.exec(header.trim());
    if (!m) return undefined;
    const info = await this.tokens.verify(m[1]!);
    if (!info) return undefined;
    return { name: `token:${info.id}`, scopes: new Set(info.scopes) };
  }
}

function publicInfo(r: StoredToken): ApiTokenInfo {
  return {
    id: r.id,
    name: r.name,
    scopes: r.scopes,
    createdAt: r.createdAt,
    ...(r.expiresAt !== undefined ? { expiresAt: r.expiresAt } : {}),
  };
}

function decode(value: Json | undefined): StoredToken | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const { id, name, scopes, createdAt, expiresAt, hash } = value;
  if (typeof id !== "string" || typeof hash !== "string" || typeof createdAt !== "number" || !Array.isArray(scopes)) return undefined;
  return {
    id,
    name: typeof name === "string" ? name : "",
    scopes: scopes.filter((s): s is AdminScope => typeof s === "string" && isAdminScope(s)),
    createdAt,
    ...(typeof expiresAt === "number" ? { expiresAt } : {}),
    hash,
  };
}
