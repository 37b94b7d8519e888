// Natter's one HTTP server (DESIGN.md: `web/` — websocket, bosh, upload, web client, admin API, metrics):
// plain HTTP on listeners.http, HTTPS on listeners.https with the same certificates as XMPP (SNI), and a
// small router of path prefixes that modules mount into through CoreServices.http.
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { isIP } from "node:net";
import { Server as TlsServer } from "node:tls";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import type { CertificateStore } from "../core/tls/certificates.js";
import { ListenerGroup } from "../transports/listener-group.js";
import type { ListenAddress } from "../transports/listen.js";
import {
  BodyTooLargeError,
  DEFAULT_MAX_BODY_BYTES,
  type HttpHandler,
  type HttpRequestInfo,
  type HttpRouteOptions,
  type HttpRoutes,
  type HttpUpgradeHandler,
  sendText,
} from "./http-routes.js";

export interface HttpListenerSettings {
  enabled: boolean;
  port: number;
  /** Addresses to bind; empty = all interfaces. */
  bind: string[];
}

export interface HttpServerOptions {
  /** listeners.http.public_url; "" = derived from the first host and the bound port. */
  publicUrl: string;
  /** Host name for a derived public URL (the first virtual host). */
  defaultHost: string;
}

// Limits against slow or oversized requests. Bodies are capped per route (HttpRouteOptions.maxBodyBytes).
const MAX_HEADER_BYTES = 16 * 1024;
/** Time to receive the request line and headers (slowloris). */
const HEADERS_TIMEOUT_MS = 20_000;
/** Time to receive a whole request, body included: long enough for a large upload on a slow link. */
const REQUEST_TIMEOUT_MS = 60 * 60_000;
/** A connection with no traffic for this long is closed (a stalled upload too). */
const IDLE_TIMEOUT_MS = 120_000;
/** How long an idle keep-alive connection stays open for the next request. */
const KEEP_ALIVE_TIMEOUT_MS = 5_000;
/** On shutdown, requests in flight get this long to finish before their connections are cut. */
const SHUTDOWN_GRACE_MS = 2_000;

interface Route {
  handler: HttpHandler;
  maxBodyBytes: number;
}

function normalisePrefix(prefix: string): string {
  if (!prefix.startsWith("/") || /[?#\s]/.test(prefix)) throw new Error(`bad HTTP route prefix ${JSON.stringify(prefix)}`);
  return prefix.length > 1 && prefix.endsWith("/") ? prefix.slice(0, -1) : prefix;
}

/** The registered prefix that covers `pathname` best: itself, else its parents segment by segment, else "/". */
function longestPrefix<T>(map: Map<string, T>, pathname: string): { prefix: string; value: T } | undefined {
  let candidate = pathname.length > 1 && pathname.endsWith("/") ? pathname.slice(0, -1) : pathname;
  for (;;) {
    const value = map.get(candidate);
    if (value !== undefined) return { prefix: candidate === "/" ? "" : candidate, value };
    if (candidate === "/" || candidate === "") return undefined;
    const slash = candidate.lastIndexOf("/");
    candidate = slash <= 0 ? "/" : candidate.slice(0, slash);
  }
}

export class HttpServer implements HttpRoutes {
  private readonly routes = new Map<string, Route>();
  private readonly upgrades = new Map<string, HttpUpgradeHandler>();
  /** Every server ever opened (a reload's move leaves the old one closed but with its connections). */
  private readonly servers: Server[] = [];
  private readonly httpListener = new ListenerGroup("http", (addr) => this.listenAll(addr, () => createHttpServer(), "http"));
  private httpsListener: ListenerGroup | undefined;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly log: Logger,
    private readonly options: HttpServerOptions,
  ) {}

  /** Ports actually bound (differ from the config when it asks for port 0). */
  get ports(): { http?: number; https?: number } {
    return { http: this.httpListener.port, https: this.httpsListener?.port };
  }

  /** The listeners a reload may open, close or move (HTTPS once `listen` has the certificates). */
  get listenerGroups(): ListenerGroup[] {
    return this.httpsListener ? [this.httpListener, this.httpsListener] : [this.httpListener];
  }

  /** listeners.http.public_url after a reload. */
  setPublicUrl(url: string): void {
    this.options.publicUrl = url;
  }

  get publicUrl(): string {
    if (this.options.publicUrl !== "") return this.options.publicUrl.replace(/\/+$/, "");
    const host = isIP(this.options.defaultHost) === 6 ? `[${this.options.defaultHost}]` : this.options.defaultHost;
    // HTTPS whenever it listens: slot URLs (XEP-0363 §4) are the only secret guarding a user's files.
    if (this.ports.https !== undefined) return `https://${host}:${this.ports.https}`;
    if (this.ports.http !== undefined) return `http://${host}:${this.ports.http}`;
    return `https://${host}:5281`;
  }

  route(prefix: string, handler: HttpHandler, options: HttpRouteOptions = {}): () => void {
    const key = normalisePrefix(prefix);
    if (this.routes.has(key)) throw new Error(`HTTP path ${key} is already served`);
    const route: Route = { handler, maxBodyBytes: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES };
    this.routes.set(key, route);
    return () => {
      if (this.routes.get(key) === route) this.routes.delete(key);
    };
  }

  upgrade(prefix: string, handler: HttpUpgradeHandler): () => void {
    const key = normalisePrefix(prefix);
    if (this.upgrades.has(key)) throw new Error(`HTTP upgrades on ${key} are already served`);
    this.upgrades.set(key, handler);
    return () => {
      if (this.upgrades.get(key) === handler) this.upgrades.delete(key);
    };
  }

  /** Starts the enabled listeners. HTTPS uses the XMPP certificates, chosen per connection by SNI. */
  async listen(http: HttpListenerSettings, https: HttpListenerSettings, certs: CertificateStore | undefined): Promise<void> {
    await this.httpListener.start(http);
    if (certs) {
      const make = () => {
        const server = createHttpsServer({ ...certs.tlsServerOptions(), ALPNProtocols: ["http/1.1"] });
        server.on("tlsClientError", (err, socket) =>
          this.log.debug({ err: err.message, ip: socket.remoteAddress }, "HTTPS handshake failed"),
        );
        return server;
      };
      this.httpsListener = new ListenerGroup("https", (addr) => this.listenAll(addr, make, "https"));
      await this.httpsListener.start(https);
    } else if (https.enabled) {
      throw new Error("the HTTPS listener needs certificates");
    }
  }

  /**
   * A reload swapped the certificates: the HTTPS servers' default (no SNI, or an unknown name) becomes the new
   * first certificate; SNI already asks the certificate store, which has the new ones.
   */
  setDefaultCertificate(cert: string, key: string): void {
    for (const server of this.servers) if (server instanceof TlsServer) server.setSecureContext({ cert, key });
  }

  private async listenAll(settings: ListenAddress, make: () => Server, what: "http" | "https"): Promise<Server[]> {
    const secure = what === "https";
    const out: Server[] = [];
    for (const host of settings.bind.length > 0 ? settings.bind : [undefined]) {
      const server = make();
      server.maxHeadersCount = 100;
      server.headersTimeout = HEADERS_TIMEOUT_MS;
      server.requestTimeout = REQUEST_TIMEOUT_MS;
      server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
      server.timeout = IDLE_TIMEOUT_MS;
      server.on("request", (req: IncomingMessage, res: ServerResponse) => void this.handle(req, res, secure));
      server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => this.handleUpgrade(req, socket, head, secure));
      server.on("clientError", (err: NodeJS.ErrnoException, socket: Duplex) => this.clientError(err, socket));
      try {
        await new Promise<void>((resolve, reject) => {
          server.once("error", reject);
          server.listen({ port: settings.port, host, backlog: 1024 }, () => {
            server.off("error", reject);
            resolve();
          });
        });
      } catch (err) {
        // The addresses bound so far are closed: a reload that cannot open all of them changes nothing.
        for (const s of out) s.close();
        throw err;
      }
      server.on("error", (err) => this.log.error({ err }, `${what} listener error`));
      const a = server.address();
      this.log.info({ address: typeof a === "object" && a ? `${a.address}:${a.port}` : a }, `${what} listening`);
      this.servers.push(server);
      out.push(server);
    }
    return out;
  }

  private requestInfo(req: IncomingMessage, secure: boolean): { url: URL } | undefined {
    const target = req.url ?? "";
    // Origin-form only (RFC 9112 §3.2.1); absolute-form and "*" are for proxies and OPTIONS of the server.
    if (!target.startsWith("/") || target.startsWith("//")) return undefined;
    try {
      // WHATWG URL parsing removes dot segments, "%2e%2e" included, before any route sees the path.
      return { url: new URL(target, `${secure ? "https" : "http"}://natter.invalid`) };
    } catch {
      return undefined;
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse, secure: boolean): Promise<void> {
    const parsed = this.requestInfo(req, secure);
    if (!parsed) return sendText(res, 400, "bad request target", { close: true });
    const match = longestPrefix(this.routes, parsed.url.pathname);
    if (!match) return sendText(res, 404, "not found", { close: req.headers["content-length"] !== undefined });
    const length = req.headers["content-length"];
    if (length !== undefined && Number(length) > match.value.maxBodyBytes) {
      return sendText(res, 413, "request body too large", { close: true });
    }
    const info: HttpRequestInfo = { path: parsed.url.pathname.slice(match.prefix.length), url: parsed.url, secure };
    try {
      await match.value.handler(req, res, info);
    } catch (err) {
      if (err instanceof BodyTooLargeError) return sendText(res, 413, "request body too large", { close: true });
      this.log.error({ err, path: parsed.url.pathname, method: req.method }, "HTTP handler failed");
      if (!res.headersSent) sendText(res, 500, "internal server error", { close: true });
      else res.destroy();
    }
  }

  private handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, secure: boolean): void {
    socket.on("error", () => socket.destroy());
    const parsed = this.requestInfo(req, secure);
    const match = parsed && longestPrefix(this.upgrades, parsed.url.pathname);
    if (!parsed || !match) {
      socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
      return;
    }
    try {
      match.value(req, socket, head, { path: parsed.url.pathname.slice(match.prefix.length), url: parsed.url, secure });
    } catch (err) {
      this.log.error({ err, path: parsed.url.pathname }, "HTTP upgrade handler failed");
      socket.destroy();
    }
  }

  /** Malformed requests, oversized headers, timeouts: a short status line, then the connection ends. */
  private clientError(err: NodeJS.ErrnoException, socket: Duplex): void {
    if (err.code === "ECONNRESET" || !socket.writable) {
      socket.destroy();
      return;
    }
    const status =
      err.code === "HPE_HEADER_OVERFLOW"
        ? "431 Request Header Fields Too Large"
        : err.code === "ERR_HTTP_REQUEST_TIMEOUT"
          ? "408 Request Timeout"
          : "400 Bad Request";
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  }

  /** Stops listening, lets requests in flight finish for a moment, then cuts what is left. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const closed = this.servers.map(
        (server) => new Promise<void>((resolve) => server.close(() => resolve())),
      );
      for (const server of this.servers) server.closeIdleConnections();
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, SHUTDOWN_GRACE_MS);
      });
      await Promise.race([Promise.all(closed), grace]);
      clearTimeout(timer);
      for (const server of this.servers) server.closeAllConnections();
      await Promise.all(closed);
    })();
    return this.closing;
  }
}
