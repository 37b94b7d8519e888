// Discussion history (XEP-0045 §7.2.15): which archived messages a joining occupant gets, honouring
// <history maxchars maxstanzas seconds since/>, and their XEP-0203 delay stamps. Archive items hold the
// groupchat message as broadcast (with its XEP-0359 stanza-id), serialised.
import { Element } from "../../core/xml/element.js";
import { NS_CLIENT, NS_DELAY, NS_MUC } from "../../core/xml/ns.js";
import { parseFramedElement } from "../../core/xml/stream-parser.js";
import type { ArchiveItem, Json } from "../../storage/types.js";

export interface HistoryRequest {
  maxchars?: number;
  maxstanzas?: number;
  seconds?: number;
  /** ms since the epoch */
  since?: number;
}

const nonNegativeInt = (v: string | undefined): number | undefined => {
  if (v === undefined || !/^\d+$/.test(v)) return undefined;
  return Number(v);
};

/** The <history/> of a join presence's <x xmlns=".../muc"/>; attributes that do not parse are ignored. */
export function parseHistoryRequest(join: Element | undefined): HistoryRequest {
  const h = join?.getChild("history", NS_MUC);
  if (!h) return {};
  const out: HistoryRequest = {};
  const maxchars = nonNegativeInt(h.attrs.maxchars);
  const maxstanzas = nonNegativeInt(h.attrs.maxstanzas);
  const seconds = nonNegativeInt(h.attrs.seconds);
  const since = h.attrs.since === undefined ? Number.NaN : Date.parse(h.attrs.since);
  if (maxchars !== undefined) out.maxchars = maxchars;
  if (maxstanzas !== undefined) out.maxstanzas = maxstanzas;
  if (seconds !== undefined) out.seconds = seconds;
  if (!Number.isNaN(since)) out.since = since;
  return out;
}

/** How many items to fetch at most: the room's history length, lowered by maxstanzas. */
export function historyFetchLimit(roomLength: number, req: HistoryRequest): number {
  if (req.maxchars === 0) return 0;
  return Math.min(roomLength, req.maxstanzas ?? roomLength);
}

export interface HistoryEntry {
  stanza: Element;
  when: number;
}

/**
 * §7.2.15: of the room's most recent messages (oldest first), those the request lets through: newer
 * than `seconds` ago and than `since`, the last `maxstanzas`, and as many of the newest as fit in `maxchars`
 * (counting each stanza's XML as sent).
 */
export function selectHistory(entries: HistoryEntry[], req: HistoryRequest, now = Date.now()): HistoryEntry[] {
  let out = entries;
  if (req.seconds !== undefined) out = out.filter((e) => e.when >= now - (req.seconds as number) * 1000);
  if (req.since !== undefined) out = out.filter((e) => e.when >= (req.since as number));
  if (req.maxstanzas !== undefined) out = req.maxstanzas === 0 ? [] : out.slice(-req.maxstanzas);
  if (req.maxchars !== undefined) {
    let budget = req.maxchars;
    let first = out.length;
    for (let i = out.length - 1; i >= 0; i--) {
      const size = (out[i] as HistoryEntry).stanza.toString().length;
      if (size > budget) break;
      budget -= size;
      first = i;
    }
    out = out.slice(first);
  }
  return out;
}

// Stored messages passed the stream's limits when they arrived; these only guard against a damaged row.
const PARSE_LIMITS = { maxStanzaBytes: 16 * 1024 * 1024, maxDepth: 1024 };

/** An archive item's value: the broadcast groupchat message (without `to`), serialised. */
export function encodeArchived(message: Element): Json {
  // A shallow copy: the children are only read (a fanned-out payload's frozen children keep their text).
  const { to: _to, ...attrs } = message.attrs;
  return new Element(message.name, message.ns, attrs, message.children).toString();
}

/** Parses an archived message back; undefined for a value that is not one (never throws). */
export function decodeArchived(item: ArchiveItem): HistoryEntry | undefined {
  if (typeof item.value !== "string") return undefined;
  try {
    const stanza = parseFramedElement(item.value, PARSE_LIMITS, NS_CLIENT);
    return stanza.name === "message" ? { stanza, when: item.when } : undefined;
  } catch {
    return undefined;
  }
}

/** XEP-0203 / XEP-0045 §7.2.15: the history message for one recipient, delayed `from` the room. */
export function historyMessage(entry: HistoryEntry, roomJid: string, to: string): Element {
  const m = entry.stanza.clone();
  m.attrs.to = to;
  m.c("delay", NS_DELAY, { from: roomJid, stamp: new Date(entry.when).toISOString() });
  return m;
}
