// XEP-0280 Message Carbons: which messages are copied (§6), and the XEP-0297 wrapping of a copy (§7, §8).
import { Element } from "../../core/xml/element.js";
import { NS_CARBONS, NS_CLIENT, NS_FORWARD, NS_HINTS, NS_JINGLE_MESSAGE, NS_MUC_USER } from "../../core/xml/ns.js";

export type CarbonKind = "sent" | "received";

/** A carbon copy itself (§7, §8): never copied again. */
export function isCarbon(stanza: Element): boolean {
  return stanza.getChild("received", NS_CARBONS) !== undefined || stanza.getChild("sent", NS_CARBONS) !== undefined;
}

/** §9: the sender asked that this one message not be copied. */
export function isPrivate(stanza: Element): boolean {
  return stanza.getChild("private", NS_CARBONS) !== undefined;
}

/**
 * XEP-0280 §6 "Messages Eligible for Carbons Delivery", the suggested rules: chat; normal with a body;
 * not from a MUC room (its private messages included); never error (copying bounces needs tracking the
 * §6 rule itself calls unlikely to be appropriate), groupchat or headline. Plus §9 `<private/>`,
 * XEP-0334 §4.3 `<no-copy/>`, and a call invitation (XEP-0353), which every device of the user must see.
 */
export function carbonEligible(stanza: Element, kind: CarbonKind): boolean {
  if (stanza.name !== "message" || isCarbon(stanza) || isPrivate(stanza)) return false;
  if (stanza.getChild("no-copy", NS_HINTS)) return false;
  // §6: "sent by a MUC room or service … (this also includes private messages from MUC participants)".
  // What the user sends to an occupant is still the user's own conversation, so sent copies are kept.
  if (kind === "received" && stanza.getChild("x", NS_MUC_USER)) return false;
  const type = stanza.attrs.type ?? "normal";
  if (type === "chat") return true;
  if (type === "normal" && stanza.getChild("body", stanza.ns)) return true;
  if (type === "normal" && stanza.getChildByNs(NS_JINGLE_MESSAGE)) return true;
  return false;
}

/**
 * §7 / §8: `from` the user's bare JID, `to` the full JID of the copy's resource, the same `type`, and the
 * original message inside `<received|sent><forwarded xmlns='urn:xmpp:forward:0'>`.
 */
export function wrapCarbon(kind: CarbonKind, userBare: string, to: string, original: Element): Element {
  const attrs: Record<string, string> = { from: userBare, to };
  if (original.attrs.type !== undefined) attrs.type = original.attrs.type;
  const copy = original.clone();
  copy.ns = NS_CLIENT;
  return new Element("message", NS_CLIENT, attrs, [
    new Element(kind, NS_CARBONS, {}, [new Element("forwarded", NS_FORWARD, {}, [copy])]),
  ]);
}
