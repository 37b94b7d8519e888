// XEP-0060 elements a pubsub service (PEP or pubsub.<host>) sends: items (in results and notifications), event messages, pubsub#errors.
import { randomBytes } from "node:crypto";
import { StanzaError, type StanzaErrorCondition } from "../../../core/errors.js";
import { Element } from "../../../core/xml/element.js";
import { NS_CLIENT, NS_DELAY, NS_PUBSUB_ERRORS, NS_PUBSUB_EVENT } from "../../../core/xml/ns.js";
import { parseFramedElement } from "../../../core/xml/stream-parser.js";

/** A stored item: its payload kept as serialised XML. */
export interface PubsubItem {
  id: string;
  /** The payload element, serialised ("" for none). */
  payload: string;
  /** Full JID of the publishing resource (XEP-0060 §7.1.2.3 is optional; kept for replyto). */
  publisher: string;
  /** Milliseconds since the epoch, when it was published. */
  when: number;
}

const PAYLOAD_LIMITS = { maxStanzaBytes: 1 << 20, maxDepth: 64 };

export function serialisePayload(payload: Element | undefined): string {
  return payload ? payload.toString() : "";
}

export function parsePayload(text: string): Element | undefined {
  return text === "" ? undefined : parseFramedElement(text, PAYLOAD_LIMITS, NS_CLIENT);
}

/** <item id='…'>payload</item> in the pubsub (results) or pubsub#event (notifications) namespace. */
export function itemElement(ns: string, item: PubsubItem, withPayload = true): Element {
  const el = new Element("item", ns, { id: item.id });
  const payload = withPayload ? parsePayload(item.payload) : undefined;
  if (payload) el.append(payload);
  return el;
}

/** XEP-0060 §7.1.2: item ids the service generates are unique; random 128 bits. */
export function newItemId(): string {
  return randomBytes(16).toString("hex");
}

/** A stanza error with a pubsub#errors application condition (XEP-0060 §14.2). */
export function pubsubError(
  condition: StanzaErrorCondition,
  app: string | undefined,
  appAttrs: Record<string, string> = {},
  text?: string,
): StanzaError {
  if (app === undefined) return new StanzaError(condition, text);
  return new StanzaError(condition, text, { appCondition: new Element(app, NS_PUBSUB_ERRORS, appAttrs) });
}

/** <message><event xmlns='…#event'>child</event></message> (XEP-0060 §7.1.2.1; PEP: from the owner's bare JID, XEP-0163 §4.3.1). */
export function eventMessage(
  from: string,
  to: string,
  type: "headline" | "normal",
  child: Element,
  delay?: { stamp: number; from: string },
): Element {
  const msg = new Element("message", NS_CLIENT, { from, to, type, id: randomBytes(9).toString("base64url") });
  msg.c("event", NS_PUBSUB_EVENT).append(child);
  if (delay) msg.c("delay", NS_DELAY, { from: delay.from, stamp: new Date(delay.stamp).toISOString() });
  return msg;
}

export function itemsEvent(node: string, items: Element[]): Element {
  return new Element("items", NS_PUBSUB_EVENT, { node }, items);
}
