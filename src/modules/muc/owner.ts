// The muc#owner protocol (XEP-0045 §10): the configuration form (§10.2), instant rooms (§10.1.2), cancelling
// a new room (§10.1.3) and destroying a room (§10.9).
import { StanzaError } from "../../core/errors.js";
import { type Jid, tryParseJid } from "../../core/jid.js";
import { Element } from "../../core/xml/element.js";
import { NS_CLIENT, NS_DATA_FORMS, NS_MUC_OWNER, NS_MUC_USER } from "../../core/xml/ns.js";
import { fanOut } from "./messages.js";
import { removeOccupant } from "./occupants.js";
import type { Room } from "./room.js";
import { applyConfigForm, configForm, type RoomConfig } from "./room-config.js";
import type { MucService } from "./service.js";

export async function handleOwnerIq(svc: MucService, room: Room, iq: Element, from: Jid, query: Element): Promise<Element> {
  // §10: only owners configure or destroy.
  if (room.affiliationOf(from.bareString()) !== "owner") throw new StanzaError("forbidden", "only owners configure the room");
  const q = new Element("query", NS_MUC_OWNER);
  if (iq.attrs.type === "get") {
    q.append(configForm(room.config, svc.options));
    return q;
  }
  const destroy = query.getChild("destroy", NS_MUC_OWNER);
  if (destroy) {
    await destroyRoom(svc, room, destroy);
    return q;
  }
  const x = query.getChild("x", NS_DATA_FORMS);
  if (!x) throw new StanzaError("bad-request", "expected a data form or <destroy/>");
  if (x.attrs.type === "cancel") {
    // §10.1.3: cancelling the initial configuration destroys the new room.
    if (room.locked) await destroyRoom(svc, room, undefined);
    return q;
  }
  const before = room.config;
  let after: RoomConfig;
  try {
    after = applyConfigForm(x, before, svc.options);
  } catch (err) {
    if (err instanceof StanzaError) svc.log.info({ from: from.toString(), room: room.localpart, error: err.message }, "muc configuration refused");
    throw err;
  }
  const wasLocked = room.locked;
  room.config = after;
  room.locked = false;
  await svc.save(room);
  if (!wasLocked) await announceChanges(svc, room, before, after);
  // §9.4 / §10.2: a room that becomes members-only removes those who are not members (322).
  if (after.membersOnly && !before.membersOnly) {
    for (const occ of [...room.occupants.values()]) {
      if (room.affiliationOf(occ.bare) === "none") await removeOccupant(svc, room, occ, { statuses: [322] });
    }
  }
  if (!after.persistent) await svc.removeIfDeserted(room);
  return q;
}

/** §10.2.1: occupants learn of configuration changes through status codes in a message from the room. */
async function announceChanges(svc: MucService, room: Room, before: RoomConfig, after: RoomConfig): Promise<void> {
  const codes: number[] = [];
  if (before.logging !== after.logging) codes.push(after.logging ? 170 : 171);
  if (before.whois !== after.whois) codes.push(after.whois === "anyone" ? 172 : 173);
  const other = (Object.keys(before) as (keyof RoomConfig)[]).some((k) => k !== "logging" && k !== "whois" && before[k] !== after[k]);
  if (other) codes.push(104);
  if (codes.length === 0) return;
  const m = new Element("message", NS_CLIENT, { type: "groupchat", from: room.jid.toString() });
  const x = m.c("x", NS_MUC_USER);
  for (const c of codes) x.c("status", NS_MUC_USER, { code: String(c) });
  await fanOut(svc, room, m);
}

/** §10.9: everyone leaves with the <destroy/> (alternate venue, reason); the room and its archive are gone. */
export async function destroyRoom(svc: MucService, room: Room, destroy: Element | undefined): Promise<void> {
  const d = new Element("destroy", NS_MUC_USER);
  const venue = destroy?.attrs.jid === undefined ? undefined : tryParseJid(destroy.attrs.jid);
  if (destroy?.attrs.jid !== undefined && !venue) throw new StanzaError("jid-malformed", "bad alternate venue");
  if (venue) d.attrs.jid = venue.toString();
  const reason = destroy?.getChildText("reason", NS_MUC_OWNER);
  if (reason) d.c("reason", NS_MUC_USER).t(reason);
  const password = destroy?.getChildText("password", NS_MUC_OWNER);
  if (password) d.c("password", NS_MUC_USER).t(password);
  // Forget the room first so that removing occupants does not try to save it.
  room.config = { ...room.config, persistent: false };
  for (const occ of [...room.occupants.values()]) {
    await removeOccupant(svc, room, occ, { destroy: d.clone() });
  }
  await svc.remove(room);
}
