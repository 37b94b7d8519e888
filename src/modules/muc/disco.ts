// Service discovery (XEP-0045 §6): the service's identity and its public rooms (§6.1–§6.3), each room's
// identity, features reflecting its configuration and the muc#roominfo form (§6.4), and its items (§6.5).
import { StanzaError } from "../../core/errors.js";
import type { Jid } from "../../core/jid.js";
import { Element } from "../../core/xml/element.js";
import {
  NS_DISCO_INFO,
  NS_DISCO_ITEMS,
  NS_MAM,
  NS_MUC,
  NS_MUC_REQUEST,
  NS_MUC_SELF_PING,
  NS_MUC_STABLE_ID,
  NS_OCCUPANT_ID,
  NS_PING,
  NS_SID,
} from "../../core/xml/ns.js";
import { buildRsm, parseRsm } from "../../core/xml/rsm.js";
import { buildInfo, buildItems } from "../disco/codec.js";
import type { Room } from "./room.js";
import { configFeatures, roomInfoForm } from "./room-config.js";
import type { MucService } from "./service.js";

export function serviceInfo(node: string | undefined): Element {
  if (node !== undefined) throw new StanzaError("item-not-found");
  return buildInfo(undefined, [
    {
      identities: [{ category: "conference", type: "text", name: "Chatrooms" }],
      features: [NS_DISCO_INFO, NS_DISCO_ITEMS, NS_MUC, NS_PING, NS_OCCUPANT_ID, NS_MUC_STABLE_ID, NS_MUC_SELF_PING],
    },
  ]);
}

/** A room as disco#items on the service lists it (§6.3), from this node or another cluster node. */
export interface ListedRoom {
  jid: string;
  name: string;
}

const localpartOf = (room: ListedRoom) => room.jid.slice(0, room.jid.indexOf("@"));

/** §6.3: this node's rooms that anyone may see (hidden and locked rooms are left out). */
export function publicRooms(svc: MucService): ListedRoom[] {
  return [...svc.rooms.values()]
    .filter((r) => r.config.public && !r.locked)
    .map((r) => ({ jid: r.jid.toString(), name: r.config.name || r.localpart }));
}

/**
 * §6.3: public rooms that anyone may see (`publicRooms` of every node), at most `max_disco_items`
 * per answer: a request of a few bytes from a stranger must not return every room of a large service. Larger
 * lists are paged with XEP-0059 (<max/>, <after/>, <before/>, <index/>; ids are room JIDs), as §6.3 advises.
 */
export function serviceItems(svc: MucService, query: Element, listed: ListedRoom[]): Element {
  if (query.attrs.node !== undefined) throw new StanzaError("item-not-found");
  // A room moving between nodes may be answered by both for a moment: once.
  const rooms = [...new Map(listed.map((r) => [r.jid, r])).values()].sort((a, b) =>
    localpartOf(a).localeCompare(localpartOf(b)),
  );
  const rsm = parseRsm(query);
  const cap = svc.options.max_disco_items;
  const max = Math.min(rsm?.max ?? cap, cap);
  const position = (jid: string) => rooms.findIndex((r) => r.jid === jid);
  let start = 0;
  if (rsm?.after !== undefined) {
    const at = position(rsm.after);
    if (at === -1) throw new StanzaError("item-not-found", "no such room to page after"); // XEP-0059 §2.2
    start = at + 1;
  } else if (rsm?.before !== undefined) {
    const end = rsm.before === "" ? rooms.length : position(rsm.before);
    if (end === -1) throw new StanzaError("item-not-found", "no such room to page before");
    start = Math.max(0, end - max);
  } else if (rsm?.index !== undefined) {
    start = rsm.index;
  }
  const page = rooms.slice(start, start + max);
  const items = page.map((room) => new Element("item", NS_DISCO_ITEMS, { jid: room.jid, name: room.name }));
  const q = buildItems(undefined, items);
  if (rsm !== undefined || rooms.length > max) {
    const first = page[0];
    const last = page.at(-1);
    q.append(
      buildRsm({
        ...(first ? { first: { id: first.jid, index: start } } : {}),
        ...(last ? { last: last.jid } : {}),
        count: rooms.length,
      }),
    );
  }
  return q;
}

export function roomInfo(room: Room, node: string | undefined): Element {
  if (node !== undefined) throw new StanzaError("item-not-found");
  return buildInfo(undefined, [
    {
      identities: [{ category: "conference", type: "text", name: room.config.name || room.localpart }],
      features: [
        NS_MUC,
        NS_MUC_STABLE_ID,
        NS_MUC_SELF_PING,
        NS_OCCUPANT_ID,
        NS_SID,
        NS_MUC_REQUEST,
        // XEP-0313 §3.3.2 / §7: a logged room answers MAM queries.
        ...(room.config.logging ? [NS_MAM] : []),
        ...configFeatures(room.config),
      ],
      forms: [roomInfoForm(room.config, room.occupants.size, room.subject?.text ?? "")],
    },
  ]);
}

/** §6.5: occupants are listed to occupants only (others get an empty list, as the XEP allows for privacy). */
export function roomItems(room: Room, from: Jid, node: string | undefined): Element {
  if (node !== undefined) throw new StanzaError("item-not-found");
  const items: Element[] = [];
  if (room.occupantBySession(from.toString())) {
    for (const nick of [...room.occupants.keys()].sort())
      items.push(new Element("item", NS_DISCO_ITEMS, { jid: `${room.jid.toString()}/${nick}` }));
  }
  return buildItems(undefined, items);
}
