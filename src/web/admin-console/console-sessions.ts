// The admin console's login sessions: kept in memory only (a restart logs admins out), bounded, each with a
// random 256-bit id carried in a cookie and a CSRF token the page sends back in a header. As an
// AdminAuthenticator the store lets the admin API accept the cookie; the API then demands the CSRF token on
// every mutating request (`csrfRefusal`, admin/csrf.ts), which a cross-site form or script cannot know.
import { createHash, randomBytes } from "node:crypto";
import { ADMIN_SCOPES, type AdminAuthenticator, type AdminPrincipal } from "../../admin/types.js";
import { LruMap } from "../../core/lru-map.js";

export const CONSOLE_COOKIE = "natter_admin";
export const CONSOLE_COOKIE_PATH = "/admin";

export interface ConsoleSessionOptions {
  /** admin_console.idle_timeout: a session unused this long ends (seconds). */
  idleTimeoutSeconds: number;
  /** admin_console.absolute_timeout: a session ends this long after login, used or not (seconds). */
  absoluteTimeoutSeconds: number;
  /** admin_console.max_sessions: the least recently used session ends when a login would pass this. */
  maxSessions: number;
  /** Whether a JID is still an admin (config `admins`, which a reload may change); asked at every use. */
  isAdmin?: (jid: string) => boolean;
  /** Clock in milliseconds (tests). */
  now?: () => number;
}

export interface ConsoleSession {
  /** The admin's bare JID. */
  jid: string;
  csrfToken: string;
  createdAt: number;
  lastUsed: number;
}

type Headers = Readonly<Record<string, string | string[] | undefined>>;

const ALL_SCOPES: ReadonlySet<(typeof ADMIN_SCOPES)[number]> = new Set(ADMIN_SCOPES);

export class ConsoleSessions implements AdminAuthenticator {
  /** By the SHA-256 of the id, so what is kept in memory would not log anyone in. */
  private readonly sessions: LruMap<string, ConsoleSession>;
  private readonly now: () => number;

  constructor(private readonly options: ConsoleSessionOptions) {
    this.sessions = new LruMap(options.maxSessions);
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.sessions.size;
  }

  /** A new session for an admin who has just proved their password: its id (for the cookie) and the session. */
  create(jid: string): { id: string; session: ConsoleSession } {
    const id = randomBytes(32).toString("base64url");
    const now = this.now();
    const session = { jid, csrfToken: randomBytes(32).toString("base64url"), createdAt: now, lastUsed: now };
    this.sessions.set(digest(id), session);
    return { id, session };
  }

  /** The live session the request's cookie names (its idle clock restarted), or undefined. */
  find(headers: Headers): ConsoleSession | undefined {
    const id = sessionCookie(headers.cookie);
    if (id === undefined) return undefined;
    const key = digest(id);
    const session = this.sessions.get(key);
    if (!session) return undefined;
    const now = this.now();
    if (
      now - session.lastUsed > this.options.idleTimeoutSeconds * 1000 ||
      now - session.createdAt > this.options.absoluteTimeoutSeconds * 1000 ||
      !(this.options.isAdmin?.(session.jid) ?? true)
    ) {
      this.sessions.delete(key);
      return undefined;
    }
    session.lastUsed = now;
    return session;
  }

  /** Ends the session the request's cookie names; true when there was one. */
  end(headers: Headers): boolean {
    const id = sessionCookie(headers.cookie);
    return id !== undefined && this.sessions.delete(digest(id));
  }

  /** AdminAuthenticator: a console session may do everything an admin may, with its CSRF token to check. */
  async authenticate(headers: Headers): Promise<AdminPrincipal | undefined> {
    const session = this.find(headers);
    if (!session) return undefined;
    return { name: session.jid, scopes: ALL_SCOPES, csrfToken: session.csrfToken };
  }
}

/** The console cookie's value from a Cookie header (RFC 6265 §5.4), or undefined. */
export function sessionCookie(header: string | string[] | undefined): string | undefined {
  const text = Array.isArray(header) ? header.join("; ") : header;
  if (!text) return undefined;
  for (const pair of text.split(";")) {
    const eq = pair.indexOf("=");
    if (eq === -1 || pair.slice(0, eq).trim() !== CONSOLE_COOKIE) continue;
    const value = pair.slice(eq + 1).trim();
    // Our ids are 43 base64url characters; anything else is not ours and is not looked up.
    if (/^[A-Za-z0-9_-]{43}$/.test(value)) return value;
  }
  return undefined;
}

/** Set-Cookie for a new session (or, with `id` undefined, one that clears it). */
export function sessionCookieHeader(id: string | undefined, options: { secure: boolean; maxAgeSeconds: number }): string {
  const parts = [
    `${CONSOLE_COOKIE}=${id ?? ""}`,
    `Path=${CONSOLE_COOKIE_PATH}`,
    "HttpOnly",
    "SameSite=Strict",
    `Max-Age=${id === undefined ? 0 : options.maxAgeSeconds}`,
  ];
  if (options.secure) parts.push("Secure");
  return parts.join("; ");
}

function digest(id: string): string {
  return createHash("sha256").update(id).digest("base64");
}
