// Stream headers (RFC 6120 §4.7) and the closing tag, written as text: they are not complete elements.
import { randomBytes } from "node:crypto";
import { escapeAttr } from "../core/xml/element.js";
import { NS_STREAM } from "../core/xml/ns.js";

export function newStreamId(): string {
  // RFC 6120 §4.7.3: unique and unpredictable (at least 128 bits of randomness recommended).
  return randomBytes(16).toString("base64url");
}

export function streamHeader(opts: { contentNs: string; id: string; from: string; to?: string }): string {
  let out = `<?xml version='1.0'?><stream:stream xmlns='${opts.contentNs}' xmlns:stream='${NS_STREAM}' id='${opts.id}' from='${escapeAttr(opts.from)}'`;
  if (opts.to) out += ` to='${escapeAttr(opts.to)}'`;
  return `${out} version='1.0' xml:lang='en'>`;
}

export const STREAM_CLOSE = "</stream:stream>";
