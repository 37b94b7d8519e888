// Voice requests in moderated rooms (XEP-0045 §7.13 and §8.6): a visitor asks, moderators get the
// muc#request form, and a moderator's approval gives the visitor the participant role.
import { StanzaError } from "../../core/errors.js";
import type { Jid } from "../../core/jid.js";
import { Element } from "../../core/xml/element.js";
import { NS_CLIENT, NS_MUC_REQUEST } from "../../core/xml/ns.js";
import { buildForm, parseBoolean, readForm } from "./data-form.js";
import { broadcastPresence } from "./occupants.js";
import { checkRoleChange } from "./roles.js";
import type { Room } from "./room.js";
import type { MucService } from "./service.js";

export async function handleVoiceRequest(svc: MucService, room: Room, _stanza: Element, from: Jid, form: Element): Promise<void> {
  const occ = room.occupantBySession(from.toString());
  if (!occ) throw new StanzaError("not-acceptable", "you are not in this room");
  const values = readForm(form);
  if (form.attrs.type === "submit" && values.has("muc#request_allow")) {
    // §8.6: a moderator answers a request.
    if (parseBoolean(values.get("muc#request_allow")?.[0]) !== true) return;
    const nick = values.get("muc#roomnick")?.[0];
    const target = nick === undefined ? undefined : room.occupants.get(nick);
    if (!target) throw new StanzaError("item-not-found", "no such occupant");
    const actor = { affiliation: room.affiliationOf(occ.bare), role: occ.role };
    const error = checkRoleChange(actor, { affiliation: room.affiliationOf(target.bare), role: target.role }, "participant");
    if (error) throw new StanzaError(error);
    if (target.role !== "visitor") return;
    target.role = "participant";
    await broadcastPresence(svc, room, target, {});
    return;
  }
  // §7.13: only a visitor has something to ask for.
  if (values.get("muc#role")?.[0] !== "participant" || occ.role !== "visitor") return;
  // voice_request_interval: each request is a form to every moderator.
  const limits = room.limits.of(occ.bare);
  const now = Date.now();
  if (limits.lastVoiceRequest !== 0 && now - limits.lastVoiceRequest < svc.options.voice_request_interval * 1000)
    throw svc.limitReached("voice_request_interval", occ.bare, "resource-constraint", "you asked for voice a moment ago; wait", room);
  limits.lastVoiceRequest = now;
  const roomJid = room.jid.toString();
  for (const mod of room.occupants.values()) {
    if (mod.role !== "moderator") continue;
    const x = buildForm(
      "form",
      NS_MUC_REQUEST,
      [
        { var: "muc#role", type: "list-single", label: "Requested role", values: ["participant"], options: ["participant"] },
        { var: "muc#jid", type: "jid-single", label: "User ID", values: [occ.jid] },
        { var: "muc#roomnick", type: "text-single", label: "Room Nickname", values: [occ.nick] },
        { var: "muc#request_allow", type: "boolean", label: "Grant voice to this person?", values: ["0"] },
      ],
      "Voice request",
    );
    for (const s of mod.sessions.keys()) await svc.send(new Element("message", NS_CLIENT, { from: roomJid, to: s }, [x.clone()]));
  }
}
