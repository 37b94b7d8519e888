// Entering, changing nick, updating presence and leaving (XEP-0045 §7.1–§7.7, §7.14, §10.1 creation), and
// removing occupants (kick, ban, affiliation change, destruction).
import { StanzaError } from "../../core/errors.js";
import type { Jid } from "../../core/jid.js";
import { Element } from "../../core/xml/element.js";
import { NS_MUC } from "../../core/xml/ns.js";
import { sendHistory, sendSubject } from "./join-extras.js";
import { type PresenceExtras, occupantPresence } from "./occupant-presence.js";
import { Room } from "./room.js";
import { defaultConfig } from "./room-config.js";
import type { MucService } from "./service.js";
import { exceedsSize } from "./stanza-size.js";
import type { Occupant } from "./types.js";

/** Every presence addressed to room@service/nick. */
export async function handleOccupantPresence(svc: MucService, stanza: Element, from: Jid, to: Jid): Promise<void> {
  const room = svc.rooms.get(to.local);
  const full = from.toString();
  const type = stanza.attrs.type;
  const occ = room?.occupantBySession(full);
  if (type === "error") {
    // The occupant's client is gone (its server bounced our presence): drop it (§7.14, status 333).
    if (room && occ) await removeSession(svc, room, occ, full, { statuses: [333] });
    return;
  }
  if (type === "unavailable") {
    if (room && occ) await leave(svc, room, occ, full, stanza);
    return;
  }
  if (type !== undefined) return; // probes and subscriptions mean nothing to a room
  if (!room || !occ) return join(svc, room, stanza, from, to);
  if (occ.nick !== to.resource) return changeNick(svc, room, occ, full, to.resource, stanza);
  // §7.7: a presence update (show, status) is broadcast to everyone.
  occ.sessions.set(full, stanza);
  occ.jid = full;
  await broadcastPresenceUpdate(svc, room, occ);
}

/**
 * presence_rate: a presence update goes out at once while the occupant's bucket allows it; beyond that it
 * is held back, and later updates replace it, until the bucket has a token again: then the latest presence
 * goes out once. A flood of updates costs the room one broadcast per token, and the final state still wins.
 */
async function broadcastPresenceUpdate(svc: MucService, room: Room, occ: Occupant): Promise<void> {
  if (occ.pendingPresence) return; // the pending broadcast will carry this presence
  const bucket = room.limits.of(occ.bare).presence;
  if (bucket.take()) return broadcastPresence(svc, room, occ, {});
  svc.log.debug({ limit: "presence_rate", from: occ.bare, room: room.localpart }, "muc presence update held back");
  const timer = setTimeout(() => {
    void svc
      .serial(room.localpart, async () => {
        if (occ.pendingPresence !== timer) return;
        occ.pendingPresence = undefined;
        // Gone, or renamed (a nick change broadcasts the latest presence itself): nothing held back is left.
        if (room.occupants.get(occ.nick) !== occ) return;
        bucket.take();
        await broadcastPresence(svc, room, occ, {});
      })
      .catch((err: unknown) => svc.log.error({ err, room: room.localpart }, "muc held-back presence failed"));
  }, bucket.msUntilToken());
  timer.unref();
  occ.pendingPresence = timer;
}

/** Drops a presence update held back by presence_rate (the occupant left, or a broadcast supersedes it). */
function dropPendingPresence(occ: Occupant): void {
  if (occ.pendingPresence) clearTimeout(occ.pendingPresence);
  occ.pendingPresence = undefined;
}

/** §10.1.1: the service's policy on who creates rooms and how many (not-allowed, or resource-constraint when full). */
function checkCreation(svc: MucService, bare: string, isAdmin: boolean): void {
  if (isAdmin) return;
  if (svc.options.room_creation === "admins") throw svc.limitReached("room_creation", bare, "not-allowed", "only administrators create rooms");
  const remote = svc.isRemote(bare);
  if (remote && !svc.options.remote_room_creation)
    throw svc.limitReached("remote_room_creation", bare, "not-allowed", "users of other servers may not create rooms here");
  if (svc.rooms.size >= svc.options.max_rooms)
    throw svc.limitReached("max_rooms", bare, "resource-constraint", "this service holds as many rooms as it may");
  if (svc.roomsOwnedBy(bare) >= svc.options.max_owned_rooms)
    throw svc.limitReached("max_owned_rooms", bare, "not-allowed", `you may own at most ${svc.options.max_owned_rooms} rooms`);
  if (remote && svc.roomsCreatedRemotely() >= svc.options.max_remote_rooms)
    throw svc.limitReached("max_remote_rooms", bare, "resource-constraint", "no more rooms for users of other servers");
}

/** max_nick_length, in characters (a nick is a resourcepart: up to 1023 bytes otherwise). */
function checkNickLength(svc: MucService, bare: string, nick: string, room: Room | undefined): void {
  if ([...nick].length > svc.options.max_nick_length)
    throw svc.limitReached("max_nick_length", bare, "not-acceptable", `nicknames are at most ${svc.options.max_nick_length} characters`, room);
}

/** §7.2: entering a room, creating it first when it does not exist (§10.1.1). */
async function join(svc: MucService, existing: Room | undefined, stanza: Element, from: Jid, to: Jid): Promise<void> {
  const bare = from.bareString();
  const full = from.toString();
  const nick = to.resource;
  const mucX = stanza.getChild("x", NS_MUC);
  const isAdmin = svc.admins.has(bare);
  checkNickLength(svc, bare, nick, existing);
  // max_rooms_per_user: rooms a user is in at once (another resource or nick in the same room is no new room).
  if (!isAdmin && !existing?.hasOccupant(bare) && svc.roomsOccupiedBy(bare) >= svc.options.max_rooms_per_user)
    throw svc.limitReached("max_rooms_per_user", bare, "resource-constraint", `at most ${svc.options.max_rooms_per_user} rooms at once`, existing);
  let room = existing;
  let created = false;
  if (!room) {
    checkCreation(svc, bare, isAdmin);
    const jid = svc.roomJid(to.local);
    if (!jid) throw new StanzaError("jid-malformed");
    room = new Room(jid, defaultConfig(svc.options), svc.admins, svc.options);
    room.createdBy = bare;
    room.setAffiliation(bare, "owner");
    // §10.1.1: a MUC client creates a locked room it must configure; a GC 1.0 client (no <x/>) gets an instant room.
    room.locked = mucX !== undefined;
    svc.addRoom(room);
    created = true;
  } else {
    const affiliation = room.affiliationOf(bare);
    // §7.2.11 (locked room): only its owner may enter until it is configured.
    if (room.locked && affiliation !== "owner") throw new StanzaError("item-not-found", "the room is being created");
    // §7.2.8 banned users.
    if (affiliation === "outcast") throw new StanzaError("forbidden", "you are banned from this room");
    // §7.2.9 a nick held by someone else.
    const holder = room.occupants.get(nick);
    if (holder && holder.bare !== bare) throw new StanzaError("conflict", "that nickname is in use");
    // §7.2.7 members-only rooms.
    if (room.config.membersOnly && affiliation === "none") throw new StanzaError("registration-required", "this room is for members only");
    // §7.2.6 password-protected rooms.
    if (room.config.password !== "" && mucX?.getChildText("password", NS_MUC) !== room.config.password && !isAdmin)
      throw new StanzaError("not-authorized", "a password is required");
    // §7.2.10: full rooms still let admins and owners in.
    if (!holder && room.occupants.size >= Math.min(room.config.maxUsers, svc.options.max_occupants) && affiliation !== "owner" && affiliation !== "admin")
      throw new StanzaError("service-unavailable", "the room is full", { type: "wait" });
  }
  const role = room.defaultRoleOf(bare);
  if (role === null) throw new StanzaError("forbidden");
  let occ = room.occupants.get(nick);
  const newOccupant = occ === undefined;
  if (occ && !occ.sessions.has(full) && occ.sessions.size >= svc.options.max_sessions_per_occupant)
    throw svc.limitReached("max_sessions_per_occupant", bare, "resource-constraint", `at most ${svc.options.max_sessions_per_occupant} sessions per nickname`, room);
  // presence_rate: an entry is a broadcast to every occupant; joining and leaving in a loop is a flood too.
  if (newOccupant && !created && !room.limits.of(bare).presence.take())
    throw svc.limitReached("presence_rate", bare, "resource-constraint", "you are joining too often; wait a moment", room);
  if (!occ) {
    occ = { nick, bare, sessions: new Map(), role, occupantId: svc.occupantId(room, bare), jid: full };
    room.addOccupant(occ);
  }
  occ.sessions.set(full, stanza);
  occ.jid = full;
  room.bySession.set(full, nick);

  // §7.2.3: the presence of every other occupant first...
  for (const other of room.occupants.values()) {
    if (other !== occ) await svc.send(occupantPresence(room, other, full, { role: occ.role, self: false }));
  }
  // ...then the new occupant's presence to everyone, its own (with 110 and the room's status codes) last.
  const selfStatuses: number[] = [];
  if (room.config.whois === "anyone") selfStatuses.push(100); // §7.2.4 non-anonymous room
  if (room.config.logging) selfStatuses.push(170); // §7.2.12 room is logged
  if (created) selfStatuses.push(201); // §10.1.1 new room
  if (newOccupant) await broadcastPresence(svc, room, occ, { selfStatuses }, full);
  else await svc.send(occupantPresence(room, occ, full, { role: occ.role, self: true }, { selfStatuses }));
  if (created) return; // a new room has no history and no subject yet
  // §7.2.15 history, then §7.2.16 the subject (always, empty when none).
  await sendHistory(svc, room, full, mucX);
  await sendSubject(svc, room, full);
}

/**
 * Sends an occupant's presence to every occupant: others first, the occupant's own sessions last (they get
 * 110 and `selfStatuses`). `onlySelf` limits the self copies to one session (a second session joining).
 */
export async function broadcastPresence(svc: MucService, room: Room, occ: Occupant, extras: PresenceExtras, onlySelf?: string): Promise<void> {
  for (const other of [...room.occupants.values()]) {
    if (other === occ) continue;
    for (const s of other.sessions.keys()) await svc.send(occupantPresence(room, occ, s, { role: other.role, self: false }, extras));
  }
  for (const s of occ.sessions.keys()) {
    if (onlySelf === undefined || s === onlySelf) await svc.send(occupantPresence(room, occ, s, { role: occ.role, self: true }, extras));
  }
}

/** §7.6: a nick change is an unavailable presence with 303 and the new nick, then available presence under it. */
async function changeNick(svc: MucService, room: Room, occ: Occupant, full: string, newNick: string, stanza: Element): Promise<void> {
  const holder = room.occupants.get(newNick);
  if (holder) throw new StanzaError("conflict", "that nickname is in use");
  checkNickLength(svc, occ.bare, newNick, room);
  if (!room.limits.of(occ.bare).presence.take())
    throw svc.limitReached("presence_rate", occ.bare, "resource-constraint", "you are changing your nickname too often; wait a moment", room);
  // The available presence under the new nick carries the latest state: nothing held back is left to send.
  dropPendingPresence(occ);
  await broadcastPresence(svc, room, occ, { unavailable: true, statuses: [303], newNick, role: occ.role });
  room.deleteOccupant(occ);
  occ.nick = newNick;
  room.addOccupant(occ);
  for (const s of occ.sessions.keys()) room.bySession.set(s, newNick);
  occ.sessions.set(full, stanza);
  occ.jid = full;
  await broadcastPresence(svc, room, occ, {});
}

/** §7.14: leaving. The last session of an occupant leaving makes it leave the room. */
async function leave(svc: MucService, room: Room, occ: Occupant, full: string, stanza: Element): Promise<void> {
  // Leaving always works; an oversized goodbye leaves without its status text (max_stanza_size).
  const goodbye = exceedsSize(stanza, svc.options.max_stanza_size) ? new Element(stanza.name, stanza.ns, { ...stanza.attrs }) : stanza;
  occ.sessions.set(full, goodbye);
  occ.jid = full;
  await removeSession(svc, room, occ, full, {});
}

/** Removes one session of an occupant; when it was the last, the occupant leaves and everyone is told. */
export async function removeSession(svc: MucService, room: Room, occ: Occupant, full: string, extras: PresenceExtras): Promise<void> {
  if (occ.sessions.size > 1) {
    await svc.send(occupantPresence(room, occ, full, { role: occ.role, self: true }, { ...extras, unavailable: true }));
    occ.sessions.delete(full);
    room.bySession.delete(full);
    occ.jid = [...occ.sessions.keys()].at(-1) ?? occ.jid;
    return;
  }
  await removeOccupant(svc, room, occ, extras);
}

/** Takes an occupant out of the room (leaving, kicked, banned, …): unavailable presence to all, its own last. */
export async function removeOccupant(svc: MucService, room: Room, occ: Occupant, extras: PresenceExtras): Promise<void> {
  dropPendingPresence(occ);
  await broadcastPresence(svc, room, occ, { ...extras, unavailable: true });
  room.deleteOccupant(occ);
  for (const s of occ.sessions.keys()) room.bySession.delete(s);
  await svc.removeIfDeserted(room);
}

/** A session that ended (or a server going down): out of every room it was in. */
export async function removeSessionEverywhere(svc: MucService, full: string, extras: PresenceExtras): Promise<void> {
  for (const room of [...svc.rooms.values()]) {
    await svc.serial(room.localpart, async () => {
      const occ = room.occupantBySession(full);
      if (occ) await removeSession(svc, room, occ, full, extras);
    });
  }
}
