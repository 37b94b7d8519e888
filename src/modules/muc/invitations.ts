// Mediated invitations (XEP-0045 §7.8.2) and their declines (§7.8.3). Direct invitations (XEP-0249) go
// from user to user and never pass through the room.
import { StanzaError } from "../../core/errors.js";
import { type Jid, tryParseJid } from "../../core/jid.js";
import { Element } from "../../core/xml/element.js";
import { NS_CLIENT, NS_MUC_USER } from "../../core/xml/ns.js";
import type { Room } from "./room.js";
import type { MucService } from "./service.js";

export async function handleInvitations(svc: MucService, room: Room, stanza: Element, from: Jid, x: Element): Promise<void> {
  const roomJid = room.jid.toString();
  for (const decline of x.getChildren("decline", NS_MUC_USER)) {
    // §7.8.3: the decline goes to the inviter, from the room, naming who declined.
    const to = tryParseJid(decline.attrs.to);
    if (!to) throw new StanzaError("jid-malformed");
    const out = new Element("message", NS_CLIENT, { from: roomJid, to: to.toString() });
    const ox = out.c("x", NS_MUC_USER);
    const d = ox.c("decline", NS_MUC_USER, { from: from.bareString() });
    const reason = decline.getChildText("reason", NS_MUC_USER);
    if (reason) d.c("reason", NS_MUC_USER).t(reason);
    await svc.send(out);
  }
  const invites = x.getChildren("invite", NS_MUC_USER);
  if (invites.length === 0) return;
  const inviter = room.occupantBySession(from.toString());
  if (!inviter) throw new StanzaError("not-acceptable", "only occupants invite others");
  const affiliation = room.affiliationOf(from.bareString());
  const privileged = affiliation === "owner" || affiliation === "admin";
  // §7.8.2: in a members-only room only admins and owners invite, unless the room lets occupants do it too.
  if (room.config.membersOnly && !privileged && !room.config.allowInvites)
    throw new StanzaError("forbidden", "you may not invite others to this room");
  const targets: Jid[] = [];
  for (const invite of invites) {
    const to = tryParseJid(invite.attrs.to);
    if (!to) throw new StanzaError("jid-malformed", "bad invitee address");
    targets.push(to);
  }
  let changed = false;
  for (const [i, to] of targets.entries()) {
    const invite = invites[i] as Element;
    // §7.8.2: inviting to a members-only room adds the invitee to the member list.
    if (room.config.membersOnly && room.affiliationOf(to.bareString()) === "none") {
      room.setAffiliation(to.bareString(), "member");
      changed = true;
    }
    const out = new Element("message", NS_CLIENT, { from: roomJid, to: to.toString() });
    const ox = out.c("x", NS_MUC_USER);
    const inv = ox.c("invite", NS_MUC_USER, { from: from.toString() });
    const reason = invite.getChildText("reason", NS_MUC_USER);
    if (reason) inv.c("reason", NS_MUC_USER).t(reason);
    if (room.config.password !== "") ox.c("password", NS_MUC_USER).t(room.config.password);
    out.c("body").t(`${from.bareString()} invites you to the room ${roomJid}${reason ? `: ${reason}` : ""}`);
    await svc.send(out);
  }
  if (changed) await svc.save(room);
}
