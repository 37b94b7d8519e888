// Occupant presence as each viewer gets it (XEP-0045 §7.2.3–§7.2.5, §17.2 muc#user): the occupant's own
// presence from room@service/nick with <x xmlns=muc#user><item affiliation role [jid]/></x>, status codes,
// and the XEP-0421 occupant-id.
import { Element } from "../../core/xml/element.js";
import { NS_CLIENT, NS_MUC, NS_MUC_USER, NS_OCCUPANT_ID } from "../../core/xml/ns.js";
import type { Room } from "./room.js";
import type { Occupant, Role } from "./types.js";

export interface PresenceExtras {
  /** Status codes for every viewer (§15.6.2 registry). */
  statuses?: number[];
  /** Status codes only the occupant itself gets (110 is added automatically). */
  selfStatuses?: number[];
  unavailable?: boolean;
  /** §7.6: the new nick in a 303 unavailable presence. */
  newNick?: string;
  /** §8.2 / §9.1: who kicked or banned, and why. */
  actorNick?: string;
  reason?: string;
  /** §10.9: the <destroy/> element. */
  destroy?: Element;
  /** Overrides the occupant's role (e.g. "none" when leaving). */
  role?: Role;
}

/** Children a client may not put into its room presence: the service adds its own (XEP-0421 §4 MUST strip occupant-id). */
export function cleanClientPresence(stanza: Element): Element[] {
  return stanza
    .elements()
    .filter((c) => c.ns !== NS_MUC && c.ns !== NS_MUC_USER && c.ns !== NS_OCCUPANT_ID);
}

export function occupantPresence(
  room: Room,
  occ: Occupant,
  to: string,
  viewer: { role: Role; self: boolean },
  extras: PresenceExtras = {},
): Element {
  const from = `${room.jid.toString()}/${occ.nick}`;
  const attrs: Record<string, string> = { from, to };
  if (extras.unavailable) attrs.type = "unavailable";
  const p = new Element("presence", NS_CLIENT, attrs);
  const last = occ.sessions.get(occ.jid) ?? [...occ.sessions.values()].at(-1);
  if (last) {
    for (const c of cleanClientPresence(last)) {
      // An unavailable presence keeps only the status text.
      if (extras.unavailable && c.name !== "status") continue;
      p.append(c.clone());
    }
  }
  const x = p.c("x", NS_MUC_USER);
  const itemAttrs: Record<string, string> = {
    affiliation: room.affiliationOf(occ.bare),
    role: extras.role ?? (extras.unavailable ? "none" : occ.role),
  };
  if (viewer.self || room.showsJidsTo(viewer.role)) itemAttrs.jid = occ.jid;
  if (extras.newNick !== undefined) itemAttrs.nick = extras.newNick;
  const item = x.c("item", NS_MUC_USER, itemAttrs);
  if (extras.actorNick !== undefined) item.c("actor", NS_MUC_USER, { nick: extras.actorNick });
  if (extras.reason) item.c("reason", NS_MUC_USER).t(extras.reason);
  if (extras.destroy) x.append(extras.destroy);
  const codes = new Set(extras.statuses ?? []);
  if (viewer.self) {
    codes.add(110);
    for (const c of extras.selfStatuses ?? []) codes.add(c);
  }
  for (const code of [...codes].sort((a, b) => a - b)) x.c("status", NS_MUC_USER, { code: String(code) });
  p.c("occupant-id", NS_OCCUPANT_ID, { id: occ.occupantId });
  return p;
}
