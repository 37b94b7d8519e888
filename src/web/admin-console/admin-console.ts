// The admin console at /admin (config admin_console): a static page, one script and one stylesheet from
// static/, the login and logout endpoints, and the session store whose cookie the admin API at /admin/api
// accepts (the API's own route, the longer prefix, takes its requests). Reached only from
// admin_api.allowed_addresses (the API's rule), under a Content-Security-Policy that allows no inline script, no frame.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { isIP } from "node:net";
import { fileURLToPath } from "node:url";
import type { Logger } from "pino";
import { AddressList } from "../../core/address-list.js";
import { type HttpRequestInfo, type HttpRoutes, readBody, sendText } from "../http-routes.js";
import { StaticDirectory } from "../static-files.js";
import { type ConsoleLoginDeps, checkConsoleLogin } from "./console-login.js";
import { csrfRefusal } from "../../admin/csrf.js";
import { ConsoleSessions, sessionCookieHeader } from "./console-sessions.js";

export const ADMIN_CONSOLE_PATH = "/admin";

export interface AdminConsoleOptions {
  allowedAddresses: readonly string[];
  idleTimeoutSeconds: number;
  absoluteTimeoutSeconds: number;
  maxSessions: number;
  /**
   * The served hosts and listeners.http.public_url, read at each request (a reload changes both): the Host names
   * the console answers to (DNS rebinding).
   */
  hosts: ReadonlySet<string>;
  publicUrl: () => string;
  /** The HTTPS listener's port while it runs: the page over plain HTTP is sent there (no public URL set). */
  httpsPort: () => number | undefined;
}

export interface MountedAdminConsole {
  /** The console's cookie sessions: give it to the admin API as one of its AdminAuthenticators. */
  sessions: ConsoleSessions;
  remove(): void;
}

/** The largest login or logout body read (a JID and a password). */
const MAX_BODY_BYTES = 8 * 1024;
const ASSET_MAX_AGE_SECONDS = 300;

/** static/ beside this file (run from source), or in the source tree when run from dist/ (tsc copies no HTML). */
export function consoleStaticDirectory(): string {
  for (const rel of ["./static/", "../../../../src/web/admin-console/static/"]) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(`${dir}index.html`)) return dir;
  }
  throw new Error("the admin console's files (src/web/admin-console/static) were not found");
}

/** Only this server, nothing inline: the page's script and styles are files; its chart is SVG made by DOM calls. */
export const ADMIN_CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join("; ");

const PAGE_HEADERS = {
  "Content-Type": "text/html; charset=utf-8",
  "Cache-Control": "no-store",
  "Content-Security-Policy": ADMIN_CONSOLE_CSP,
  "X-Frame-Options": "DENY",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
};

export async function mountAdminConsole(
  routes: HttpRoutes,
  options: AdminConsoleOptions,
  login: Omit<ConsoleLoginDeps, "log">,
  log: Logger,
): Promise<MountedAdminConsole> {
  const dir = consoleStaticDirectory();
  const page = await readFile(`${dir}index.html`);
  const assets = new StaticDirectory(`${dir}assets`, { maxAgeSeconds: ASSET_MAX_AGE_SECONDS });
  const allowed = new AddressList(options.allowedAddresses);
  const sessions = new ConsoleSessions({
    idleTimeoutSeconds: options.idleTimeoutSeconds,
    absoluteTimeoutSeconds: options.absoluteTimeoutSeconds,
    maxSessions: options.maxSessions,
    isAdmin: login.isAdmin,
  });
  const publicName = (): string | undefined => {
    const url = options.publicUrl();
    return url === "" ? undefined : new URL(url).hostname.toLowerCase();
  };
  const deps: ConsoleLoginDeps = { ...login, log };

  const handler = async (req: IncomingMessage, res: ServerResponse, info: HttpRequestInfo): Promise<void> => {
    const ip = req.socket.remoteAddress ?? "";
    if (!allowed.has(ip)) {
      log.debug({ ip, path: info.url.pathname }, "admin console refused: address not in admin_api.allowed_addresses");
      return sendText(res, 403, "forbidden");
    }
    // A page reached under a foreign name (DNS rebinding) would be that site's page, with its scripts.
    if (!hostAllowed(req.headers.host, options.hosts, publicName())) return sendText(res, 421, "misdirected request");
    if (info.path.startsWith("/assets/")) return assets.serve(req, res, info.path.slice("/assets".length));
    if (info.path === "" || info.path === "/") return sendPage(req, res, info);
    if (info.path === "/session") return sendSession(req, res);
    if (info.path === "/login") return handleLogin(req, res, info, ip);
    if (info.path === "/logout") return handleLogout(req, res, info);
    return sendText(res, 404, "not found");
  };

  function sendPage(req: IncomingMessage, res: ServerResponse, info: HttpRequestInfo): void {
    if (req.method !== "GET" && req.method !== "HEAD") return sendText(res, 405, "method not allowed", { headers: { Allow: "GET, HEAD" } });
    const httpsPort = options.httpsPort();
    if (!info.secure && options.publicUrl() === "" && httpsPort !== undefined) {
      // The admin's password and cookie never go over plain HTTP when HTTPS is there (as /chat).
      const hostname = (req.headers.host ?? "").replace(/:\d+$/, "");
      return redirect(res, `https://${hostname}:${httpsPort}${ADMIN_CONSOLE_PATH}/`);
    }
    // Relative URLs in the page (assets/, api/) need the trailing slash.
    if (info.path === "") return redirect(res, `${ADMIN_CONSOLE_PATH}/`);
    res.writeHead(200, { ...PAGE_HEADERS, "Content-Length": page.length });
    res.end(req.method === "HEAD" ? undefined : page);
  }

  function sendSession(req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== "GET") return sendText(res, 405, "method not allowed", { headers: { Allow: "GET" } });
    const session = sessions.find(req.headers);
    if (!session) return sendJson(res, 401, { error: "not logged in" });
    sendJson(res, 200, { jid: session.jid, csrfToken: session.csrfToken });
  }

  async function handleLogin(req: IncomingMessage, res: ServerResponse, info: HttpRequestInfo, ip: string): Promise<void> {
    const refusal = postRefusal(req);
    if (refusal) return sendJson(res, refusal.status, { error: refusal.error });
    let body: unknown;
    try {
      body = JSON.parse((await readBody(req, MAX_BODY_BYTES)).toString("utf8"));
    } catch (err) {
      if (err instanceof SyntaxError) return sendJson(res, 400, { error: "the body is not JSON" });
      throw err;
    }
    const { jid, password } = (body ?? {}) as { jid?: unknown; password?: unknown };
    if (typeof jid !== "string" || typeof password !== "string") {
      return sendJson(res, 400, { error: "expected {\"jid\": string, \"password\": string}" });
    }
    const result = await checkConsoleLogin(deps, ip, jid, password);
    if (!result.ok) return sendJson(res, result.status, { error: result.error });
    const { id, session } = sessions.create(result.jid);
    const cookie = sessionCookieHeader(id, { secure: info.secure, maxAgeSeconds: options.absoluteTimeoutSeconds });
    sendJson(res, 200, { jid: session.jid, csrfToken: session.csrfToken }, { "Set-Cookie": cookie });
  }

  function handleLogout(req: IncomingMessage, res: ServerResponse, info: HttpRequestInfo): void {
    const refusal = postRefusal(req, false);
    if (refusal) return sendJson(res, refusal.status, { error: refusal.error });
    const session = sessions.find(req.headers);
    if (session) {
      const csrf = csrfRefusal(req.method, req.headers, session);
      if (csrf) {
        log.warn({ ip: req.socket.remoteAddress, user: session.jid }, `admin console logout refused: ${csrf}`);
        return sendJson(res, 403, { error: csrf });
      }
      sessions.end(req.headers);
      log.info({ user: session.jid }, "admin console logout");
    }
    const cookie = sessionCookieHeader(undefined, { secure: info.secure, maxAgeSeconds: 0 });
    sendJson(res, 200, { ok: true }, { "Set-Cookie": cookie });
  }

  const remove = routes.route(ADMIN_CONSOLE_PATH, handler, { maxBodyBytes: MAX_BODY_BYTES });
  return { sessions, remove };
}

/**
 * Refuses what a page of another site could send: any method but POST, a body that is not JSON (a cross-site
 * form can send only form types; a script's JSON needs a CORS preflight we never grant), a foreign Origin.
 */
function postRefusal(req: IncomingMessage, needsJson = true): { status: number; error: string } | undefined {
  if (req.method !== "POST") return { status: 405, error: "use POST" };
  const type = (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
  if (needsJson && type !== "application/json") return { status: 415, error: "expected Content-Type: application/json" };
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== "null") {
    let host: string | undefined;
    try {
      host = new URL(origin).host;
    } catch {}
    if (host !== req.headers.host) return { status: 403, error: "cross-origin request" };
  } else if (origin === "null") return { status: 403, error: "cross-origin request" };
  return undefined;
}

/** Whether a Host header names this server: an IP literal, localhost, a served host or the public URL's name. */
function hostAllowed(header: string | undefined, hosts: ReadonlySet<string>, publicName: string | undefined): boolean {
  if (!header) return false;
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+)(?::\d{1,5})?$/.exec(header);
  if (!m) return false;
  const name = (m[1] as string).toLowerCase().replace(/\.$/, "");
  if (isIP(name.replace(/^\[|\]$/g, "")) !== 0) return true;
  // Served hosts are PRECIS-normalised (lower case) already.
  return name === "localhost" || name === publicName || hosts.has(name);
}

function redirect(res: ServerResponse, location: string): void {
  res.writeHead(308, { Location: location, "Content-Length": 0, "Cache-Control": "no-store" });
  res.end();
}

function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    ...headers,
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": Buffer.byteLength(body),
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
  });
  res.end(body);
}
