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

/** §6.3: public rooms that anyone may see (hidden and locked rooms are left out). */
export function serviceItems(svc: MucService, node: string | undefined): Element {
  if (node !== undefined) throw new StanzaError("item-not-found");
  const items: Element[] = [];
  for (const room of [...svc.rooms.values()].sort((a, b) => a.localpart.localeCompare(b.localpart))) {
    if (!room.config.public || room.locked) continue;
    items.push(new Element("item", NS_DISCO_ITEMS, { jid: room.jid.toString(), name: room.config.name || room.localpart }));
  }
  return buildItems(undefined, items);
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
    for (const nick of [...room.occupants.keys()].sort()) items.push(new Element("item", NS_DISCO_ITEMS, { jid: `${room.jid.toString()}/${nick}` }));
  }
  return buildItems(undefined, items);
}
