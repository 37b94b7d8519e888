// XEP-0352 Client State Indication: which stanzas an inactive client gets at once, and which can wait.
import type { Element } from "../../core/xml/element.js";
import {
  NS_CARBONS,
  NS_CHATSTATES,
  NS_CONFERENCE,
  NS_EME,
  NS_FORWARD,
  NS_HINTS,
  NS_JINGLE_MESSAGE,
  NS_MUC_USER,
  NS_OMEMO,
  NS_OMEMO_LEGACY,
  NS_OPENPGP,
  NS_PGP_ENCRYPTED,
  NS_SID,
} from "../../core/xml/ns.js";

/**
 * What to do with a stanza for an inactive session:
 * - `now`: deliver at once, after what is held (so the order holds);
 * - `hold`: keep until the client is active or something important comes;
 * - `replace`: hold, replacing an earlier held stanza with the same key (the latest presence of a contact,
 *   the latest chat state of a conversation: XEP-0352 §3.2 "push the latest presence from each contact").
 */
export type CsiVerdict = { action: "now" } | { action: "hold" } | { action: "replace"; key: string };

const ENCRYPTED = [NS_EME, NS_OMEMO, NS_OMEMO_LEGACY, NS_OPENPGP, NS_PGP_ENCRYPTED];

export function csiVerdict(stanza: Element): CsiVerdict {
  const from = stanza.attrs.from ?? "";
  if (stanza.name === "presence") {
    const type = stanza.attrs.type;
    // Availability updates wait; subscription requests, probes and errors are someone waiting on the user.
    if (type === undefined || type === "unavailable") return { action: "replace", key: `p\0${from}` };
    return { action: "now" };
  }
  if (stanza.name !== "message") return { action: "now" }; // iq: someone waits for an answer
  const type = stanza.attrs.type ?? "normal";
  if (type === "error") return { action: "now" };
  // A carbon is as important as what it carries (XEP-0280 §7, §8).
  const carried = stanza.getChild("received", NS_CARBONS) ?? stanza.getChild("sent", NS_CARBONS);
  const message = carried?.getChild("forwarded", NS_FORWARD)?.getChild("message", stanza.ns) ?? stanza;
  if (important(message)) return { action: "now" };
  if (type === "headline") return { action: "hold" };
  if (chatStateOnly(message)) return { action: "replace", key: `c\0${carried ? "carbon" : ""}\0${from}\0${message.attrs.from ?? ""}` };
  return { action: "hold" }; // receipts, markers and the like
}

/** A body, a subject, an encrypted payload, an invitation or a call: a user would want to know now. */
function important(message: Element): boolean {
  if (message.getChild("body", message.ns) || message.getChild("subject", message.ns)) return true;
  for (const child of message.elements()) {
    if (ENCRYPTED.includes(child.ns) || child.ns === NS_JINGLE_MESSAGE) return true;
    if (child.ns === NS_CONFERENCE) return true;
    if (child.name === "x" && child.ns === NS_MUC_USER && child.getChild("invite")) return true; // XEP-0045 §7.8.2 mediated invitation
  }
  return false;
}

/** XEP-0085 notifications with nothing else but thread, hints and ids. */
function chatStateOnly(message: Element): boolean {
  const children = message.elements();
  if (!children.some((c) => c.ns === NS_CHATSTATES)) return false;
  return children.every(
    (c) => c.ns === NS_CHATSTATES || c.ns === NS_HINTS || c.ns === NS_SID || (c.name === "thread" && c.ns === message.ns),
  );
}
