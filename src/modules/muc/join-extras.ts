// What a new occupant gets after the presences: the discussion history (XEP-0045 §7.2.15) and the subject (§7.2.16).
import { Element } from "../../core/xml/element.js";
import { NS_CLIENT } from "../../core/xml/ns.js";
import {
  type HistoryEntry,
  decodeArchived,
  historyFetchLimit,
  historyMessage,
  parseHistoryRequest,
  selectHistory,
} from "./history.js";
import type { Room } from "./room.js";
import { maxHistoryFetch } from "./room-config.js";
import type { MucService } from "./service.js";

export async function sendHistory(svc: MucService, room: Room, to: string, mucX: Element | undefined): Promise<void> {
  const req = parseHistoryRequest(mucX);
  // max_history_fetch also bounds rooms stored with a longer history before the limit was lowered.
  const limit = Math.min(historyFetchLimit(room.config.historyLength, req), maxHistoryFetch(svc.options));
  if (limit === 0) return;
  const now = Date.now();
  let start: number | undefined;
  if (req.seconds !== undefined) start = now - req.seconds * 1000;
  if (req.since !== undefined) start = Math.max(start ?? 0, req.since);
  const items = await svc.archive.find(room.localpart, { limit, reverse: true, ...(start === undefined ? {} : { start }) });
  const entries = items.map(decodeArchived).filter((e): e is HistoryEntry => e !== undefined);
  const roomJid = room.jid.toString();
  for (const entry of selectHistory(entries, req, now)) await svc.send(historyMessage(entry, roomJid, to));
}

/** §7.2.16: the subject as a groupchat message with <subject/> and no body, from whoever set it. */
export function subjectMessage(room: Room, to: string): Element {
  const from = room.subject?.nick ? `${room.jid.toString()}/${room.subject.nick}` : room.jid.toString();
  const m = new Element("message", NS_CLIENT, { type: "groupchat", from, to });
  m.c("subject").t(room.subject?.text ?? "");
  return m;
}

export async function sendSubject(svc: MucService, room: Room, to: string): Promise<void> {
  await svc.send(subjectMessage(room, to));
}

