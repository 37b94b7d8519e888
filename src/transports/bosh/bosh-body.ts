// The <body/> wrapper of XEP-0124 §4: parsing a request's wrapper and writing a response's. Everything about a
// request the session needs is read here once, so the session logic works on plain fields.
import { StreamError } from "../../core/errors.js";
import { type Element, escapeAttr } from "../../core/xml/element.js";
import { NS_CLIENT, NS_HTTPBIND, NS_STREAM, NS_XBOSH } from "../../core/xml/ns.js";
import { parseFramedElement, type StreamParserLimits } from "../../core/xml/stream-parser.js";

/** XEP-0124 §17.2 terminal binding conditions Natter sends. */
export type BoshCondition =
  | "bad-request"
  | "host-unknown"
  | "improper-addressing"
  | "internal-server-error"
  | "item-not-found"
  | "policy-violation"
  | "remote-connection-failed"
  | "remote-stream-error"
  | "system-shutdown"
  | "undefined-condition";

/** A bad request: the terminal condition and the HTTP status a legacy client gets (XEP-0124 §17.1). */
export class BoshError extends Error {
  constructor(
    readonly condition: BoshCondition,
    message: string,
  ) {
    super(message);
    this.name = "BoshError";
  }
}

/** XEP-0124 §14.1: rids are positive integers below 2^53. */
const MAX_RID = Number.MAX_SAFE_INTEGER;

export interface BoshRequest {
  rid: number;
  sid: string | undefined;
  /** The wrapper's attributes as written (prefixed names keep their prefix). */
  attrs: Record<string, string>;
  /** Payloads, in order; stanzas written without a namespace are moved to jabber:client (XEP-0206 §2 note). */
  payloads: Element[];
  terminate: boolean;
  /** XEP-0206 §5: xmpp:restart='true'. */
  restart: boolean;
  /** XEP-0124 §10: seconds, when the request asks for a pause. */
  pause: number | undefined;
  /** Size of the HTTP body in bytes. */
  bytes: number;
}

/**
 * Parses one request body. `limits` bound the whole wrapper (its byte size is capped before this is called;
 * the depth counts the wrapper). Throws BoshError('bad-request').
 */
export function parseBoshRequest(bytes: Buffer, limits: StreamParserLimits): BoshRequest {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new BoshError("bad-request", "the body is not UTF-8");
  }
  let body: Element;
  try {
    body = parseFramedElement(text, limits, NS_HTTPBIND);
  } catch (err) {
    throw new BoshError(
      "bad-request",
      err instanceof StreamError ? `${err.condition}: ${err.text ?? ""}` : String(err),
    );
  }
  // XEP-0124 §4: exactly one <body/> in the httpbind namespace, holding elements and no character data.
  if (body.name !== "body" || body.ns !== NS_HTTPBIND)
    throw new BoshError("bad-request", `<${body.name}/> is not a BOSH <body/>`);
  for (const child of body.children) {
    if (typeof child === "string" && child.trim() !== "")
      throw new BoshError("bad-request", "character data in <body/>");
  }
  const rid = parseRid(body.attrs.rid);
  const pauseText = body.attrs.pause;
  let pause: number | undefined;
  if (pauseText !== undefined) {
    pause = Number(pauseText);
    if (!/^\d{1,9}$/.test(pauseText)) throw new BoshError("bad-request", "pause is not a number of seconds");
  }
  return {
    rid,
    sid: body.attrs.sid,
    attrs: body.attrs,
    payloads: body.elements().map(toClientNamespace),
    terminate: body.attrs.type === "terminate",
    restart: xboshAttr(body, "restart") === "true",
    pause,
    bytes: bytes.length,
  };
}

function parseRid(text: string | undefined): number {
  if (text === undefined || !/^\d{1,16}$/.test(text)) throw new BoshError("bad-request", "rid missing or not a number");
  const rid = Number(text);
  if (rid <= 0 || rid > MAX_RID) throw new BoshError("bad-request", "rid out of range");
  return rid;
}

/** An attribute in urn:xmpp:xbosh, whatever prefix the client bound to it (usually `xmpp:`). */
export function xboshAttr(body: Element, local: string): string | undefined {
  for (const [name, value] of Object.entries(body.attrs)) {
    const colon = name.indexOf(":");
    if (colon <= 0 || name.slice(colon + 1) !== local) continue;
    const prefix = name.slice(0, colon);
    if (prefix !== "xmlns" && body.attrs[`xmlns:${prefix}`] === NS_XBOSH) return value;
  }
  return undefined;
}

/**
 * XEP-0206 §2 note: many clients write stanzas without a namespace, so they inherit httpbind's; they mean
 * jabber:client. Only elements left in httpbind are moved (a payload that declares its namespace keeps it).
 */
function toClientNamespace(el: Element): Element {
  if (el.ns !== NS_HTTPBIND) return el;
  el.ns = NS_CLIENT;
  for (const child of el.children) if (typeof child !== "string") toClientNamespace(child);
  return el;
}

/** A response wrapper around payload text already serialised (XEP-0124 §8; XEP-0206 §2 for xmlns:stream). */
export function responseBody(attrs: Record<string, string>, payload: string): string {
  let out = `<body xmlns='${NS_HTTPBIND}'`;
  // Stream features or a stream error inside: the prefix is also declared on the wrapper (XEP-0206 §2).
  if (payload.includes("<stream:")) out += ` xmlns:stream='${NS_STREAM}'`;
  if (Object.keys(attrs).some((k) => k.startsWith("xmpp:"))) out += ` xmlns:xmpp='${NS_XBOSH}'`;
  for (const [name, value] of Object.entries(attrs)) out += ` ${name}='${escapeAttr(value)}'`;
  return payload === "" ? `${out}/>` : `${out}>${payload}</body>`;
}

/** XEP-0124 §17.2: a terminal binding error. */
export function terminateBody(condition?: BoshCondition, payload = ""): string {
  return responseBody(condition ? { type: "terminate", condition } : { type: "terminate" }, payload);
}
