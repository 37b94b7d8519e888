// The HTTP side of XEP-0363: PUT into a slot (§6), then GET/HEAD of the stored file by anyone who has the URL
// (§2: "everyone who knows the URL SHOULD be able to access it"). Paths are /<id>/<file name> below the
// module's prefix; what is opened on disk is derived from the stored record only, never from the URL.
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import type { Logger } from "pino";
import { type HttpHandler, sendText } from "../../web/http-routes.js";
import { contentDisposition, diskName, essence } from "./codec.js";
import { ID_PATTERN, tokenMatches, type UploadRecord, type UploadStore } from "./upload-store.js";

export interface EndpointSettings {
  store: UploadStore;
  /** Directory holding one sub-directory per stored file. */
  root: string;
  /** Stored files older than this are gone (ms; 0 = kept forever). */
  expireMs: number;
  log: Logger;
  /** Slot ids with a PUT in progress (the sweep leaves them alone; a second PUT gets 409). */
  uploading: Set<string>;
}

// Types a browser would run or render as a document: never inline, always sandboxed.
const ACTIVE = /html|xml|script|svg|^application\/pdf$|^text\/(css|cache-manifest|vtt)$/;

// CORS (Fetch standard §3.2) for web clients on other origins: the URL itself is the credential, cookies are
// never used, so any origin may read and upload.
const CORS: Record<string, string> = {
  "Access-Control-Allow-Origin": "*",
  "Access-Control-Allow-Methods": "GET, HEAD, PUT, OPTIONS",
  "Access-Control-Allow-Headers": "Authorization, Content-Type",
  "Access-Control-Max-Age": "86400",
};

class PutRefused extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function filePath(root: string, id: string, record: UploadRecord): { dir: string; file: string; part: string } {
  const dir = join(root, id);
  return { dir, file: join(dir, diskName(record.name)), part: join(dir, ".part") };
}

export function uploadEndpoint(s: EndpointSettings): HttpHandler {
  return async (req, res, info) => {
    for (const [name, value] of Object.entries(CORS)) res.setHeader(name, value);
    res.setHeader("Referrer-Policy", "no-referrer");
    const target = parsePath(info.path);
    const method = req.method ?? "";
    if (method === "OPTIONS") {
      res.writeHead(204, { "Content-Length": "0" }).end();
      return;
    }
    if (method !== "GET" && method !== "HEAD" && method !== "PUT") {
      return sendText(res, 405, "method not allowed", { close: true, headers: { Allow: "GET, HEAD, PUT, OPTIONS" } });
    }
    const found = target && (await s.store.find(target.id));
    if (!target || !found || found.record.name !== target.name) {
      return sendText(res, 404, "not found", { close: method === "PUT" });
    }
    if (method === "PUT") return put(s, req, res, target.id, found.owner, found.record);
    return get(s, req, res, target.id, found.record);
  };
}

/** "/<id>/<percent-encoded name>" → its parts; undefined for anything else (more segments, bad encoding). */
function parsePath(path: string): { id: string; name: string } | undefined {
  const m = /^\/([^/]+)\/([^/]+)$/.exec(path);
  if (!m || !ID_PATTERN.test(m[1]!)) return undefined;
  try {
    return { id: m[1]!, name: decodeURIComponent(m[2]!) };
  } catch {
    return undefined;
  }
}

async function put(s: EndpointSettings, req: IncomingMessage, res: ServerResponse, id: string, owner: string, record: UploadRecord): Promise<void> {
  try {
    const auth = req.headers.authorization ?? "";
    const bearer = /^Bearer ([A-Za-z0-9_-]{1,100})$/.exec(auth);
    if (!bearer || !tokenMatches(bearer[1]!, record.tokenHash)) throw new PutRefused(403, "this slot needs its Authorization header");
    if (record.stored !== null || s.uploading.has(id)) throw new PutRefused(409, "this slot has been used already");
    if (Date.now() > record.slotExpires) throw new PutRefused(403, "this slot has expired; ask for a new one");
    // XEP-0363 §6: the upload MUST be refused when Content-Length does not match the slot's size.
    const lengthHeader = req.headers["content-length"];
    if (lengthHeader === undefined || req.headers["transfer-encoding"] !== undefined) {
      throw new PutRefused(411, "Content-Length is required");
    }
    const length = Number(lengthHeader);
    if (length > record.size) throw new PutRefused(413, `this slot is for ${record.size} bytes`);
    if (length !== record.size) throw new PutRefused(400, `this slot is for ${record.size} bytes, not ${lengthHeader}`);
    // §6: SHOULD refuse a Content-Type other than the one the slot was asked for.
    if (record.type !== null && essence(req.headers["content-type"] ?? "") !== essence(record.type)) {
      throw new PutRefused(415, `this slot is for ${essence(record.type)}`);
    }
  } catch (err) {
    if (err instanceof PutRefused) return sendText(res, err.status, err.message, { close: true });
    throw err;
  }

  s.uploading.add(id);
  const { dir, file, part } = filePath(s.root, id, record);
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    let received = 0;
    // flush: the data are fsync'd before the stream closes, so they are on disk before the 201
    // (DESIGN.md "Data and scale"; §6: 201 means the file can be fetched).
    await pipeline(
      req,
      async function* (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          received += chunk.length;
          if (received > record.size) throw new PutRefused(413, `this slot is for ${record.size} bytes`);
          yield chunk;
        }
      },
      createWriteStream(part, { flags: "w", mode: 0o600, flush: true }),
    );
    if (received !== record.size) throw new PutRefused(400, `this slot is for ${record.size} bytes, ${received} came`);
    await rename(part, file);
    await s.store.markStored(owner, id, record, Date.now());
    s.log.info({ id, owner, size: record.size }, "file uploaded");
    res.writeHead(201, { "Content-Length": "0" }).end();
  } catch (err) {
    await rm(dir, { recursive: true, force: true }).catch(() => {});
    if (err instanceof PutRefused) return sendText(res, err.status, err.message, { close: true });
    if (req.destroyed || (err as NodeJS.ErrnoException).code === "ERR_STREAM_PREMATURE_CLOSE") {
      s.log.debug({ id }, "upload aborted by the client");
      res.destroy();
      return;
    }
    throw err;
  } finally {
    s.uploading.delete(id);
  }
}

async function get(s: EndpointSettings, req: IncomingMessage, res: ServerResponse, id: string, record: UploadRecord): Promise<void> {
  if (record.stored === null || (s.expireMs > 0 && Date.now() > record.stored + s.expireMs)) {
    return sendText(res, 404, "not found");
  }
  const { file } = filePath(s.root, id, record);
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch {
    return sendText(res, 404, "not found");
  }
  const type = record.type ?? "application/octet-stream";
  const active = ACTIVE.test(essence(type));
  res.writeHead(200, {
    "Content-Type": type,
    "Content-Length": String(size),
    "Content-Disposition": contentDisposition(active ? "attachment" : "inline", record.name),
    "X-Content-Type-Options": "nosniff",
    // A stored file never runs as a page of this origin: sandboxed, no scripts, no plugins (HTML, SVG …).
    "Content-Security-Policy": active ? "default-src 'none'; sandbox" : "default-src 'none'; img-src 'self'; media-src 'self'; sandbox",
    // Anyone with the URL may fetch the file, but it is a user's, not public: browsers may keep it, shared
    // caches (proxies, CDNs) must not (RFC 9111 §5.2.2.7).
    "Cache-Control": "private, max-age=86400",
    "Last-Modified": new Date(record.stored).toUTCString(),
    ETag: `"${id}"`,
  });
  if (req.method === "HEAD") {
    res.end();
    return;
  }
  try {
    await pipeline(createReadStream(file), res);
  } catch (err) {
    s.log.debug({ err, id }, "download interrupted");
    res.destroy();
  }
}
