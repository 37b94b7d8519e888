// What modules see of Natter's one HTTP(S) server (CoreServices.http): they mount a handler under a path
// prefix, the server does the rest (listeners, TLS, limits, keep-alive, shutdown). Unmounting is the
// returned remover, which ModuleContext-style code keeps with its other removers.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";

export interface HttpRequestInfo {
  /** The path below the route's prefix, still percent-encoded: "" or starting with "/". */
  path: string;
  /** The request target parsed against the public URL (query in `url.searchParams`). */
  url: URL;
  /** Whether the request came over the HTTPS listener. */
  secure: boolean;
}

export type HttpHandler = (req: IncomingMessage, res: ServerResponse, info: HttpRequestInfo) => void | Promise<void>;

/** Receives an `Upgrade:` request (WebSocket); it owns the socket from then on. */
export type HttpUpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer, info: HttpRequestInfo) => void;

export interface HttpRouteOptions {
  /**
   * Largest request body the handler accepts, in bytes (default 64 KiB). A request announcing a larger
   * Content-Length is answered 413 before the handler runs; chunked bodies must be read with `readBody`
   * (which enforces the same cap) or counted by the handler itself.
   */
  maxBodyBytes?: number;
}

export interface HttpRoutes {
  /** Base URL clients use to reach the HTTP server, without a trailing slash (listeners.http.public_url). */
  readonly publicUrl: string;
  /**
   * Serves every request whose path is `prefix` or lies below it (`/upload` takes `/upload` and `/upload/…`,
   * not `/uploads`). The longest matching prefix wins. Returns the remover.
   */
  route(prefix: string, handler: HttpHandler, options?: HttpRouteOptions): () => void;
  /** The same for `Upgrade:` requests. */
  upgrade(prefix: string, handler: HttpUpgradeHandler): () => void;
}

export const DEFAULT_MAX_BODY_BYTES = 64 * 1024;

export class BodyTooLargeError extends Error {
  constructor(limit: number) {
    super(`request body larger than ${limit} bytes`);
    this.name = "BodyTooLargeError";
  }
}

/** Reads a whole (small) request body, refusing more than `limit` bytes however it is framed. */
export function readBody(req: IncomingMessage, limit = DEFAULT_MAX_BODY_BYTES): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        // Stop reading; the answer (413 from the server when the handler lets this through) closes the connection.
        req.removeAllListeners("data");
        req.pause();
        reject(new BodyTooLargeError(limit));
        return;
      }
      chunks.push(chunk);
    });
    req.once("end", () => resolve(Buffer.concat(chunks)));
    req.once("error", reject);
  });
}

/** A short plain-text answer; with `close`, the connection ends after it (an unread body is not drained). */
export function sendText(res: ServerResponse, status: number, text: string, options: { close?: boolean; headers?: Record<string, string> } = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = `${text}\n`;
  res.statusCode = status;
  for (const [name, value] of Object.entries(options.headers ?? {})) res.setHeader(name, value);
  res.setHeader("Content-Type", "text/plain; charset=utf-8");
  res.setHeader("Content-Length", Buffer.byteLength(body));
  res.setHeader("X-Content-Type-Options", "nosniff");
  if (options.close) res.setHeader("Connection", "close");
  res.end(res.req.method === "HEAD" ? undefined : body);
}
