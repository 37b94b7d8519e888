// The muc#admin protocol (XEP-0045 §8 moderator and §9 admin use cases, §10.3–§10.7 owner lists): role
// changes by nick (kick, voice, moderator), affiliation changes by JID (ban, members, admins, owners), and
// the lists. A set with several items is applied all or nothing.
import { StanzaError } from "../../core/errors.js";
import { type Jid, tryParseJid } from "../../core/jid.js";
import { Element } from "../../core/xml/element.js";
import { NS_MUC_ADMIN } from "../../core/xml/ns.js";
import { checkAffiliationChange, defaultRole } from "./affiliations.js";
import { broadcastPresence, removeOccupant } from "./occupants.js";
import { checkRoleChange } from "./roles.js";
import type { Room } from "./room.js";
import type { MucService } from "./service.js";
import { AFFILIATIONS, type Affiliation, ROLES, type Role } from "./types.js";

type Change =
  | { kind: "role"; nick: string; role: Role; reason: string | undefined }
  | { kind: "affiliation"; bare: string; affiliation: Affiliation; reason: string | undefined };

export async function handleAdminIq(svc: MucService, room: Room, iq: Element, from: Jid, query: Element): Promise<Element> {
  const actorAff = room.affiliationOf(from.bareString());
  const actorOcc = room.occupantBySession(from.toString());
  const actor = { affiliation: actorAff, role: actorOcc?.role ?? ("none" as Role) };
  const items = query.getChildren("item", NS_MUC_ADMIN);
  if (items.length === 0) throw new StanzaError("bad-request", "no item");
  if (iq.attrs.type === "get") return list(room, actor, items[0] as Element);

  // Validate every item first (all or nothing).
  const changes: Change[] = [];
  for (const item of items) {
    const reason = item.getChildText("reason", NS_MUC_ADMIN) || undefined;
    const role = item.attrs.role as Role | undefined;
    const affiliation = item.attrs.affiliation as Affiliation | undefined;
    if (role !== undefined) {
      if (!ROLES.includes(role)) throw new StanzaError("bad-request", "unknown role");
      const nick = item.attrs.nick;
      if (nick === undefined) throw new StanzaError("bad-request", "a role change names an occupant by nick");
      const target = room.occupants.get(nick);
      if (!target) throw new StanzaError("item-not-found", "no such occupant");
      const err = checkRoleChange(actor, { affiliation: room.affiliationOf(target.bare), role: target.role }, role);
      if (err) throw new StanzaError(err);
      changes.push({ kind: "role", nick, role, reason });
    } else if (affiliation !== undefined) {
      if (!AFFILIATIONS.includes(affiliation)) throw new StanzaError("bad-request", "unknown affiliation");
      let bare: string | undefined;
      if (item.attrs.jid !== undefined) bare = tryParseJid(item.attrs.jid)?.bareString();
      else if (item.attrs.nick !== undefined) bare = room.occupants.get(item.attrs.nick)?.bare;
      if (bare === undefined) throw new StanzaError(item.attrs.jid !== undefined ? "jid-malformed" : "item-not-found");
      const current = room.affiliationOf(bare);
      const err = checkAffiliationChange(actorAff, current, affiliation);
      if (err) throw new StanzaError(err);
      // §10.6 / §10.7: a room keeps at least one owner.
      if (current === "owner" && affiliation !== "owner" && room.owners().filter((o) => o !== bare).length === 0 && !svc.admins.has(bare))
        throw new StanzaError("conflict", "a room needs an owner");
      if (svc.admins.has(bare) && affiliation !== "owner") throw new StanzaError("not-allowed", "service administrators own every room");
      changes.push({ kind: "affiliation", bare, affiliation, reason });
    } else {
      throw new StanzaError("bad-request", "an item needs a role or an affiliation");
    }
  }

  // max_affiliations: the lists are stored with the room and sent whole on request.
  const added = new Set(changes.flatMap((c) => (c.kind === "affiliation" && c.affiliation !== "none" && !room.affiliations.has(c.bare) ? [c.bare] : [])));
  if (added.size > 0 && room.affiliations.size + added.size > svc.options.max_affiliations)
    throw svc.limitReached("max_affiliations", from.bareString(), "resource-constraint", `a room keeps at most ${svc.options.max_affiliations} affiliations`, room);

  const actorNick = actorOcc?.nick;
  let affiliationsChanged = false;
  for (const c of changes) {
    if (c.kind === "role") {
      const target = room.occupants.get(c.nick);
      if (!target) continue;
      if (c.role === "none") {
        // §8.2 kick: status 307.
        await removeOccupant(svc, room, target, { statuses: [307], reason: c.reason, ...(actorNick ? { actorNick } : {}) });
      } else if (target.role !== c.role) {
        target.role = c.role;
        await broadcastPresence(svc, room, target, { reason: c.reason });
      }
      continue;
    }
    affiliationsChanged = true;
    room.setAffiliation(c.bare, c.affiliation);
    for (const target of room.occupantsOf(c.bare)) {
      const extras = { reason: c.reason, ...(actorNick ? { actorNick } : {}) };
      if (c.affiliation === "outcast") {
        await removeOccupant(svc, room, target, { ...extras, statuses: [301] }); // §9.1 ban
      } else if (room.config.membersOnly && c.affiliation === "none") {
        await removeOccupant(svc, room, target, { ...extras, statuses: [321] }); // §9.4 removed as non-member
      } else {
        // §9.3 / §10.3: the role follows the new affiliation (an owner or admin moderates, a member participates).
        target.role = defaultRole(c.affiliation, room.config) ?? target.role;
        await broadcastPresence(svc, room, target, extras);
      }
    }
  }
  if (affiliationsChanged) await svc.save(room);
  return new Element("query", NS_MUC_ADMIN);
}

/** §8.5 voice list, §8.7 moderator list, §9.2 ban list, §9.5 member list, §10.5/§10.8 owner and admin lists. */
function list(room: Room, actor: { affiliation: Affiliation; role: Role }, item: Element): Element {
  const q = new Element("query", NS_MUC_ADMIN);
  const role = item.attrs.role as Role | undefined;
  const affiliation = item.attrs.affiliation as Affiliation | undefined;
  if (role !== undefined) {
    if (!ROLES.includes(role) || role === "none") throw new StanzaError("bad-request");
    if (actor.role !== "moderator") throw new StanzaError("forbidden");
    for (const o of room.occupants.values()) {
      if (o.role !== role) continue;
      const attrs: Record<string, string> = { nick: o.nick, role: o.role, affiliation: room.affiliationOf(o.bare) };
      if (room.showsJidsTo(actor.role)) attrs.jid = o.jid;
      q.c("item", NS_MUC_ADMIN, attrs);
    }
    return q;
  }
  if (affiliation === undefined || !AFFILIATIONS.includes(affiliation) || affiliation === "none") throw new StanzaError("bad-request");
  if (actor.affiliation !== "owner" && actor.affiliation !== "admin") throw new StanzaError("forbidden");
  for (const [bare, a] of [...room.affiliations].sort(([x], [y]) => x.localeCompare(y))) {
    if (a === affiliation) q.c("item", NS_MUC_ADMIN, { affiliation: a, jid: bare });
  }
  return q;
}
