// What administration sees and does in one MUC service (admin/types.ts RoomAdministration): the rooms, their
// occupants with real JIDs and their configuration, and destroying a room as its owner would (§10.9).
import type { RoomAdministration, RoomDetail, RoomSummary } from "../../admin/types.js";
import { tryParseJid } from "../../core/jid.js";
import { Element } from "../../core/xml/element.js";
import { NS_DATA_FORMS, NS_MUC_OWNER } from "../../core/xml/ns.js";
import { destroyRoom } from "./owner.js";
import type { Room } from "./room.js";
import { configForm } from "./room-config.js";
import type { MucService } from "./service.js";

/** Form fields an administrator is not shown: the room password is a secret even to them. */
const HIDDEN_FIELDS = new Set(["FORM_TYPE", "muc#roomconfig_roomsecret"]);

export class MucRoomAdministration implements RoomAdministration {
  constructor(private readonly svc: MucService) {}

  get domain(): string {
    return this.svc.domain;
  }

  list(): RoomSummary[] {
    return [...this.svc.rooms.values()].map((room) => summary(room));
  }

  get(jid: string): RoomDetail | undefined {
    const room = this.find(jid);
    if (!room) return undefined;
    return {
      ...summary(room),
      ...(room.subject ? { subject: room.subject.text } : {}),
      occupantList: [...room.occupants.values()].map((o) => ({
        nick: o.nick,
        role: o.role,
        affiliation: room.affiliationOf(o.bare),
        jid: o.jid,
      })),
      config: configValues(room, this.svc),
    };
  }

  async destroy(jid: string, reason?: string): Promise<boolean> {
    const room = this.find(jid);
    if (!room) return false;
    const destroy = new Element("destroy", NS_MUC_OWNER);
    if (reason) destroy.c("reason", NS_MUC_OWNER).t(reason);
    // In the room's queue, like an owner's <destroy/>, so it does not cut through a stanza being handled.
    let destroyed = false;
    await this.svc.serial(room.localpart, async () => {
      if (this.svc.rooms.get(room.localpart) !== room) return;
      await destroyRoom(this.svc, room, destroy);
      destroyed = true;
    });
    if (destroyed) this.svc.log.info({ room: room.jid.toString() }, "room destroyed by an administrator");
    return destroyed;
  }

  private find(jid: string): Room | undefined {
    const parsed = tryParseJid(jid);
    if (!parsed || parsed.domain !== this.svc.domain || parsed.resource !== "") return undefined;
    return this.svc.rooms.get(parsed.local);
  }
}

function summary(room: Room): RoomSummary {
  const c = room.config;
  return {
    jid: room.jid.toString(),
    ...(c.name ? { name: c.name } : {}),
    occupants: room.occupants.size,
    persistent: c.persistent,
    public: c.public,
    membersOnly: c.membersOnly,
    passwordProtected: c.password !== "",
  };
}

/** The owner's configuration form (§10.2) read back as field values: one description of the fields, not two. */
function configValues(room: Room, svc: MucService): Record<string, string | string[] | boolean> {
  const out: Record<string, string | string[] | boolean> = {};
  for (const field of configForm(room.config, svc.options).getChildren("field", NS_DATA_FORMS)) {
    const name = field.attrs.var;
    if (name === undefined || HIDDEN_FIELDS.has(name)) continue;
    const values = field.getChildren("value").map((v) => v.text());
    if (field.attrs.type === "boolean") out[name] = values[0] === "1" || values[0] === "true";
    else if (field.attrs.type?.endsWith("-multi")) out[name] = values;
    else out[name] = values[0] ?? "";
  }
  return out;
}
