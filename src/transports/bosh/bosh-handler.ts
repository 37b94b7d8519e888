// The HTTP side of BOSH at /http-bind: CORS, method, body size, the <body/> wrapper, then the session the
// request belongs to (a new one for a creation request, handed to the server's stream core as a StreamWire).
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import type { StreamParserLimits } from "../../core/xml/stream-parser.js";
import { BodyTooLargeError, type HttpHandler, type HttpRequestInfo, readBody } from "../../web/http-routes.js";
import { type BoshCondition, BoshError, parseBoshRequest, terminateBody } from "./bosh-body.js";
import type { BoshExchange, BoshSession } from "./bosh-session.js";
import type { BoshSessions } from "./bosh-sessions.js";

export interface BoshHandlerOptions {
  sessions: BoshSessions;
  /** bosh.allowed_origins: "*" or exact origins. */
  allowedOrigins: readonly string[];
  maxBodyBytes: number;
  /** Limits for the wrapper as a whole (each stanza inside is held to the stream's own limits). */
  wrapperLimits: StreamParserLimits;
  /** Hosts served: a creation request for another `to` is refused with host-unknown (XEP-0124 §17.2). */
  hosts: ReadonlySet<string>;
  /** Starts the client stream over a new session (NatterServer.acceptClient). */
  accept(session: BoshSession): void;
  log: Logger;
}

const XML_TYPE = "text/xml; charset=utf-8";

/** Headers every answer carries: CORS for an allowed origin, and no caching of a live exchange. */
function baseHeaders(req: IncomingMessage, allowed: readonly string[]): Record<string, string> | undefined {
  const headers: Record<string, string> = { "Cache-Control": "no-store" };
  const origin = req.headers.origin;
  if (allowed.includes("*")) headers["Access-Control-Allow-Origin"] = "*";
  else if (origin !== undefined) {
    if (!allowed.includes(origin)) return undefined;
    headers["Access-Control-Allow-Origin"] = origin;
    headers.Vary = "Origin";
  }
  return headers;
}

/** One request waiting for its answer, as the session sees it. */
class HttpExchange implements BoshExchange {
  private answered = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly headers: Record<string, string>,
    private readonly contentType: string,
  ) {}

  respond(status: number, body: string, done?: (err?: Error) => void): void {
    if (this.answered || this.res.destroyed || this.res.writableEnded) {
      done?.(new Error("the request was already answered or closed"));
      return;
    }
    this.answered = true;
    const res = this.res;
    let reported = false;
    const report = (err?: Error) => {
      if (reported) return;
      reported = true;
      done?.(err);
    };
    res.once("finish", () => report());
    res.once("close", () =>
      report(res.writableFinished ? undefined : new Error("the connection closed before the answer was sent")),
    );
    res.statusCode = status;
    for (const [name, value] of Object.entries(this.headers)) res.setHeader(name, value);
    res.setHeader("Content-Type", this.contentType);
    res.setHeader("Content-Length", Buffer.byteLength(body));
    res.end(body);
  }

  onAbort(handler: () => void): void {
    this.res.once("close", () => {
      if (!this.answered) handler();
    });
  }
}

export function boshHandler(options: BoshHandlerOptions): HttpHandler {
  const { sessions, log } = options;
  return async (req: IncomingMessage, res: ServerResponse, info: HttpRequestInfo) => {
    const headers = baseHeaders(req, options.allowedOrigins);
    const plain = (status: number, text: string, extra: Record<string, string> = {}) => {
      res.statusCode = status;
      for (const [k, v] of Object.entries({ ...headers, ...extra })) res.setHeader(k, v);
      res.setHeader("Content-Type", "text/plain; charset=utf-8");
      res.end(`${text}\n`);
    };
    if (info.path !== "" && info.path !== "/") return plain(404, "not found");
    if (!headers) {
      log.info({ origin: req.headers.origin }, "BOSH request from an origin not in bosh.allowed_origins");
      return plain(403, "origin not allowed");
    }
    if (req.method === "OPTIONS") {
      // CORS preflight: a browser asks before POSTing text/xml from another origin.
      res.statusCode = 204;
      for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
      res.setHeader("Access-Control-Allow-Methods", "POST, OPTIONS");
      res.setHeader("Access-Control-Allow-Headers", "Content-Type");
      res.setHeader("Access-Control-Max-Age", "86400");
      res.end();
      return;
    }
    if (req.method !== "POST") return plain(405, "BOSH takes POST requests", { Allow: "POST, OPTIONS" });

    const ip = (req.socket.remoteAddress ?? "unknown").replace(/^::ffff:/, "");
    const refuse = (status: number, condition: BoshCondition, why: string, close = false) => {
      log.info({ ip, condition, why }, "BOSH request refused");
      if (close) res.setHeader("Connection", "close");
      new HttpExchange(res, headers, XML_TYPE).respond(status, terminateBody(condition));
    };
    let bytes: Buffer;
    try {
      bytes = await readBody(req, options.maxBodyBytes);
    } catch (err) {
      if (err instanceof BodyTooLargeError) return refuse(413, "policy-violation", err.message, true);
      throw err;
    }
    let request: ReturnType<typeof parseBoshRequest>;
    try {
      request = parseBoshRequest(bytes, options.wrapperLimits);
    } catch (err) {
      // XEP-0124 §17.1 / §17.2: a malformed wrapper.
      if (err instanceof BoshError) return refuse(400, err.condition, err.message);
      throw err;
    }
    if (request.sid !== undefined) {
      const session = sessions.get(request.sid);
      // XEP-0124 §17.1: an unknown sid (ended, or never existed).
      if (!session) return refuse(404, "item-not-found", "unknown sid");
      session.handle(request, new HttpExchange(res, headers, session.contentType));
      return;
    }
    // XEP-0124 §7.1: a session creation request.
    const to = request.attrs.to;
    if (to === undefined || to === "")
      return refuse(200, "improper-addressing", "no 'to' on the session creation request");
    if (!options.hosts.has(to.toLowerCase())) return refuse(200, "host-unknown", `'to' ${to} is not served here`);
    const created = sessions.create(request, ip, info.secure);
    if (created.refused) {
      // XEP-0124 §17.1: HTTP 403 only for a legacy client (no 'ver'); a full server is 503 for everyone.
      const status = created.refused === "policy-violation" ? (request.attrs.ver === undefined ? 403 : 200) : 503;
      return refuse(status, created.refused, created.why);
    }
    const session = created.session;
    options.accept(session);
    session.handle(request, new HttpExchange(res, headers, session.contentType));
  };
}
