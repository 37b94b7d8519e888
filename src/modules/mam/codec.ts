// Message archive rules and formats: which messages a user archive keeps (XEP-0313 §6.1.1, XEP-0334),
// the stored form of a message, the XEP-0359 stanza-id stamp, and XEP-0441 preferences.
import { StanzaError } from "../../core/errors.js";
import { type Jid, tryParseJid } from "../../core/jid.js";
import { Element } from "../../core/xml/element.js";
import { NS_CLIENT, NS_HINTS, NS_MAM, NS_SID } from "../../core/xml/ns.js";
import { parseFramedElement } from "../../core/xml/stream-parser.js";
import type { Json } from "../../storage/types.js";

/**
 * XEP-0313 §6.1.1: a user archive keeps the messages of type normal or chat that carry a <body/>
 * (not groupchat, headline or error). XEP-0334 §4.1 <no-permanent-store/> and §4.2 <no-store/> keep a
 * message out; §4.4 <store/> lets one in without a body (an encrypted payload, say).
 */
export function isArchivable(stanza: Element): boolean {
  if (stanza.name !== "message") return false;
  const type = stanza.attrs.type ?? "normal";
  if (type !== "normal" && type !== "chat") return false;
  let body = false;
  let store = false;
  for (const c of stanza.children) {
    if (typeof c === "string") continue;
    if (c.ns === NS_HINTS) {
      if (c.name === "no-store" || c.name === "no-permanent-store") return false;
      if (c.name === "store") store = true;
    } else if (c.name === "body" && c.ns === stanza.ns) body = true;
  }
  return body || store;
}

/** The stored form of an archived message: the stanza as the archive owner sent or received it. */
export function encodeArchived(stanza: Element): Json {
  return { xml: stanza.toString() };
}

// The stanza passed the stream's limits when it arrived; these only guard against a damaged row.
const PARSE_LIMITS = { maxStanzaBytes: 16 * 1024 * 1024, maxDepth: 1024 };

/** The archived message back, or undefined for a value that is not one (never throws). */
export function decodeArchived(value: Json): Element | undefined {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
  const xml = value.xml;
  if (typeof xml !== "string") return undefined;
  try {
    return parseFramedElement(xml, PARSE_LIMITS, NS_CLIENT);
  } catch {
    return undefined;
  }
}

/** The stanza-ids an archive with JID `by` put there (XEP-0359 §4 rule 4: at most one per `by`). */
export function stanzaIdsBy(stanza: Element, by: string): Element[] {
  return stanza.getChildren("stanza-id", NS_SID).filter((s) => s.attrs.by === by);
}

/**
 * XEP-0313 §3.5 / XEP-0359 §4 rules 3 and 4: removes any stanza-id claiming to be from `by` (a sender
 * could forge one) and adds the archive's own.
 */
export function stampStanzaId(stanza: Element, id: string, by: string): void {
  stanza.children = stanza.children.filter(
    (c) => typeof c === "string" || c.name !== "stanza-id" || c.ns !== NS_SID || c.attrs.by !== by,
  );
  stanza.c("stanza-id", NS_SID, { id, by });
}

/** A copy without the stanza-ids of `by` (the archive stores the message as it arrived). */
export function withoutStanzaIds(stanza: Element, by: string): Element {
  const out = stanza.clone();
  out.children = out.children.filter(
    (c) => typeof c === "string" || c.name !== "stanza-id" || c.ns !== NS_SID || c.attrs.by !== by,
  );
  return out;
}

// ---------------------------------------------------------------------------------------------
// XEP-0441 preferences (urn:xmpp:mam:2 <prefs/>).

export type ArchivePolicy = "always" | "roster" | "never";
const POLICIES = new Set<string>(["always", "roster", "never"]);

export interface ArchivePrefs {
  default: ArchivePolicy;
  /** Canonical JIDs (bare or full). */
  always: string[];
  never: string[];
}

export function isPolicy(value: string): value is ArchivePolicy {
  return POLICIES.has(value);
}

/** Reads stored prefs; anything unreadable falls back to `fallback`. */
export function decodePrefs(value: Json | undefined, fallback: ArchivePolicy): ArchivePrefs {
  const out: ArchivePrefs = { default: fallback, always: [], never: [] };
  if (value === null || value === undefined || typeof value !== "object" || Array.isArray(value)) return out;
  if (typeof value.default === "string" && isPolicy(value.default)) out.default = value.default;
  const list = (v: Json | undefined) => (Array.isArray(v) ? v.filter((j): j is string => typeof j === "string") : []);
  out.always = list(value.always);
  out.never = list(value.never);
  return out;
}

export function encodePrefs(prefs: ArchivePrefs): Json {
  return { default: prefs.default, always: prefs.always, never: prefs.never };
}

/** XEP-0441 §2.1: the <prefs/> a client sets. Unknown default → bad-request; bad JIDs → jid-malformed. */
export function parsePrefs(el: Element): ArchivePrefs {
  const def = el.attrs.default;
  if (def === undefined || !isPolicy(def)) throw new StanzaError("bad-request", "default must be always, roster or never");
  const jids = (name: string) => {
    const out: string[] = [];
    for (const j of el.getChild(name, NS_MAM)?.getChildren("jid", NS_MAM) ?? []) {
      const jid = tryParseJid(j.text().trim());
      if (!jid) throw new StanzaError("jid-malformed", `bad JID in <${name}/>`);
      if (!out.includes(jid.toString())) out.push(jid.toString());
    }
    return out;
  };
  const never = jids("never");
  // A JID in both lists is never archived: the privacy-safe reading, and what the reply then shows.
  const always = jids("always").filter((j) => !never.includes(j));
  return { default: def, always, never };
}

/** XEP-0441 §2.1: <always/> and <never/> are always present, possibly empty. */
export function buildPrefs(prefs: ArchivePrefs): Element {
  const el = new Element("prefs", NS_MAM, { default: prefs.default });
  const always = el.c("always");
  for (const j of prefs.always) always.c("jid").t(j);
  const never = el.c("never");
  for (const j of prefs.never) never.c("jid").t(j);
  return el;
}

/** XEP-0441 §2.3.1: a listed full JID matches exactly; a listed bare JID matches any resource. */
function listed(list: string[], target: Jid): boolean {
  const full = target.toString();
  const bare = target.bareString();
  return list.some((j) => j === full || j === bare);
}

/**
 * Whether a message with `target` (the `to` of an outgoing message, the `from` of an incoming one:
 * XEP-0441 §2.3.2, §2.3.3) is archived. `inRoster` is asked only for the roster default.
 */
export async function prefsAllow(prefs: ArchivePrefs, target: Jid, inRoster: (bare: string) => Promise<boolean>): Promise<boolean> {
  if (listed(prefs.never, target)) return false;
  if (listed(prefs.always, target)) return true;
  if (prefs.default === "always") return true;
  if (prefs.default === "never") return false;
  return inRoster(target.bareString()); // §2.1.1: compared by bare JID
}
