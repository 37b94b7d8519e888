// Serves the files of one directory read-only (the web client's bundle from node_modules): GET and HEAD,
// only regular files with a known type, never a listing, never anything outside the directory.
import { createReadStream, realpathSync } from "node:fs";
import { readFile, realpath, stat } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { extname, join, sep } from "node:path";
import { promisify } from "node:util";
import { gzip } from "node:zlib";
import { LruMap } from "../core/lru-map.js";
import { sendText } from "./http-routes.js";

const gzipAsync = promisify(gzip);

/** The types served; a file with another extension is answered 404 (no guessing, no sniffing). */
const CONTENT_TYPES: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".wasm": "application/wasm",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".gif": "image/gif",
  ".webp": "image/webp",
  ".ico": "image/x-icon",
  ".ttf": "font/ttf",
  ".otf": "font/otf",
  ".woff": "font/woff",
  ".woff2": "font/woff2",
  ".mp3": "audio/mpeg",
  ".ogg": "audio/ogg",
};

/** Text-like types worth compressing (the web client's main bundle shrinks from 1.3 MB to about a third). */
const COMPRESSIBLE = new Set([".js", ".mjs", ".css", ".json", ".map", ".svg", ".wasm"]);

export interface StaticDirectoryOptions {
  /** Cache-Control max-age in seconds. */
  maxAgeSeconds: number;
  /** Files up to this size are sent gzip-compressed to clients that accept it (0 = never). */
  maxCompressBytes?: number;
  /** How many compressed files are kept in memory (least recently used go first). */
  compressedCacheEntries?: number;
}

export class StaticDirectory {
  private readonly root: string;
  /** Compressed bodies by path, size and mtime, so an upgraded file is compressed afresh. */
  private readonly gzipped: LruMap<string, Promise<Buffer>>;

  /** `root` must exist; symbolic links are resolved once, so a file is served only if it really lies below it. */
  constructor(
    root: string,
    private readonly options: StaticDirectoryOptions,
  ) {
    this.root = realpathSync(root);
    this.gzipped = new LruMap(options.compressedCacheEntries ?? 32);
  }

  /** Answers `path` (still percent-encoded, "/a/b.js", relative to the root) with the file or an error. */
  async serve(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    if (req.method !== "GET" && req.method !== "HEAD") {
      return sendText(res, 405, "method not allowed", { headers: { Allow: "GET, HEAD" } });
    }
    const file = await this.resolve(path);
    if (!file) return sendText(res, 404, "not found");
    const type = CONTENT_TYPES[extname(file.path).toLowerCase()] as string;
    // Weak validator from size and mtime: the bundle changes only when the package is upgraded.
    const etag = `W/"${file.size.toString(16)}-${Math.floor(file.mtimeMs).toString(16)}"`;
    const headers = {
      "Content-Type": type,
      "Cache-Control": `public, max-age=${this.options.maxAgeSeconds}`,
      ETag: etag,
      "Last-Modified": new Date(file.mtimeMs).toUTCString(),
      "X-Content-Type-Options": "nosniff",
    };
    if (req.headers["if-none-match"] === etag) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    const ext = extname(file.path).toLowerCase();
    const compressible = COMPRESSIBLE.has(ext) && file.size <= (this.options.maxCompressBytes ?? 4 * 1024 * 1024);
    if (compressible) {
      // RFC 9110 §12.5.3: caches keep the encodings apart.
      Object.assign(headers, { Vary: "Accept-Encoding" });
      const body = acceptsGzip(req.headers["accept-encoding"]) ? await this.compressed(file) : undefined;
      if (body) {
        res.writeHead(200, { ...headers, "Content-Encoding": "gzip", "Content-Length": body.length });
        res.end(req.method === "HEAD" ? undefined : body);
        return;
      }
    }
    res.writeHead(200, { ...headers, "Content-Length": file.size });
    if (req.method === "HEAD") {
      res.end();
      return;
    }
    const stream = createReadStream(file.path);
    stream.on("error", () => res.destroy());
    res.on("close", () => stream.destroy());
    stream.pipe(res);
  }

  /** The gzip body of a file, compressed once and kept; undefined when that fails (the plain file is sent). */
  private async compressed(file: { path: string; size: number; mtimeMs: number }): Promise<Buffer | undefined> {
    const key = `${file.path}\0${file.size}\0${file.mtimeMs}`;
    let pending = this.gzipped.get(key);
    if (!pending) {
      pending = readFile(file.path).then((data) => gzipAsync(data, { level: 6 }));
      this.gzipped.set(key, pending);
    }
    try {
      return await pending;
    } catch {
      this.gzipped.delete(key);
      return undefined;
    }
  }

  /** The real path of a regular file below the root with a served type, or undefined. */
  private async resolve(path: string): Promise<{ path: string; size: number; mtimeMs: number } | undefined> {
    if (!path.startsWith("/")) return undefined;
    const segments: string[] = [];
    for (const raw of path.slice(1).split("/")) {
      let segment: string;
      try {
        segment = decodeURIComponent(raw);
      } catch {
        return undefined;
      }
      // The URL parser already removed "." and ".." (also %2e%2e); a decoded one, an encoded slash or
      // backslash, a NUL or a hidden file is still refused here.
      if (segment === "" || segment.startsWith(".") || /[/\\\0]/.test(segment)) return undefined;
      segments.push(segment);
    }
    if (segments.length === 0 || !Object.hasOwn(CONTENT_TYPES, extname(segments.at(-1) as string).toLowerCase()))
      return undefined;
    try {
      const real = await realpath(join(this.root, ...segments));
      if (!real.startsWith(this.root + sep)) return undefined;
      const info = await stat(real);
      if (!info.isFile()) return undefined;
      return { path: real, size: info.size, mtimeMs: info.mtimeMs };
    } catch {
      return undefined;
    }
  }
}

/** Whether an Accept-Encoding header (RFC 9110 §12.5.3) accepts gzip: listed without q=0. */
export function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  for (const part of header.split(",")) {
    const [coding, ...params] = part.trim().toLowerCase().split(";");
    if (coding?.trim() !== "gzip" && coding?.trim() !== "x-gzip") continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith("q="));
    return q === undefined || Number(q.slice(2)) > 0;
  }
  return false;
}
