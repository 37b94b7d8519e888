// Persistent rooms in storage: one keyval entry per room (user = room localpart) with its configuration,
// affiliations and subject. Temporary rooms are never written.
import { tryParseJid } from "../../core/jid.js";
import type { KeyValueStore } from "../../storage/types.js";
import type { MucOptions } from "./options.js";
import { Room } from "./room.js";

export class RoomStore {
  private readonly store: KeyValueStore;
  private readonly domain: string;
  private readonly admins: ReadonlySet<string>;

  constructor(store: KeyValueStore, domain: string, admins: ReadonlySet<string>) {
    this.store = store;
    this.domain = domain;
    this.admins = admins;
  }

  async loadAll(options: MucOptions): Promise<Room[]> {
    const rooms: Room[] = [];
    for (const local of await this.store.users()) {
      const jid = tryParseJid(`${local}@${this.domain}`);
      const value = await this.store.get(local);
      if (!jid || value === undefined) continue;
      rooms.push(Room.fromJson(jid, value, options, this.admins));
    }
    return rooms;
  }

  /** Localparts of the stored (persistent) rooms. */
  localparts(): Promise<string[]> {
    return this.store.users();
  }

  /** One stored room as it is now in storage (a cluster node taking the room over), or undefined. */
  async load(local: string, options: MucOptions): Promise<Room | undefined> {
    const jid = tryParseJid(`${local}@${this.domain}`);
    const value = await this.store.get(local);
    return jid && value !== undefined ? Room.fromJson(jid, value, options, this.admins) : undefined;
  }

  /** Writes a persistent room, deletes a temporary one's leftovers. */
  async save(room: Room): Promise<void> {
    if (room.config.persistent && !room.locked) await this.store.set(room.localpart, room.toJson());
    else await this.store.delete(room.localpart);
  }

  async delete(room: Room): Promise<void> {
    await this.store.delete(room.localpart);
  }
}
