// XEP-0357 Push Notifications: the <enable/> and <disable/> requests, the stored registration, and the
// XEP-0060 publish that carries a <notification/> with the urn:xmpp:push:summary form.
import { StanzaError } from "../../core/errors.js";
import { type Jid, tryParseJid } from "../../core/jid.js";
import { type DataForm, buildDataForm, findDataForm, formType, parseDataForm } from "../../core/xml/data-form.js";
import { Element } from "../../core/xml/element.js";
import {
  NS_CLIENT,
  NS_CONFERENCE,
  NS_DELAY,
  NS_EME,
  NS_JINGLE_MESSAGE,
  NS_MUC_USER,
  NS_OMEMO,
  NS_OMEMO_LEGACY,
  NS_OPENPGP,
  NS_PGP_ENCRYPTED,
  NS_PUBSUB,
  NS_PUBSUB_PUBLISH_OPTIONS,
  NS_PUSH,
  NS_PUSH_SUMMARY,
} from "../../core/xml/ns.js";

/** One enabled App Server node of an account (XEP-0357 §5), as stored. */
export interface Registration {
  /** The XMPP Push Service, normalised. */
  jid: string;
  node: string;
  /** The publish-options form given with <enable/> (secrets …), sent with every publish (§7). */
  options: { var: string; values: string[] }[] | null;
  /** When it was (last) enabled, ms: a late publish error only removes the registration it was about. */
  since: number;
}

/** Storage key of a registration: §5, several nodes of one service may be enabled, each once. */
export function registrationKey(jid: string, node: string): string {
  return JSON.stringify([jid, node]);
}

/** Parses <enable jid node>[<x publish-options/>]</enable>; a malformed request is the client's bad-request. */
export function parseEnable(el: Element, now: number): Registration {
  const jid = serviceJid(el);
  const node = el.attrs.node;
  // §5 and the §10 schema: 'node' is required (it names the device's node at the App Server).
  if (node === undefined || node === "") throw new StanzaError("bad-request", "enable needs a node attribute");
  let options: Registration["options"] = null;
  const x = findDataForm(el);
  if (x) {
    const form = parseDataForm(x);
    // §5: the extra parameters come as a form whose FORM_TYPE is pubsub#publish-options.
    if (formType(form) !== NS_PUBSUB_PUBLISH_OPTIONS)
      throw new StanzaError("bad-request", `the enable form's FORM_TYPE must be ${NS_PUBSUB_PUBLISH_OPTIONS}`);
    options = form.fields
      .filter((f) => f.var !== undefined && f.var !== "FORM_TYPE")
      .map((f) => ({ var: f.var as string, values: f.values }));
  }
  return { jid: jid.toString(), node, options, since: now };
}

/** Parses <disable jid [node]/> (§6). */
export function parseDisable(el: Element): { jid: string; node: string | undefined } {
  const jid = serviceJid(el);
  const node = el.attrs.node;
  return { jid: jid.toString(), node: node === "" ? undefined : node };
}

function serviceJid(el: Element): Jid {
  // §5 / §6: the request MUST carry the push service's JID.
  const raw = el.attrs.jid;
  if (raw === undefined || raw === "") throw new StanzaError("bad-request", `${el.name} needs a jid attribute`);
  const jid = tryParseJid(raw);
  if (!jid) throw new StanzaError("jid-malformed", "the push service JID is not valid");
  return jid;
}

export function decodeRegistration(value: unknown): Registration | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const v = value as Partial<Registration>;
  if (typeof v.jid !== "string" || typeof v.node !== "string" || typeof v.since !== "number") return undefined;
  return { jid: v.jid, node: v.node, options: Array.isArray(v.options) ? v.options : null, since: v.since };
}

const ENCRYPTED = [NS_EME, NS_OMEMO, NS_OMEMO_LEGACY, NS_OPENPGP, NS_PGP_ENCRYPTED];

/**
 * A message a user would want to be woken for: chat or normal with a body, an encrypted payload, an
 * invitation or a call (XEP-0353). Not: errors, groupchat, headlines, chat states, receipts, carbons (their
 * wrapper has no body).
 */
export function pushWorthy(stanza: Element): boolean {
  if (stanza.name !== "message") return false;
  const type = stanza.attrs.type ?? "normal";
  if (type !== "chat" && type !== "normal") return false;
  const body = stanza.getChildText("body", stanza.ns);
  if (body !== undefined && body.trim() !== "") return true;
  for (const child of stanza.elements()) {
    if (ENCRYPTED.includes(child.ns)) return true;
    if (child.ns === NS_JINGLE_MESSAGE && child.name === "propose") return true;
    if (child.ns === NS_CONFERENCE) return true;
    if (child.name === "x" && child.ns === NS_MUC_USER && child.getChild("invite")) return true;
  }
  return false;
}

export function isEncrypted(stanza: Element): boolean {
  return stanza.elements().some((c) => ENCRYPTED.includes(c.ns));
}

/**
 * A message the server hands over a second time (offline storage flushed, unacknowledged stanzas re-routed
 * when a stream-managed session expires): it carries our own XEP-0203 stamp, and was pushed, if at all, when
 * it first arrived.
 */
export function redelivered(stanza: Element, host: string): boolean {
  return stanza.getChildren("delay", NS_DELAY).some((d) => d.attrs.from === host);
}

export interface Summary {
  messageCount: number;
  /** Bare JID of the last sender, when the configuration allows it. */
  lastSender?: string;
  /** Body of the last message, when the configuration allows it. */
  lastBody?: string;
}

/** The summary form (§7, §11.3 urn:xmpp:push:summary FORM_TYPE). */
export function buildSummary(summary: Summary): Element {
  const form: DataForm = {
    type: "submit",
    fields: [
      { var: "FORM_TYPE", type: "hidden", values: [NS_PUSH_SUMMARY] },
      { var: "message-count", values: [String(summary.messageCount)] },
    ],
  };
  if (summary.lastSender !== undefined) form.fields.push({ var: "last-message-sender", values: [summary.lastSender] });
  if (summary.lastBody !== undefined) form.fields.push({ var: "last-message-body", values: [summary.lastBody] });
  return buildDataForm(form);
}

/** §7: the publish from the user's bare JID to the push service, with the enable's publish-options. */
export function buildPublish(from: string, reg: Registration, summary: Summary): Element {
  const iq = new Element("iq", NS_CLIENT, { type: "set", from, to: reg.jid });
  const pubsub = iq.c("pubsub", NS_PUBSUB);
  pubsub.c("publish", NS_PUBSUB, { node: reg.node }).c("item").c("notification", NS_PUSH).append(buildSummary(summary));
  if (reg.options) {
    // §7: "the publish request SHOULD include the data as publish options".
    const form: DataForm = {
      type: "submit",
      fields: [{ var: "FORM_TYPE", type: "hidden", values: [NS_PUBSUB_PUBLISH_OPTIONS] }, ...reg.options],
    };
    pubsub.c("publish-options", NS_PUBSUB).append(buildDataForm(form));
  }
  return iq;
}

/**
 * §7.1: an error answer disables the registration, unless it says to wait (a transient condition the
 * XEP lets the server ride out).
 */
export function disablesRegistration(reply: Element): boolean {
  if (reply.attrs.type !== "error") return false;
  return reply.getChild("error", reply.ns)?.attrs.type !== "wait";
}
