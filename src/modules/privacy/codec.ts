// jabber:iq:privacy <list/> and <item/> to and from PrivacyItem (XEP-0016 §2.1), with the XEP's errors.
import { StanzaError } from "../../core/errors.js";
import { tryParseJid } from "../../core/jid.js";
import { Element } from "../../core/xml/element.js";
import { NS_PRIVACY } from "../../core/xml/ns.js";
import { PRIVACY_STANZA_KINDS, type PrivacyItem, type PrivacyStanzaKind } from "./privacy-rules.js";

const TYPES = new Set(["jid", "group", "subscription"]);
const SUBSCRIPTIONS = new Set(["both", "to", "from", "none"]);
const MAX_ORDER = 0xffffffff; // xs:unsignedInt

/**
 * The items of a <list/> being set (§2.6). Throws bad-request for a missing or bad action/order, duplicate
 * orders (§2.1), an unknown type, a jid that is no JID, a subscription value other than both/to/from/none.
 */
export function parseItems(list: Element): PrivacyItem[] {
  const items: PrivacyItem[] = [];
  const orders = new Set<number>();
  for (const el of list.elements()) {
    if (el.name !== "item" || el.ns !== NS_PRIVACY) throw new StanzaError("bad-request", `unexpected <${el.name}/> in <list/>`);
    const { action, order: orderText, type, value } = el.attrs;
    if (action !== "allow" && action !== "deny") throw new StanzaError("bad-request", "action must be allow or deny");
    if (orderText === undefined || !/^\d+$/.test(orderText)) throw new StanzaError("bad-request", "order must be a non-negative integer");
    const order = Number(orderText);
    if (order > MAX_ORDER) throw new StanzaError("bad-request", "order is too large");
    if (orders.has(order)) throw new StanzaError("bad-request", "order values must be unique in a list");
    orders.add(order);
    const item: PrivacyItem = { action, order, stanzas: [] };
    if (type !== undefined) {
      if (!TYPES.has(type)) throw new StanzaError("bad-request", `unknown item type ${type}`);
      if (value === undefined) throw new StanzaError("bad-request", `a ${type} item needs a value`);
      item.type = type as PrivacyItem["type"];
      if (type === "jid") {
        const jid = tryParseJid(value);
        if (!jid) throw new StanzaError("bad-request", "the value of a jid item must be a valid JID");
        item.value = jid.toString(); // stored canonical, matched as such
      } else if (type === "subscription") {
        if (!SUBSCRIPTIONS.has(value)) throw new StanzaError("bad-request", "subscription must be both, to, from or none");
        item.value = value;
      } else item.value = value;
    }
    for (const child of el.elements()) {
      const kind = child.name as PrivacyStanzaKind;
      if (child.ns !== NS_PRIVACY || !PRIVACY_STANZA_KINDS.includes(kind))
        throw new StanzaError("bad-request", `unexpected <${child.name}/> in <item/>`);
      if (!item.stanzas.includes(kind)) item.stanzas.push(kind);
    }
    items.push(item);
  }
  return items;
}

export function itemElement(item: PrivacyItem): Element {
  const attrs: Record<string, string> = {};
  if (item.type !== undefined) attrs.type = item.type;
  if (item.value !== undefined) attrs.value = item.value;
  attrs.action = item.action;
  attrs.order = String(item.order);
  const el = new Element("item", NS_PRIVACY, attrs);
  for (const kind of item.stanzas) el.c(kind, NS_PRIVACY);
  return el;
}

export function listElement(name: string, items: readonly PrivacyItem[] | undefined): Element {
  const el = new Element("list", NS_PRIVACY, { name });
  for (const item of items ?? []) el.append(itemElement(item));
  return el;
}
