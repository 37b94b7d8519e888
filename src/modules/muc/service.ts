// One MUC service (XEP-0045) on its own domain: the rooms it holds, one queue per room so that a room
// handles its stanzas in order, and the routing of every stanza for the domain to the right use case.
import { createPerKeyQueue, type PerKeyQueue } from "../../core/per-key-queue.js";
import { createHmac, randomBytes } from "node:crypto";
import type { Logger } from "pino";
import { StanzaError, type StanzaErrorCondition, errorReply } from "../../core/errors.js";
import { type Jid, tryParseJid } from "../../core/jid.js";
import type { ModuleContext } from "../../core/modules.js";
import { Element } from "../../core/xml/element.js";
import type { ArchiveStore } from "../../storage/types.js";
import { mayQueryRoomArchive } from "./archive-access.js";
import type { ListedRoom } from "./disco.js";
import type { MucOptions } from "./options.js";
import type { Room } from "./room.js";
import type { RoomStore } from "./room-store.js";
import { ServiceCounts } from "./service-counts.js";

export interface MucServiceDeps {
  domain: string;
  host: string;
  options: MucOptions;
  log: Logger;
  /** Where the service's stanzas go out (the module context's awaitable route). */
  router: Pick<ModuleContext, "route">;
  admins: ReadonlySet<string>;
  /** The server's own hosts: users of any other domain are remote (remote_room_creation). */
  hosts: ReadonlySet<string>;
  roomStore: RoomStore;
  archive: ArchiveStore;
  /** Secret for XEP-0421 occupant ids (stable across restarts). */
  secret: Buffer;
}

export type StanzaHandler = (svc: MucService, stanza: Element, from: Jid, to: Jid) => Promise<void>;

export class MucService {
  readonly domain: string;
  readonly host: string;
  /** Read at use: a reload may replace them (reconfigure). */
  options: MucOptions;
  readonly log: Logger;
  readonly router: Pick<ModuleContext, "route">;
  readonly admins: ReadonlySet<string>;
  readonly hosts: ReadonlySet<string>;
  readonly roomStore: RoomStore;
  readonly archive: ArchiveStore;
  readonly rooms = new Map<string, Room>();
  /** In a cluster: the public rooms of the other nodes (cluster-room-list.ts), for disco#items on the service. */
  otherNodesRooms: (() => Promise<ListedRoom[]>) | undefined;
  private readonly secret: Buffer;
  /** Runs `fn` after everything queued for the same room. */
  readonly serial: PerKeyQueue = createPerKeyQueue();

  constructor(deps: MucServiceDeps) {
    this.domain = deps.domain;
    this.host = deps.host;
    this.options = deps.options;
    this.log = deps.log;
    this.router = deps.router;
    this.admins = deps.admins;
    this.hosts = deps.hosts;
    this.roomStore = deps.roomStore;
    this.archive = deps.archive;
    this.secret = deps.secret;
  }

  /**
   * New options from a reload, rooms and occupants kept: limits checked at use (max_rooms, max_occupants,
   * history, sizes) follow at once; each room's rate limiters are rebuilt with the new rates. Room
   * configurations stay the owners' (room_defaults and history_length shape rooms created from now on).
   */
  reconfigure(options: MucOptions): void {
    this.options = options;
    const now = Date.now();
    for (const room of this.rooms.values()) room.applyOptions(options, now);
  }

  /** Routes a stanza and waits until it is handed over, so that one recipient gets a room's stanzas in order. */
  send(stanza: Element): Promise<void> {
    return this.router.route(stanza);
  }

  /** Sends the error reply for a stanza (never for errors). */
  async reject(stanza: Element, error: StanzaError): Promise<void> {
    const reply = errorReply(stanza, error);
    if (reply) await this.send(reply);
  }

  /** Answers an IQ with a result carrying `payload`. */
  async result(iq: Element, payload?: Element): Promise<void> {
    const attrs: Record<string, string> = { type: "result" };
    if (iq.attrs.id !== undefined) attrs.id = iq.attrs.id;
    if (iq.attrs.from !== undefined) attrs.to = iq.attrs.from;
    if (iq.attrs.to !== undefined) attrs.from = iq.attrs.to;
    await this.send(new Element("iq", iq.ns, attrs, payload ? [payload] : []));
  }

  /** XEP-0421 §4: the same id for one real bare JID in one room, different across rooms, unguessable. */
  occupantId(room: Room, bare: string): string {
    return createHmac("sha256", this.secret).update(`${room.jid.toString()}\0${bare}`).digest("base64url").slice(0, 24);
  }

  /** A fresh archive / XEP-0359 stanza id. */
  newStanzaId(): string {
    return randomBytes(12).toString("base64url");
  }

  roomJid(local: string): Jid | undefined {
    return tryParseJid(`${local}@${this.domain}`);
  }

  /** Occupied and owned rooms per bare JID, kept by the rooms themselves (Room.counts). */
  private readonly counts = new ServiceCounts();
  /** Rooms created by users of other servers that exist now (max_remote_rooms). */
  private remoteRooms = 0;

  /** Adds a room to the service: from now on its occupants and owners count in the service's limits. */
  addRoom(room: Room): void {
    room.attachCounts(this.counts);
    if (room.createdBy !== "" && this.isRemote(room.createdBy)) this.remoteRooms++;
    this.rooms.set(room.localpart, room);
  }

  /** Rooms a real bare JID is an occupant of (max_rooms_per_user): checked on every join. */
  roomsOccupiedBy(bare: string): number {
    return this.counts.occupied.get(bare) ?? 0;
  }

  /** Rooms a bare JID owns by stored affiliation (max_owned_rooms). */
  roomsOwnedBy(bare: string): number {
    return this.counts.owned.get(bare) ?? 0;
  }

  /** Rooms created by users of other servers (max_remote_rooms). */
  roomsCreatedRemotely(): number {
    return this.remoteRooms;
  }

  /**
   * A limit was reached: one log line naming it and who hit it, and the error to answer with (thrown by the
   * caller, so the stanza gets it and nothing else happens).
   */
  limitReached(limit: string, who: string, condition: StanzaErrorCondition, text: string, room?: Room): StanzaError {
    this.log.info({ limit, from: who, ...(room ? { room: room.localpart } : {}) }, "muc limit reached");
    return new StanzaError(condition, text, condition === "resource-constraint" ? { type: "wait" } : {});
  }

  /** True for a bare JID of another server. */
  isRemote(bare: string): boolean {
    const at = bare.indexOf("@");
    return !this.hosts.has(at === -1 ? bare : bare.slice(at + 1));
  }

  /** Writes a persistent room's state (configuration, affiliations, subject) after a change. */
  async save(room: Room): Promise<void> {
    await this.roomStore.save(room);
  }

  /** Drops a room from memory only, storage kept (a cluster moved it to another node). */
  release(room: Room): void {
    if (this.rooms.get(room.localpart) !== room) return;
    this.rooms.delete(room.localpart);
    room.attachCounts(new ServiceCounts()); // its owners (and any occupants) no longer count
    if (room.createdBy !== "" && this.isRemote(room.createdBy)) this.remoteRooms--;
  }

  /** Drops a room: from memory, from storage, and its archive. */
  async remove(room: Room): Promise<void> {
    this.release(room);
    await this.roomStore.delete(room);
    await this.archive.delete(room.localpart);
  }

  /** A temporary room vanishes with its last occupant; a new room nobody configured too (§10.1). */
  async removeIfDeserted(room: Room): Promise<void> {
    if (!room.isEmpty()) return;
    if (room.locked || !room.config.persistent) await this.remove(room);
  }

  /**
   * For the MAM wiring (XEP-0313 §5 on room JIDs): may `requester` query the archive of room `local`?
   * False for rooms that do not exist, are still locked or do not keep an archive.
   */
  mayQueryArchive(local: string, requester: Jid): boolean {
    const room = this.rooms.get(local);
    return room !== undefined && mayQueryRoomArchive(room, requester);
  }
}
