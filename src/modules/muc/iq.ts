// IQs to the service, to a room and to an occupant. The room answers its own IQs with the IQ dispatcher's
// conventions (RFC 6120 §8.2.3): one child, errors as StanzaError, service-unavailable for anything unknown.
import { StanzaError } from "../../core/errors.js";
import type { Jid } from "../../core/jid.js";
import type { Element } from "../../core/xml/element.js";
import { NS_DISCO_INFO, NS_DISCO_ITEMS, NS_MAM, NS_MUC_ADMIN, NS_MUC_OWNER, NS_PING } from "../../core/xml/ns.js";
import { answerMamQuery, mamQueryForm } from "../mam/query.js";
import { handleAdminIq } from "./admin-items.js";
import { decodeArchived } from "./history.js";
import { publicRooms, roomInfo, roomItems, serviceInfo, serviceItems } from "./disco.js";
import { takeMessageToken } from "./messages.js";
import { handleOwnerIq } from "./owner.js";
import type { Room } from "./room.js";
import type { MucService } from "./service.js";

function payloadOf(iq: Element): Element {
  const children = iq.elements();
  if (children.length !== 1 || iq.attrs.id === undefined)
    throw new StanzaError("bad-request", "an iq get/set needs an id and exactly one child element");
  return children[0] as Element;
}

export async function handleServiceIq(svc: MucService, iq: Element): Promise<void> {
  const type = iq.attrs.type;
  if (type !== "get" && type !== "set") return;
  const q = payloadOf(iq);
  if (type === "get" && q.name === "query" && q.ns === NS_DISCO_INFO) return svc.result(iq, serviceInfo(q.attrs.node));
  if (type === "get" && q.name === "query" && q.ns === NS_DISCO_ITEMS) {
    const others = svc.otherNodesRooms ? await svc.otherNodesRooms() : [];
    return svc.result(iq, serviceItems(svc, q, [...publicRooms(svc), ...others]));
  }
  if (type === "get" && q.name === "ping" && q.ns === NS_PING) return svc.result(iq);
  throw new StanzaError("service-unavailable");
}

export async function handleRoomIq(svc: MucService, iq: Element, from: Jid, to: Jid): Promise<void> {
  const type = iq.attrs.type;
  if (type !== "get" && type !== "set") return;
  const q = payloadOf(iq);
  const room = svc.rooms.get(to.local);
  // §7.2.11: a locked room does not exist yet for anyone but its owner.
  if (!room || (room.locked && room.affiliationOf(from.bareString()) !== "owner"))
    throw new StanzaError("item-not-found");
  if (type === "get" && q.name === "query" && q.ns === NS_DISCO_INFO)
    return svc.result(iq, roomInfo(room, q.attrs.node));
  if (type === "get" && q.name === "query" && q.ns === NS_DISCO_ITEMS)
    return svc.result(iq, roomItems(room, from, q.attrs.node));
  if (q.name === "query" && q.ns === NS_MUC_ADMIN) return svc.result(iq, await handleAdminIq(svc, room, iq, from, q));
  if (q.name === "query" && q.ns === NS_MUC_OWNER) {
    const result = await handleOwnerIq(svc, room, iq, from, q);
    return svc.result(iq, result);
  }
  if (type === "get" && q.name === "ping" && q.ns === NS_PING) return svc.result(iq);
  if (q.name === "query" && q.ns === NS_MAM) return roomMamQuery(svc, room, iq, from, q);
  throw new StanzaError("service-unavailable");
}

const MAM_PAGE = 50;
const MAM_MAX_PAGE = 250;

/** XEP-0313 on a room JID, answered from the room archive when the room's access rules allow the requester. */
async function roomMamQuery(svc: MucService, room: Room, iq: Element, from: Jid, q: Element): Promise<void> {
  if (!svc.mayQueryArchive(room.localpart, from))
    throw new StanzaError("forbidden", "you may not read this room's archive");
  if (iq.attrs.type === "get") return svc.result(iq, mamQueryForm());
  const results: Element[] = [];
  const fin = await answerMamQuery({
    store: svc.archive,
    archive: room.localpart,
    by: room.jid.toString(),
    query: q,
    to: from.toString(),
    send: (m) => results.push(m),
    defaultPage: MAM_PAGE,
    maxPage: MAM_MAX_PAGE,
    count: "when-cheap",
    render: (item) => decodeArchived(item)?.stanza,
  });
  for (const m of results) await svc.send(m);
  return svc.result(iq, fin);
}

/**
 * An IQ to room@service/nick. XEP-0410 §3.3: a ping to one's own occupant JID is answered by the service;
 * from a non-occupant it gets not-acceptable (§3.2). Other requests go to the occupant's real JID, from the
 * sender's occupant JID, and the answer comes back the same way (XEP-0045 §7.5 "IQ forwarding").
 */
export async function handleOccupantIq(svc: MucService, iq: Element, from: Jid, to: Jid): Promise<void> {
  const room = svc.rooms.get(to.local);
  const full = from.toString();
  const sender = room?.occupantBySession(full);
  const type = iq.attrs.type;
  if (type === "result" || type === "error") {
    // An answer from an occupant to a request the room relayed to it: back to the session that asked. An
    // answer nobody asked for is dropped (RFC 6120 §8.2.3: never answer a result or error), so the room
    // relays no unsolicited stanzas.
    if (!room || !sender) return;
    const key = pendingIqKey(sender.nick, to.resource, iq.attrs.id);
    const asker = room.pendingIqs.get(key);
    if (asker === undefined) return;
    room.pendingIqs.delete(key);
    if (!room.bySession.has(asker)) return; // the asker left meanwhile
    const out = iq.clone();
    out.attrs.from = `${room.jid.toString()}/${sender.nick}`;
    out.attrs.to = asker;
    return svc.send(out);
  }
  if (type !== "get" && type !== "set") return;
  if (!room || !sender) throw new StanzaError("not-acceptable", "you are not in this room");
  const q = payloadOf(iq);
  const target = room.occupants.get(to.resource);
  if (!target) throw new StanzaError("item-not-found", "no such occupant");
  if (target === sender && q.name === "ping" && q.ns === NS_PING) return svc.result(iq);
  // A relayed request is a stanza the room sends for the sender, like a private message (message_rate).
  takeMessageToken(svc, room, sender);
  rememberPendingIq(svc, room, pendingIqKey(target.nick, sender.nick, iq.attrs.id), full);
  const out = iq.clone();
  out.attrs.from = `${room.jid.toString()}/${sender.nick}`;
  out.attrs.to = target.jid;
  return svc.send(out);
}

function pendingIqKey(answeringNick: string, askingNick: string, id: string | undefined): string {
  return `${answeringNick}\0${askingNick}\0${id ?? ""}`;
}

/** max_pending_iqs: the oldest unanswered request is forgotten first (its answer, if any, is then dropped). */
function rememberPendingIq(svc: MucService, room: Room, key: string, asker: string): void {
  const max = svc.options.max_pending_iqs;
  if (max === 0) return;
  room.pendingIqs.delete(key);
  room.pendingIqs.set(key, asker);
  while (room.pendingIqs.size > max) room.pendingIqs.delete(room.pendingIqs.keys().next().value as string);
}
