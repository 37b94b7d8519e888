// XEP-0220 server dialback: key generation (XEP-0185) and the db:* elements, written with the `db:` prefix
// that the stream header declares (XEP-0220 §2.1.1; some older peers match the prefix, not the namespace).
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { escapeAttr, escapeText } from "../../core/xml/element.js";

export const NS_DIALBACK = "jabber:server:dialback";
/** XEP-0220 §2.4.1 stream feature: the peer supports dialback and its error conditions. */
export const NS_DIALBACK_FEATURE = "urn:xmpp:features:dialback";

/**
 * XEP-0185 §3: key = HEX( HMAC-SHA256( SHA256(secret), receiving + " " + originating + " " + streamId ) ).
 * Nothing is stored: the authoritative server recomputes the key from the db:verify it is asked about.
 */
export function dialbackKey(secret: Buffer, receiving: string, originating: string, streamId: string): string {
  const hashedSecret = createHash("sha256").update(secret).digest("hex");
  return createHmac("sha256", hashedSecret).update(`${receiving} ${originating} ${streamId}`).digest("hex");
}

export function keysEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export type DialbackType = "valid" | "invalid" | "error";

function attrs(values: Record<string, string | undefined>): string {
  let out = "";
  for (const [k, v] of Object.entries(values)) if (v !== undefined) out += ` ${k}='${escapeAttr(v)}'`;
  return out;
}

/** `<db:result/>` (§2.1.1 request with a key, §2.1.4 answer with a type). */
export function dbResult(from: string, to: string, body: { key: string } | { type: DialbackType }): string {
  if ("key" in body) return `<db:result${attrs({ from, to })}>${escapeText(body.key)}</db:result>`;
  if (body.type === "error")
    return `<db:result${attrs({ from, to, type: "error" })}><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></db:result>`;
  return `<db:result${attrs({ from, to, type: body.type })}/>`;
}

/** `<db:verify/>` (§2.1.2 request with the key, §2.1.3 answer with a type). */
export function dbVerify(from: string, to: string, id: string, body: { key: string } | { type: DialbackType }): string {
  if ("key" in body) return `<db:verify${attrs({ from, to, id })}>${escapeText(body.key)}</db:verify>`;
  return `<db:verify${attrs({ from, to, id, type: body.type })}/>`;
}
