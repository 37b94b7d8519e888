// Offline messages ⇄ stored values (XEP-0160), the storage rules for each message, and the XEP-0203 delay stamp.
import type { Element } from "../../core/xml/element.js";
import { NS_CHATSTATES, NS_CLIENT, NS_DELAY, NS_HINTS, NS_SID } from "../../core/xml/ns.js";
import { parseFramedElement } from "../../core/xml/stream-parser.js";
import type { Json } from "../../storage/types.js";

/** What to do with a message for an account that has no resource to take it. */
export type OfflineVerdict =
  /** Store it for later delivery. */
  | "store"
  /** Not worth keeping and not worth an error: drop it silently. */
  | "discard"
  /** Not stored: the router answers the sender with service-unavailable (RFC 6121 §8.5.2.2.1). */
  | "refuse";

/** XEP-0160 §3 and XEP-0334 §4: which offline messages are stored. */
export function offlineVerdict(stanza: Element): OfflineVerdict {
  const type = stanza.attrs.type ?? "normal";
  // XEP-0160 §3: normal and chat are stored; groupchat, headline and error are not.
  if (type !== "normal" && type !== "chat") return "refuse";
  const children = stanza.elements();
  // XEP-0334 §4.2: <no-store/> asks that the message not be stored at all (offline storage included).
  if (children.some((c) => c.name === "no-store" && c.ns === NS_HINTS)) return "refuse";
  // XEP-0334 §4.4: <store/> asks that it be stored even when it would not be otherwise.
  if (children.some((c) => c.name === "store" && c.ns === NS_HINTS)) return "store";
  // XEP-0160 §3 / XEP-0085: a message with only a chat state notification is not stored. A typing
  // notification is stale by the time its recipient logs in and an error for it helps no one: drop it.
  const chatState = children.some((c) => c.ns === NS_CHATSTATES);
  if (chatState && children.every((c) => c.ns === NS_CHATSTATES || isEnvelopeChild(c, stanza))) return "discard";
  return "store";
}

/**
 * Chat-state-only means: no child besides the chat state but thread, XEP-0334 hints and XEP-0359 ids.
 * Anything else (a body, a subject, an encrypted payload, a receipt…) is content worth storing.
 */
function isEnvelopeChild(el: Element, stanza: Element): boolean {
  return el.ns === NS_HINTS || el.ns === NS_SID || (el.name === "thread" && el.ns === stanza.ns);
}

/** The stored form: the serialised stanza and when the server received it (ms since the epoch). */
export type StoredOffline = {
  xml: string;
  received: number;
};

export function encodeOffline(stanza: Element, received: number): StoredOffline {
  // The stanza is written with its own xmlns (parentNs ""), so it parses back to the same namespace.
  return { xml: stanza.toString(), received };
}

// The stanza passed the stream's own limits when it arrived; these only guard against a damaged row.
const PARSE_LIMITS = { maxStanzaBytes: 16 * 1024 * 1024, maxDepth: 1024 };

/** Parses a stored value back; undefined for a value that is not one of ours (never throws). */
export function decodeOffline(value: Json): { stanza: Element; received: number } | undefined {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
  const { xml, received } = value;
  if (typeof xml !== "string" || typeof received !== "number" || !Number.isFinite(received)) return undefined;
  try {
    const stanza = parseFramedElement(xml, PARSE_LIMITS, NS_CLIENT);
    if (stanza.name !== "message") return undefined;
    return { stanza, received };
  } catch {
    return undefined;
  }
}

/** XEP-0203 §4: the stored stanza with `<delay from=host stamp=…/>` added (XEP-0082 UTC DateTime). */
export function withDelay(stanza: Element, from: string, received: number): Element {
  const out = stanza.clone();
  // XEP-0203 §3: one delay per entity that held the stanza. A message re-routed here from a session that ended
  // unacknowledged already carries ours, with the earlier time.
  if (out.getChildren("delay", NS_DELAY).some((d) => d.attrs.from === from)) return out;
  out.c("delay", NS_DELAY, { from, stamp: new Date(received).toISOString() });
  return out;
}
