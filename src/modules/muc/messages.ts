// Messages in a room: groupchat to everyone (XEP-0045 §7.4) with XEP-0359 stanza-id and XEP-0421
// occupant-id, archived for history; subject changes (§8.1); private messages between occupants (§7.5);
// and what else arrives at the room's bare JID (invitations §7.8, voice requests §7.13).
import { StanzaError } from "../../core/errors.js";
import type { Jid } from "../../core/jid.js";
import { Element, type Node } from "../../core/xml/element.js";
import { sharedChildren } from "../../core/xml/frozen-element.js";
import { NS_CLIENT, NS_MUC_REQUEST, NS_MUC_USER, NS_OCCUPANT_ID, NS_SID } from "../../core/xml/ns.js";
import { findForm } from "./data-form.js";
import { encodeArchived } from "./history.js";
import { handleInvitations } from "./invitations.js";
import { removeSession } from "./occupants.js";
import { maySendPrivate } from "./roles.js";
import type { Room } from "./room.js";
import type { MucService } from "./service.js";
import type { Occupant } from "./types.js";
import { handleVoiceRequest } from "./voice-requests.js";

/** A message to room@service. */
/** Resolves once the room is done with the message; for a groupchat message, with its pending archive write. */
export async function handleRoomMessage(
  svc: MucService,
  stanza: Element,
  from: Jid,
  to: Jid,
): Promise<ArchiveWrite | undefined> {
  const room = svc.rooms.get(to.local);
  const full = from.toString();
  if (stanza.attrs.type === "error") return void (await dropOnError(svc, room, full));
  if (!room || (room.locked && room.occupantBySession(full) === undefined)) throw new StanzaError("item-not-found");
  const userX = stanza.getChild("x", NS_MUC_USER);
  if (userX && (userX.getChild("invite") || userX.getChild("decline"))) return void (await handleInvitations(svc, room, stanza, from, userX));
  const request = findForm(stanza, NS_MUC_REQUEST);
  if (request) return void (await handleVoiceRequest(svc, room, stanza, from, request));
  const occ = room.occupantBySession(full);
  // §7.4 / §7.2.x: only occupants speak in a room.
  if (!occ) throw new StanzaError("not-acceptable", "you are not in this room");
  if (stanza.attrs.type !== "groupchat") throw new StanzaError("bad-request", "messages to a room are of type groupchat");
  occ.jid = full;
  const subject = stanza.getChild("subject");
  if (subject && !stanza.getChild("body")) return void (await changeSubject(svc, room, occ, stanza, subject.text()));
  // §8.x: a visitor in a moderated room has no voice.
  if (occ.role === "visitor" || occ.role === "none") throw new StanzaError("forbidden", "you have no voice in this room");
  takeMessageToken(svc, room, occ);
  return broadcastGroupchat(svc, room, occ, stanza);
}

/** message_rate: one token of the sender's bucket per message it makes the room send (per sender, so one flooder starves nobody else). */
export function takeMessageToken(svc: MucService, room: Room, occ: Occupant): void {
  if (!room.limits.of(occ.bare).message.take())
    throw svc.limitReached("message_rate", occ.bare, "resource-constraint", "too many messages; slow down", room);
}

/** Strips what only the room may say (XEP-0359 §6 its own stanza-ids, XEP-0421 §4 occupant-ids), then stamps them. */
function reflected(room: Room, occ: Occupant, stanza: Element): Element {
  const roomJid = room.jid.toString();
  const m = new Element("message", NS_CLIENT, { ...stanza.attrs, from: `${roomJid}/${occ.nick}`, type: "groupchat" });
  delete m.attrs.to;
  for (const c of stanza.children) {
    if (typeof c === "string") continue;
    if (c.ns === NS_OCCUPANT_ID) continue;
    if (c.name === "stanza-id" && c.ns === NS_SID && c.attrs.by === roomJid) continue;
    m.append(c.clone());
  }
  m.c("occupant-id", NS_OCCUPANT_ID, { id: occ.occupantId });
  return m;
}

/**
 * Stamps, archives and fans out a groupchat message. The archive write is queued (in room order) before the
 * fan-out but not waited for by the room: the returned promise settles once it is committed, and the sender's
 * stream waits for it (so its XEP-0198 count never covers an uncommitted message) while the room goes on.
 */
async function broadcastGroupchat(svc: MucService, room: Room, occ: Occupant, stanza: Element): Promise<ArchiveWrite> {
  const m = reflected(room, occ, stanza);
  const id = svc.newStanzaId();
  m.c("stanza-id", NS_SID, { id, by: room.jid.toString() });
  m.children = sharedChildren(m);
  const committed = stanza.getChild("body") ? archive(svc, room, m, id) : undefined;
  await fanOut(svc, room, m);
  return { committed };
}

/** A pending archive commit, boxed: an async function cannot resolve with a bare promise without waiting for it. */
export interface ArchiveWrite {
  committed: Promise<void> | undefined;
}

/**
 * Sends a message to every occupant session (`to` set per copy). Each copy is its own envelope (attributes and
 * child list: delivery hooks may add or remove children, XEP-0198 keeps it for resending, CSI may hold it) around
 * the one frozen payload, serialised once for the whole room instead of once per occupant.
 */
export async function fanOut(svc: MucService, room: Room, m: Element): Promise<void> {
  const payload = sharedChildren(m);
  // Routed all at once and waited for together: each recipient gets one copy, and the room's next stanza
  // waits for all of them, so every recipient still gets the room's stanzas in order. A local delivery that
  // no hook holds back is written during the route call itself.
  const routed: Promise<void>[] = [];
  for (const o of [...room.occupants.values()]) {
    for (const s of o.sessions.keys()) routed.push(svc.send(new Element(m.name, m.ns, { ...m.attrs, to: s }, [...payload])));
  }
  await Promise.all(routed);
}

/**
 * Appends to the room's archive and keeps it within bounds: max_history while the room is logged, only what
 * history on join needs when it is not. Appends are queued in call order; the promise settles on commit.
 */
function archive(svc: MucService, room: Room, m: Element, id: string): Promise<void> | undefined {
  const keep = room.config.logging ? svc.options.max_history : room.config.historyLength;
  if (keep === 0) return undefined;
  // `with` is the room: MAM matches a full occupant JID on the stored stanza itself.
  const appended = svc.archive.append(room.localpart, { id, with: room.jid.toString(), value: encodeArchived(m) });
  if (room.archiveCount !== undefined) room.archiveCount++;
  return appended.then(() => trimArchive(svc, room, keep));
}

async function trimArchive(svc: MucService, room: Room, keep: number): Promise<void> {
  if (room.trimming) return;
  room.trimming = true;
  try {
    room.archiveCount ??= await svc.archive.count(room.localpart);
    const slack = Math.max(10, Math.floor(keep / 10));
    if (room.archiveCount > keep + slack) {
      const oldest = await svc.archive.find(room.localpart, { limit: room.archiveCount - keep });
      await svc.archive.delete(room.localpart, { ids: oldest.map((i) => i.id) });
      room.archiveCount -= oldest.length;
    }
  } finally {
    room.trimming = false;
  }
}

async function changeSubject(svc: MucService, room: Room, occ: Occupant, stanza: Element, text: string): Promise<void> {
  const allowed = occ.role === "moderator" || (room.config.changeSubject && occ.role === "participant");
  if (!allowed) throw new StanzaError("forbidden", "you may not change the subject");
  // The subject is stored with the room and sent to everyone on every join: bounded in size and in rate.
  if ([...text].length > svc.options.max_subject_length)
    throw svc.limitReached("max_subject_length", occ.bare, "not-acceptable", `subjects are at most ${svc.options.max_subject_length} characters`, room);
  takeMessageToken(svc, room, occ);
  room.subject = { text, nick: occ.nick, when: Date.now() };
  await svc.save(room);
  await fanOut(svc, room, reflected(room, occ, stanza));
}

/** §7.5: a message to room@service/nick goes to that occupant's real JID(s), from the sender's occupant JID. */
export async function handlePrivateMessage(svc: MucService, stanza: Element, from: Jid, to: Jid): Promise<void> {
  const room = svc.rooms.get(to.local);
  const full = from.toString();
  if (stanza.attrs.type === "error") return dropOnError(svc, room, full);
  if (!room) throw new StanzaError("item-not-found");
  const sender = room.occupantBySession(full);
  if (!sender) throw new StanzaError("not-acceptable", "you are not in this room");
  if (stanza.attrs.type === "groupchat") throw new StanzaError("bad-request", "groupchat goes to the room");
  const target = room.occupants.get(to.resource);
  if (!target) throw new StanzaError("item-not-found", "no such occupant");
  if (!maySendPrivate(room.config.allowPm, sender.role)) throw new StanzaError("forbidden", "private messages are not allowed here");
  takeMessageToken(svc, room, sender);
  sender.jid = full;
  const m = new Element("message", NS_CLIENT, { ...stanza.attrs, from: `${room.jid.toString()}/${sender.nick}` });
  for (const c of stanza.children) if (typeof c !== "string" && c.ns !== NS_OCCUPANT_ID && c.ns !== NS_MUC_USER) m.append(c.clone());
  // §7.5: marks it as a private message from an occupant.
  m.c("x", NS_MUC_USER);
  m.c("occupant-id", NS_OCCUPANT_ID, { id: sender.occupantId });
  for (const s of target.sessions.keys()) {
    const copy = m.clone();
    copy.attrs.to = s;
    await svc.send(copy);
  }
}

/** An error from an occupant's real JID means its client is gone: it leaves (status 333). */
async function dropOnError(svc: MucService, room: Room | undefined, full: string): Promise<void> {
  const occ = room?.occupantBySession(full);
  if (room && occ) await removeSession(svc, room, occ, full, { statuses: [333] });
}
