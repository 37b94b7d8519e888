// XEP-0363 HTTP File Upload payloads, and the checks on what a client asks for: the file name (it ends up in
// a URL, a file name on disk and a Content-Disposition header), the size, the media type.
import { StanzaError } from "../../core/errors.js";
import { Element } from "../../core/xml/element.js";
import { NS_DATA_FORMS, NS_DISCO_INFO, NS_HTTP_UPLOAD } from "../../core/xml/ns.js";

export interface SlotRequest {
  filename: string;
  size: number;
  /** Lower-cased media type with its parameters as sent, or undefined when the client gave none. */
  contentType: string | undefined;
}

const MAX_FILENAME_BYTES = 255;
// RFC 9110 §5.6.2 token characters; a media type is token "/" token, then optional parameters (§8.3.1).
const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const MEDIA_TYPE = new RegExp(`^${TOKEN}/${TOKEN}(\\s*;\\s*${TOKEN}=(${TOKEN}|"[^"\\\\\\x00-\\x1f\\x7f]*"))*$`);
// C0 and C1 controls, DEL, line/paragraph separators and bidi overrides (a name like "txt.exe" shown reversed).
const BAD_FILENAME_CHARS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069/\\]/u;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** XEP-0363 §4: `filename` and `size` are required, `content-type` optional. Throws bad-request. */
export function parseSlotRequest(request: Element): SlotRequest {
  const filename = request.attrs.filename;
  const sizeText = request.attrs.size;
  const type = request.attrs["content-type"];
  if (filename === undefined || sizeText === undefined) throw new StanzaError("bad-request", "filename and size are required");
  const problem = filenameProblem(filename);
  if (problem) throw new StanzaError("bad-request", problem);
  if (!/^\d{1,16}$/.test(sizeText)) throw new StanzaError("bad-request", "size must be a number of bytes");
  const size = Number(sizeText);
  if (!Number.isSafeInteger(size)) throw new StanzaError("bad-request", "size must be a number of bytes");
  let contentType: string | undefined;
  if (type !== undefined && type.trim() !== "") {
    contentType = type.trim();
    if (contentType.length > 255 || !MEDIA_TYPE.test(contentType)) throw new StanzaError("bad-request", "content-type is not a media type");
  }
  return { filename, size, contentType };
}

/** Why a file name is refused, or undefined. It must be one path segment, printable, not too long. */
export function filenameProblem(name: string): string | undefined {
  if (name === "" || name.trim() === "") return "the filename is empty";
  if (Buffer.byteLength(name) > MAX_FILENAME_BYTES) return `the filename is longer than ${MAX_FILENAME_BYTES} bytes`;
  if (name === "." || name === "..") return "the filename is not a file name";
  if (BAD_FILENAME_CHARS.test(name)) return "the filename contains a slash, a backslash or a control character";
  if (LONE_SURROGATE.test(name)) return "the filename is not valid Unicode";
  return undefined;
}

/** The name the file gets on disk: only [A-Za-z0-9._-], no leading dot, at most 100 characters. */
export function diskName(name: string): string {
  const safe = name
    .normalize("NFKD")
    .replace(/[^A-Za-z0-9._-]+/g, "_")
    .replace(/^[._]+/, "")
    .slice(-100);
  return safe === "" ? "file" : safe;
}

/** The media type without parameters, lower-cased ("Text/Plain; charset=x" → "text/plain"). */
export function essence(contentType: string): string {
  return (contentType.split(";")[0] ?? "").trim().toLowerCase();
}

/** Whether a media type is allowed by a list of types and "type/*" wildcards (an empty list allows all). */
export function typeAllowed(contentType: string, allowed: readonly string[]): boolean {
  if (allowed.length === 0) return true;
  const e = essence(contentType);
  return allowed.some((a) => {
    const want = a.toLowerCase();
    return want.endsWith("/*") ? e.startsWith(want.slice(0, -1)) : e === want;
  });
}

/** Content-Disposition with an ASCII fallback and the RFC 8187 UTF-8 form (RFC 6266 §4.3). */
export function contentDisposition(kind: "inline" | "attachment", name: string): string {
  const fallback = name.replace(/[^\x20-\x7e]|["\\%]/g, "_");
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `${kind}; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}

/** XEP-0363 §4: the slot, with the PUT's extra headers (§4 allows Authorization, Cookie and Expires). */
export function buildSlot(putUrl: string, getUrl: string, putHeaders: Record<string, string>): Element {
  const slot = new Element("slot", NS_HTTP_UPLOAD);
  const put = slot.c("put", NS_HTTP_UPLOAD, { url: putUrl });
  for (const [name, value] of Object.entries(putHeaders)) put.c("header", NS_HTTP_UPLOAD, { name }).t(value);
  slot.c("get", NS_HTTP_UPLOAD, { url: getUrl });
  return slot;
}

/** XEP-0363 §5: the file is too large; not-acceptable with the limit. */
export function fileTooLarge(max: number): StanzaError {
  const app = new Element("file-too-large", NS_HTTP_UPLOAD);
  app.c("max-file-size", NS_HTTP_UPLOAD).t(String(max));
  return new StanzaError("not-acceptable", `File too large. The maximum file size is ${max} bytes`, { appCondition: app });
}

/** XEP-0363 §5: a temporary error (quota), with the time one may retry when it is known (XEP-0082, UTC). */
export function quotaReached(text: string, retryAt: number | undefined): StanzaError {
  const app =
    retryAt === undefined
      ? undefined
      : new Element("retry", NS_HTTP_UPLOAD, { stamp: new Date(retryAt).toISOString().replace(/\.\d{3}Z$/, "Z") });
  return new StanzaError("resource-constraint", text, { type: "wait", ...(app ? { appCondition: app } : {}) });
}

/** XEP-0363 §3: disco#info of the upload service, with the max-file-size form (XEP-0128). */
export function buildServiceInfo(maxFileSize: number, node: string | undefined): Element {
  const q = new Element("query", NS_DISCO_INFO, node === undefined ? {} : { node });
  q.c("identity", NS_DISCO_INFO, { category: "store", type: "file", name: "HTTP File Upload" });
  q.c("feature", NS_DISCO_INFO, { var: NS_DISCO_INFO });
  q.c("feature", NS_DISCO_INFO, { var: NS_HTTP_UPLOAD });
  const x = q.c("x", NS_DATA_FORMS, { type: "result" });
  x.c("field", NS_DATA_FORMS, { var: "FORM_TYPE", type: "hidden" }).c("value", NS_DATA_FORMS).t(NS_HTTP_UPLOAD);
  x.c("field", NS_DATA_FORMS, { var: "max-file-size" }).c("value", NS_DATA_FORMS).t(String(maxFileSize));
  return q;
}
