// Bookmarks in their three shapes: XEP-0402 items (one <conference xmlns='urn:xmpp:bookmarks:1'/> per
// item, the room JID as item id), and the XEP-0048 <storage xmlns='storage:bookmarks'/> list kept in
// XEP-0049 private storage or in the legacy PEP node of the same name. One neutral form in between.
import { parseJid } from "../../core/jid.js";
import { Element } from "../../core/xml/element.js";
import { NS_BOOKMARKS, NS_BOOKMARKS_LEGACY } from "../../core/xml/ns.js";

export interface Bookmark {
  /** The room JID (XEP-0402 §2: the item id). */
  jid: string;
  name?: string;
  autojoin: boolean;
  nick?: string;
  password?: string;
  /** XEP-0402 §2 <extensions/> children (XEP-0048: foreign children of <conference/>), kept as they came. */
  extensions: Element[];
}

/** xs:boolean (XEP-0402 §2 and XEP-0048 §3.2 both say "true" or "1"). */
const isTrue = (v: string | undefined) => v === "true" || v === "1";

/** A room JID as an item id, kept as written (retractions name the stored id); undefined when it is no JID. */
export function roomJid(text: string | undefined): string | undefined {
  if (!text) return undefined;
  try {
    parseJid(text);
    return text;
  } catch {
    return undefined;
  }
}

/** XEP-0402 item (id + conference payload) → Bookmark; undefined for an item that is no bookmark. */
export function fromConference(id: string, conference: Element | undefined): Bookmark | undefined {
  const jid = roomJid(id);
  if (!jid || !conference || conference.name !== "conference" || conference.ns !== NS_BOOKMARKS) return undefined;
  const b: Bookmark = { jid, autojoin: isTrue(conference.attrs.autojoin), extensions: [] };
  if (conference.attrs.name !== undefined) b.name = conference.attrs.name;
  const nick = conference.getChildText("nick", NS_BOOKMARKS);
  if (nick !== undefined) b.nick = nick;
  const password = conference.getChildText("password", NS_BOOKMARKS);
  if (password !== undefined) b.password = password;
  const ext = conference.getChild("extensions", NS_BOOKMARKS);
  if (ext) b.extensions = ext.elements().map((e) => e.clone());
  return b;
}

/** Bookmark → XEP-0402 §2 conference payload. */
export function toConference(b: Bookmark): Element {
  const attrs: Record<string, string> = {};
  if (b.name !== undefined) attrs.name = b.name;
  if (b.autojoin) attrs.autojoin = "true";
  const el = new Element("conference", NS_BOOKMARKS, attrs);
  if (b.nick !== undefined) el.c("nick", NS_BOOKMARKS).t(b.nick);
  if (b.password !== undefined) el.c("password", NS_BOOKMARKS).t(b.password);
  if (b.extensions.length > 0) el.c("extensions", NS_BOOKMARKS).append(...b.extensions.map((e) => e.clone()));
  return el;
}

/**
 * The conferences of a XEP-0048 <storage/> (§3.2), later duplicates of a JID dropped. Children of a conference
 * other than nick and password (foreign namespaces) become XEP-0402 extensions, as XEP-0402 §2 keeps them.
 */
export function fromStorage(storage: Element): Bookmark[] {
  const out = new Map<string, Bookmark>();
  for (const c of storage.getChildren("conference", NS_BOOKMARKS_LEGACY)) {
    const jid = roomJid(c.attrs.jid);
    if (!jid || out.has(jid)) continue;
    const b: Bookmark = { jid, autojoin: isTrue(c.attrs.autojoin), extensions: [] };
    if (c.attrs.name !== undefined) b.name = c.attrs.name;
    for (const child of c.elements()) {
      if (child.ns === NS_BOOKMARKS_LEGACY && child.name === "nick") b.nick = child.text();
      else if (child.ns === NS_BOOKMARKS_LEGACY && child.name === "password") b.password = child.text();
      else if (child.ns !== NS_BOOKMARKS_LEGACY) b.extensions.push(child.clone());
    }
    out.set(jid, b);
  }
  return [...out.values()];
}

/**
 * XEP-0402 §5.3.1: the items cast into one XEP-0048 <storage/>, the jid attribute set to the item id; `others`
 * are the non-conference children of a stored legacy list (XEP-0048 <url/> bookmarks), kept after them.
 */
export function toStorage(bookmarks: Bookmark[], others: Element[] = []): Element {
  const storage = new Element("storage", NS_BOOKMARKS_LEGACY);
  for (const b of bookmarks) {
    const attrs: Record<string, string> = { jid: b.jid, autojoin: b.autojoin ? "true" : "false" };
    if (b.name !== undefined) attrs.name = b.name;
    const c = storage.c("conference", NS_BOOKMARKS_LEGACY, attrs);
    if (b.nick !== undefined) c.c("nick", NS_BOOKMARKS_LEGACY).t(b.nick);
    if (b.password !== undefined) c.c("password", NS_BOOKMARKS_LEGACY).t(b.password);
    c.append(...b.extensions.map((e) => e.clone()));
  }
  storage.append(...others.map((o) => o.clone()));
  return storage;
}

/** The children of a legacy <storage/> that are no conferences (URL bookmarks and the like). */
export function nonConferences(storage: Element): Element[] {
  return storage.elements().filter((c) => !(c.name === "conference" && c.ns === NS_BOOKMARKS_LEGACY));
}

/** Two bookmarks are the same when every field is (XEP-0402 §5.3.2: no notification for unchanged items). */
export function sameBookmark(a: Bookmark, b: Bookmark): boolean {
  const key = (x: Bookmark) =>
    JSON.stringify([x.jid, x.name ?? null, x.autojoin, x.nick ?? null, x.password ?? null, x.extensions.map((e) => e.toString())]);
  return key(a) === key(b);
}
