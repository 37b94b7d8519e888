// Invitations (XEP-0401 account invites, XEP-0379 roster invites) in one map store per host, bucket "" keyed by
// token. Used by the invites module and by the `natter invite` CLI (which opens the storage directly).
import { randomBytes, timingSafeEqual } from "node:crypto";
import type { Json, MapStore } from "../../storage/types.js";

export interface Invite {
  token: string;
  /** "account": creates an account (XEP-0401 §3); "roster": subscribes to the inviter (XEP-0379), and may create one. */
  kind: "account" | "roster";
  /** Bare JID of the user who invited, or "admin" (CLI, admin API). */
  inviter: string;
  /** A local part only this invite may take. */
  username?: string;
  /** XEP-0379: the new account and the inviter become subscribed to each other. */
  subscribe: boolean;
  created: number;
  expires: number;
  /** Accounts it may still create. */
  usesLeft: number;
}

export interface InviteLimits {
  maxTotal: number;
  maxPerUser: number;
}

export class InviteLimitError extends Error {}

const BUCKET = "";
/** 24 random octets: 192 bits, base64url (no characters a URI or an HTML attribute must escape). */
const TOKEN_OCTETS = 24;
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{16,64}$/;

export function isTokenShaped(token: string): boolean {
  return TOKEN_SHAPE.test(token);
}

export class InviteStore {
  constructor(private readonly store: MapStore) {}

  async create(
    spec: Omit<Invite, "token" | "created" | "expires" | "usesLeft"> & { ttlSeconds: number; uses?: number },
    limits: InviteLimits,
    now = Date.now(),
  ): Promise<Invite> {
    const all = await this.all(now);
    if (all.length >= limits.maxTotal)
      throw new InviteLimitError(`too many outstanding invitations (limit ${limits.maxTotal})`);
    if (spec.inviter !== "admin" && all.filter((i) => i.inviter === spec.inviter).length >= limits.maxPerUser)
      throw new InviteLimitError(`you have too many outstanding invitations (limit ${limits.maxPerUser})`);
    const invite: Invite = {
      token: randomBytes(TOKEN_OCTETS).toString("base64url"),
      kind: spec.kind,
      inviter: spec.inviter,
      ...(spec.username !== undefined ? { username: spec.username } : {}),
      subscribe: spec.subscribe,
      created: now,
      expires: now + spec.ttlSeconds * 1000,
      usesLeft: spec.uses ?? 1,
    };
    await this.store.set(BUCKET, invite.token, invite as unknown as Json);
    return invite;
  }

  /** The invite while it is valid (not expired, uses left); undefined otherwise, whatever the reason. */
  async valid(token: string, now = Date.now()): Promise<Invite | undefined> {
    if (!isTokenShaped(token)) return undefined;
    const invite = (await this.store.get(BUCKET, token)) as unknown as Invite | undefined;
    // The key lookup found it; compare once more in constant time, so that no driver's string compare leaks.
    if (!invite || !sameToken(invite.token, token)) return undefined;
    if (invite.expires <= now || invite.usesLeft <= 0) return undefined;
    return invite;
  }

  /** Takes one use; false when it was no longer valid. Callers serialise per token (the module's queue). */
  async consume(token: string, now = Date.now()): Promise<Invite | undefined> {
    const invite = await this.valid(token, now);
    if (!invite) return undefined;
    if (invite.usesLeft <= 1) await this.store.delete(BUCKET, token);
    else await this.store.set(BUCKET, token, { ...invite, usesLeft: invite.usesLeft - 1 } as unknown as Json);
    return invite;
  }

  async revoke(token: string): Promise<boolean> {
    if (!isTokenShaped(token)) return false;
    const found = (await this.store.get(BUCKET, token)) !== undefined;
    if (found) await this.store.delete(BUCKET, token);
    return found;
  }

  /** Withdraws every invitation an account made (it was deleted); returns how many. */
  async revokeBy(inviter: string): Promise<number> {
    const map = await this.store.getAll(BUCKET);
    let n = 0;
    for (const [token, v] of map) {
      if ((v as unknown as Invite).inviter !== inviter) continue;
      await this.store.delete(BUCKET, token);
      n++;
    }
    return n;
  }

  /** Outstanding invitations, oldest first (expired ones left out). */
  async all(now = Date.now()): Promise<Invite[]> {
    const map = await this.store.getAll(BUCKET);
    return [...map.values()]
      .map((v) => v as unknown as Invite)
      .filter((i) => i.expires > now && i.usesLeft > 0)
      .sort((a, b) => a.created - b.created);
  }

  /** Deletes expired and used-up entries; returns how many. */
  async purge(now = Date.now()): Promise<number> {
    const map = await this.store.getAll(BUCKET);
    let n = 0;
    for (const [token, v] of map) {
      const i = v as unknown as Invite;
      if (i.expires <= now || i.usesLeft <= 0) {
        await this.store.delete(BUCKET, token);
        n++;
      }
    }
    return n;
  }
}

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** XEP-0401 §3 / XEP-0379 §3: the xmpp: URI a client opens. */
export function inviteUri(invite: Invite, host: string): string {
  if (invite.kind === "roster" && invite.inviter !== "admin")
    return `xmpp:${invite.inviter}?roster;preauth=${invite.token};ibr=y`;
  return `xmpp:${host}?register;preauth=${invite.token}`;
}

/**
 * Where a host's landing pages live: /invite for the server's first host, /invite/<host> for the others (one
 * HTTP listener serves every host; a token never contains a dot, so the paths cannot collide).
 */
export function invitePathPrefix(host: string, firstHost: string | undefined): string {
  return host === firstHost ? "/invite" : `/invite/${host}`;
}

/** The landing page on the HTTP listener. */
export function landingUrl(publicUrl: string, prefix: string, invite: Invite): string {
  return `${publicUrl}${prefix}/${invite.token}`;
}

/** "7d", "12h", "30m", "90s" or plain seconds → seconds. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d{1,9})\s*([smhdw]?)$/.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = { "": 1, s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[m[2] as "" | "s" | "m" | "h" | "d" | "w"];
  return n * unit > 0 ? n * unit : undefined;
}
