// XMPP stanzas the gateway sends: occupant presence (XEP-0045 §7.2.3, §17.2 muc#user), room and private messages.
import type { StanzaError } from "../../core/errors.js";
import { Element } from "../../core/xml/element.js";
import { NS_CLIENT, NS_MUC, NS_MUC_USER } from "../../core/xml/ns.js";

export type Role = "moderator" | "participant" | "visitor" | "none";
export type Affiliation = "owner" | "admin" | "member" | "none";

/** Channel user modes as MUC role and affiliation (as biboumi maps them): ~ owner, & @ admin, % moderator member, + member. */
export function roleOf(modes: ReadonlySet<string>): { role: Role; affiliation: Affiliation } {
  if (modes.has("q")) return { role: "moderator", affiliation: "owner" };
  if (modes.has("a") || modes.has("o")) return { role: "moderator", affiliation: "admin" };
  if (modes.has("h")) return { role: "moderator", affiliation: "member" };
  if (modes.has("v")) return { role: "participant", affiliation: "member" };
  return { role: "participant", affiliation: "none" };
}

export interface PresenceFields {
  from: string;
  to: string;
  unavailable?: boolean;
  role: Role;
  affiliation: Affiliation;
  statuses?: number[];
  newNick?: string;
  reason?: string;
}

export function occupantPresence(f: PresenceFields): Element {
  const p = new Element("presence", NS_CLIENT, {
    from: f.from,
    to: f.to,
    ...(f.unavailable ? { type: "unavailable" } : {}),
  });
  const x = p.c("x", NS_MUC_USER);
  const item = x.c("item", NS_MUC_USER, {
    affiliation: f.affiliation,
    role: f.unavailable ? "none" : f.role,
    ...(f.newNick !== undefined ? { nick: f.newNick } : {}),
  });
  if (f.reason) item.c("reason", NS_MUC_USER).t(f.reason);
  for (const code of f.statuses ?? []) x.c("status", NS_MUC_USER, { code: String(code) });
  return p;
}

/** A presence error for a join that failed (XEP-0045 §7.2.6 ff.), with the <x xmlns=muc/> echoed. */
export function joinError(from: string, to: string, error: StanzaError): Element {
  const p = new Element("presence", NS_CLIENT, { from, to, type: "error" });
  p.c("x", NS_MUC);
  p.append(error.toElement());
  return p;
}

export function groupchat(from: string, to: string, body: string): Element {
  const m = new Element("message", NS_CLIENT, { from, to, type: "groupchat" });
  m.c("body", NS_CLIENT).t(body);
  return m;
}

/** §8.1: the subject, from the room (on join) or from the occupant who changed it. */
export function subjectMessage(from: string, to: string, subject: string): Element {
  const m = new Element("message", NS_CLIENT, { from, to, type: "groupchat" });
  m.c("subject", NS_CLIENT).t(subject);
  return m;
}

export function chat(from: string, to: string, body: string): Element {
  const m = new Element("message", NS_CLIENT, { from, to, type: "chat" });
  m.c("body", NS_CLIENT).t(body);
  return m;
}
