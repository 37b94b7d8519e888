// Mediated invitations (XEP-0045 §7.8.2) and their declines (§7.8.3). Direct invitations (XEP-0249) go
// from user to user and never pass through the room.
//
// Each is a message the room sends to an address the sender chooses, so neither may make the room a relay:
// invitations come from occupants allowed to invite, within invite_rate (per sender) and room_invite_rate
// (per room); a decline is accepted only from someone the room invited, and goes only to that inviter.
import { StanzaError } from "../../core/errors.js";
import { type Jid, tryParseJid } from "../../core/jid.js";
import { Element } from "../../core/xml/element.js";
import { NS_CLIENT, NS_MUC_USER } from "../../core/xml/ns.js";
import type { Room } from "./room.js";
import type { MucService } from "./service.js";

export async function handleInvitations(svc: MucService, room: Room, stanza: Element, from: Jid, x: Element): Promise<void> {
  const declines = x.getChildren("decline", NS_MUC_USER);
  const invites = x.getChildren("invite", NS_MUC_USER);
  if (declines.length > 0) await decline(svc, room, from, declines[0] as Element);
  if (invites.length > 0) await invite(svc, room, from, invites);
}

/** §7.8.3: the decline goes to the inviter, from the room, naming who declined. */
async function decline(svc: MucService, room: Room, from: Jid, decline: Element): Promise<void> {
  const bare = from.bareString();
  const inviter = room.pendingInvites.get(bare);
  if (inviter === undefined) throw svc.limitReached("pending_invites", bare, "not-acceptable", "you have no invitation to this room to decline", room);
  room.pendingInvites.delete(bare);
  const out = new Element("message", NS_CLIENT, { from: room.jid.toString(), to: inviter });
  const d = out.c("x", NS_MUC_USER).c("decline", NS_MUC_USER, { from: bare });
  const reason = decline.getChildText("reason", NS_MUC_USER);
  if (reason) d.c("reason", NS_MUC_USER).t(reason);
  await svc.send(out);
}

async function invite(svc: MucService, room: Room, from: Jid, invites: Element[]): Promise<void> {
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
  const newMembers = room.config.membersOnly ? new Set(targets.map((t) => t.bareString()).filter((b) => room.affiliationOf(b) === "none")) : new Set();
  if (newMembers.size > 0 && room.affiliations.size + newMembers.size > svc.options.max_affiliations)
    throw svc.limitReached("max_affiliations", inviter.bare, "resource-constraint", "the room's member list is full", room);
  const sender = room.limits.of(inviter.bare).invite;
  let changed = false;
  try {
    for (const [i, to] of targets.entries()) {
      // Each invitation is a message to a stranger: per sender, then per room (in that order, so that one
      // sender at its limit does not use up the room's share).
      if (!sender.take()) throw svc.limitReached("invite_rate", inviter.bare, "resource-constraint", "too many invitations; wait a moment", room);
      if (!room.invites.take())
        throw svc.limitReached("room_invite_rate", inviter.bare, "resource-constraint", "this room sent too many invitations; wait a moment", room);
      // §7.8.2: inviting to a members-only room adds the invitee to the member list.
      if (room.config.membersOnly && room.affiliationOf(to.bareString()) === "none") {
        room.setAffiliation(to.bareString(), "member");
        changed = true;
      }
      rememberInvite(svc, room, to.bareString(), from.toString());
      await svc.send(invitation(room, from, to, invites[i] as Element));
    }
  } finally {
    // Invitations sent before a limit stopped the rest keep their members.
    if (changed) await svc.save(room);
  }
}

/** §7.8.2 Example 57: the invitation as the room relays it, with the room's password. */
function invitation(room: Room, from: Jid, to: Jid, invite: Element): Element {
  const roomJid = room.jid.toString();
  const out = new Element("message", NS_CLIENT, { from: roomJid, to: to.toString() });
  const ox = out.c("x", NS_MUC_USER);
  const inv = ox.c("invite", NS_MUC_USER, { from: from.toString() });
  const reason = invite.getChildText("reason", NS_MUC_USER);
  if (reason) inv.c("reason", NS_MUC_USER).t(reason);
  if (room.config.password !== "") ox.c("password", NS_MUC_USER).t(room.config.password);
  out.c("body").t(`${from.bareString()} invites you to the room ${roomJid}${reason ? `: ${reason}` : ""}`);
  return out;
}

/** max_pending_invites: the newest invitation per invitee; the oldest are forgotten first. */
function rememberInvite(svc: MucService, room: Room, invitee: string, inviter: string): void {
  const max = svc.options.max_pending_invites;
  if (max === 0) return;
  room.pendingInvites.delete(invitee);
  room.pendingInvites.set(invitee, inviter);
  while (room.pendingInvites.size > max) {
    const oldest = room.pendingInvites.keys().next().value as string;
    room.pendingInvites.delete(oldest);
  }
}
