// The privacy rule engine shared by privacy lists (XEP-0016) and the blocking command (XEP-0191 §5: one
// back-end): pure evaluation of an ordered list of items against one stanza. No I/O: the caller supplies the
// peer's roster item when the list has group or subscription rules.
import type { Jid } from "../../core/jid.js";

/** What an item can name (XEP-0016 §2.1): the four stanza kinds. An item naming none covers every stanza. */
export type PrivacyStanzaKind = "message" | "iq" | "presence-in" | "presence-out";
export const PRIVACY_STANZA_KINDS: readonly PrivacyStanzaKind[] = ["message", "iq", "presence-in", "presence-out"];

export type PrivacySubscription = "both" | "to" | "from" | "none";

export interface PrivacyItem {
  /** Absent: the fall-through item (XEP-0016 §2.1). */
  type?: "jid" | "group" | "subscription";
  value?: string;
  action: "allow" | "deny";
  /** Unique non-negative integer; items apply in ascending order (§2.2 rule 5). */
  order: number;
  /** Empty: every stanza, both ways (§2.13). */
  stanzas: PrivacyStanzaKind[];
}

/** The peer's roster item as the rules see it; undefined when the peer is not in the roster. */
export interface PeerRosterItem {
  subscription: PrivacySubscription;
  groups: readonly string[];
}

/**
 * What the stanza is, from the list owner's side. `undefined` is any other stanza (subscriptions, probes,
 * outbound messages and iqs): only items that name no kind apply to it (XEP-0016 §2.10, §2.11, §2.13).
 */
export type StanzaCategory = PrivacyStanzaKind | undefined;

/** The category of a stanza the owner receives (`in`) or sends (`out`): XEP-0016 §2.1 and the notes of §2.10/§2.11. */
export function categorize(name: string, type: string | undefined, direction: "in" | "out"): StanzaCategory {
  if (name === "presence") {
    // Presence notifications are presence without type or of type "unavailable" only.
    if (type !== undefined && type !== "unavailable") return undefined;
    return direction === "in" ? "presence-in" : "presence-out";
  }
  if (direction === "out") return undefined; // <message/> and <iq/> only block incoming stanzas
  if (name === "message") return "message";
  if (name === "iq") return "iq";
  return undefined;
}

/** A parsed `jid` item value, split once. */
interface JidPattern {
  local: string;
  domain: string;
  resource: string;
}

function splitJid(value: string): JidPattern {
  const slash = value.indexOf("/");
  const bare = slash === -1 ? value : value.slice(0, slash);
  const resource = slash === -1 ? "" : value.slice(slash + 1);
  const at = bare.indexOf("@");
  return at === -1
    ? { local: "", domain: bare, resource }
    : { local: bare.slice(0, at), domain: bare.slice(at + 1), resource };
}

/**
 * XEP-0016 §2.1 (and XEP-0191 JID Matching): user@domain/resource matches only that resource;
 * user@domain any of its resources; domain/resource that resource at the domain; domain the domain itself,
 * any address at it, and its subdomains. The value is expected in canonical form (it is stored that way).
 */
export function jidMatches(value: string, peer: Jid): boolean {
  const p = splitJid(value);
  if (p.local !== "") {
    if (p.local !== peer.local || p.domain !== peer.domain) return false;
    return p.resource === "" || p.resource === peer.resource;
  }
  if (p.resource !== "") return p.domain === peer.domain && p.resource === peer.resource;
  return peer.domain === p.domain || peer.domain.endsWith(`.${p.domain}`);
}

function itemMatches(item: PrivacyItem, peer: Jid, roster: PeerRosterItem | undefined): boolean {
  switch (item.type) {
    case undefined:
      return true;
    case "jid":
      return jidMatches(item.value ?? "", peer);
    case "group":
      return roster !== undefined && roster.groups.includes(item.value ?? "");
    case "subscription":
      // "none" includes entities not in the roster at all.
      return (roster?.subscription ?? "none") === item.value;
  }
}

/** Items in processing order (§2.2 rule 5: ascending 'order'). */
export function sortItems(items: readonly PrivacyItem[]): PrivacyItem[] {
  return [...items].sort((a, b) => a.order - b.order);
}

/** Whether evaluating needs the peer's roster item (group and subscription rules). */
export function needsRoster(items: readonly PrivacyItem[]): boolean {
  return items.some((i) => i.type === "group" || i.type === "subscription");
}

/**
 * The first item that applies to the stanza, or undefined (§2.2 rule 7: the fall-through is "allow").
 * `items` must be sorted (sortItems); §2.2 rule 6: processing stops at the first match.
 */
export function firstMatch(
  items: readonly PrivacyItem[],
  category: StanzaCategory,
  peer: Jid,
  roster: PeerRosterItem | undefined,
): PrivacyItem | undefined {
  for (const item of items) {
    if (item.stanzas.length > 0 && (category === undefined || !item.stanzas.includes(category))) continue;
    if (itemMatches(item, peer, roster)) return item;
  }
  return undefined;
}

/** True when the list lets the stanza through. */
export function allows(
  items: readonly PrivacyItem[],
  category: StanzaCategory,
  peer: Jid,
  roster: PeerRosterItem | undefined,
): boolean {
  return firstMatch(items, category, peer, roster)?.action !== "deny";
}

/** A blocklist entry as XEP-0191 §5 maps it: type "jid", action "deny", every stanza. */
export function isBlockItem(item: PrivacyItem): boolean {
  return item.type === "jid" && item.action === "deny" && item.stanzas.length === 0;
}
