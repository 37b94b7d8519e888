// MUC rooms in a cluster (issue 16, docs/cluster.md "Rooms"): each room lives on exactly one node at a time,
// the owner by rendezvous hashing of the room JID over the live nodes (src/cluster/rendezvous.ts). Every node
// serves the MUC domain; a stanza for a room another node owns is forwarded there through that node's inbox
// (`muc.stanza`, at least once: a dead node's unread entries are reclaimed by a survivor and handed to this
// same handler, which forwards them to the room's new owner) and handled there as if local. The room's replies
// and fan-out go through the router, which reaches occupants on any node.
//
// When the live nodes change, rooms whose owner changed move: the old owner tells the room's occupants they
// were removed (XEP-0045 §15.6.2 status 332, as at shutdown) and drops the room from memory; the new owner
// reads persistent rooms from storage. Occupants rejoin (clients do on 332, or at their next XEP-0410
// self-ping, which the new owner answers with not-acceptable). When a node dies it cannot say so itself: every
// node that forwarded a join of one of its own users to a room there sends that user the 332 presence, and
// every room owner removes the occupants whose sessions were on the dead node (as if their sessions closed).
import type { Logger } from "pino";
import { rendezvousOwner } from "../../cluster/rendezvous.js";
import type { ClusterBus, ClusterMessage, InboxDelivery } from "../../cluster/types.js";
import { StanzaError } from "../../core/errors.js";
import { type Jid, tryParseJid } from "../../core/jid.js";
import { Element } from "../../core/xml/element.js";
import { NS_CLIENT, NS_MUC_USER } from "../../core/xml/ns.js";
import { parseFramedElement } from "../../core/xml/stream-parser.js";
import { occupantPresence } from "./occupant-presence.js";
import { removeSessionEverywhere } from "./occupants.js";
import type { MucService } from "./service.js";

export const MUC_STANZA = "muc.stanza";
/**
 * Forwards one stanza may take: two nodes' views of the live set can differ for a heartbeat, and a stanza that
 * came back is then handled where it is rather than passed to and fro.
 */
const MAX_HOPS = 2;
/** Another node already took the stanza from a client within its limits; this only refuses nonsense. */
const PARSE_LIMITS = { maxStanzaBytes: 16 * 1024 * 1024, maxDepth: 1024 };

type Handler = (stanza: Element, delivery: InboxDelivery, hops: number) => Promise<void>;

/**
 * One inbox handler per server for `muc.stanza` (the bus has one handler per kind), passing each stanza to the
 * MUC service of its domain (one per host that loads the module). Made with ctx.perServer.
 */
export class MucClusterInbox {
  private readonly services = new Map<string, Handler>();
  private removeHandler: (() => void) | undefined;

  constructor(
    private readonly bus: ClusterBus,
    private readonly log: Logger,
  ) {}

  add(domain: string, handler: Handler): () => void {
    this.services.set(domain, handler);
    this.removeHandler ??= this.bus.onMessage(MUC_STANZA, (m, d) => this.receive(m, d));
    return () => {
      if (this.services.get(domain) === handler) this.services.delete(domain);
      if (this.services.size === 0) {
        this.removeHandler?.();
        this.removeHandler = undefined;
      }
    };
  }

  private async receive(message: ClusterMessage, delivery: InboxDelivery): Promise<void> {
    const { domain, xml, hops } = message;
    if (typeof domain !== "string" || typeof xml !== "string") {
      this.log.warn({ from: delivery.from }, "malformed muc.stanza ignored");
      return;
    }
    let stanza: Element;
    try {
      stanza = parseFramedElement(xml, PARSE_LIMITS, NS_CLIENT);
    } catch (err) {
      this.log.warn({ err, from: delivery.from }, "unparsable muc.stanza ignored");
      return;
    }
    const handler = this.services.get(domain);
    // The module unloaded here meanwhile (a reload): nobody serves the room on this node.
    if (!handler) {
      this.log.warn({ domain, from: delivery.from }, "muc.stanza for a MUC domain this node does not serve");
      return;
    }
    await handler(stanza, delivery, typeof hops === "number" ? hops : MAX_HOPS);
  }
}

interface ForwardedJoin {
  nick: string;
  node: string;
}

export interface MucPlacementDeps {
  svc: MucService;
  bus: ClusterBus;
  /** Handles a stanza for the domain on this node (the module's dispatch). */
  local: (stanza: Element, to: Jid) => Promise<void>;
  /** Our own hosts: joins of their users are tracked here (their sessions live on this node). */
  hosts: ReadonlySet<string>;
  log: Logger;
}

export class MucPlacement {
  private readonly svc: MucService;
  private readonly bus: ClusterBus;
  private readonly local: MucPlacementDeps["local"];
  private readonly hosts: ReadonlySet<string>;
  private readonly log: Logger;
  /** Rooms held here: full JIDs of occupant sessions on other nodes → that node (dropped when it dies). */
  private readonly remoteSessions = new Map<string, string>();
  /**
   * Joins of this node's users forwarded to rooms on other nodes: full JID → room → nick and node. At most
   * max_rooms_per_user rooms per session (the oldest forgotten); a session's entries go when it closes.
   */
  private readonly forwardedJoins = new Map<string, Map<string, ForwardedJoin>>();
  /** The last membership change's moves; stanzas for rooms wait for them. */
  private settling: Promise<void> = Promise.resolve();

  constructor(deps: MucPlacementDeps) {
    this.svc = deps.svc;
    this.bus = deps.bus;
    this.local = deps.local;
    this.hosts = deps.hosts;
    this.log = deps.log;
  }

  /** The node that owns room `local` now (this one when the live set is empty, e.g. before the first heartbeat). */
  ownerOf(local: string): string {
    return rendezvousOwner(`${local}@${this.svc.domain}`, this.bus.liveNodes()) ?? this.bus.nodeId;
  }

  owns(local: string): boolean {
    return this.ownerOf(local) === this.bus.nodeId;
  }

  /** Every stanza for the domain: the service itself answers on any node; a room's stanzas go to its owner. */
  async dispatch(stanza: Element, to: Jid, hops = 0, fromNode?: string): Promise<void> {
    if (to.local === "") return this.local(stanza, to);
    await this.settling;
    const owner = this.ownerOf(to.local);
    if (owner === this.bus.nodeId || hops >= MAX_HOPS) {
      if (fromNode !== undefined && fromNode !== this.bus.nodeId) this.noteRemoteSession(stanza, fromNode);
      return this.local(stanza, to);
    }
    if (fromNode === undefined) this.noteForwarded(stanza, to, owner);
    try {
      await this.bus.send(owner, { kind: MUC_STANZA, domain: this.svc.domain, xml: stanza.toString(), hops: hops + 1 });
    } catch (err) {
      this.log.warn({ err, room: to.local, owner }, "room stanza not forwarded to its node");
      await this.svc.reject(
        stanza,
        new StanzaError("service-unavailable", "the room's node is unreachable", { type: "wait" }),
      );
    }
  }

  /** A stanza another node forwarded (or one reclaimed from a dead node's inbox). */
  receive(stanza: Element, delivery: InboxDelivery, hops: number): Promise<void> {
    const to = tryParseJid(stanza.attrs.to);
    if (!to || to.domain !== this.svc.domain) return Promise.resolve();
    // A reclaimed entry was meant for the dead node: placed again as if it came from the survivor's router.
    return this.dispatch(stanza, to, hops, delivery.reclaimedFrom === undefined ? delivery.from : undefined);
  }

  /** A session of this node closed: the rooms on other nodes it had joined are told it left. */
  async sessionClosed(full: string): Promise<void> {
    const joins = this.forwardedJoins.get(full);
    if (!joins) return;
    this.forwardedJoins.delete(full);
    for (const [room, join] of joins) {
      const to = tryParseJid(`${room}/${join.nick}`);
      if (!to) continue;
      const leave = new Element("presence", NS_CLIENT, { from: full, to: to.toString(), type: "unavailable" });
      await this.dispatch(leave, to);
    }
  }

  /** The live nodes changed: queued after the previous change's moves; room stanzas wait for it. */
  membershipChanged(event: { node: string; change: "up" | "down" }): Promise<void> {
    this.settling = this.settling.then(() =>
      this.rebalance(event).catch((err) =>
        this.log.error({ err, ...event }, "room placement after a membership change failed"),
      ),
    );
    return this.settling;
  }

  /** Settles once the moves of the membership changes so far are done. */
  settled(): Promise<void> {
    return this.settling;
  }

  /** Rooms this node holds but does not own go; persistent rooms it owns and does not hold are read from storage. */
  async rebalance(event?: { node: string; change: "up" | "down" }): Promise<void> {
    if (event?.change === "down") await this.nodeDied(event.node);
    let moved = 0;
    for (const room of [...this.svc.rooms.values()]) {
      if (this.owns(room.localpart)) continue;
      await this.svc.serial(room.localpart, async () => {
        if (this.svc.rooms.get(room.localpart) !== room) return;
        // XEP-0045 §15.6.2 status 332: removed because of a system shutdown (here: the room moved). Persistent
        // state is in storage already (every change is saved), so the new owner reads it from there.
        for (const occ of [...room.occupants.values()]) {
          for (const s of occ.sessions.keys()) {
            await this.svc.send(
              occupantPresence(room, occ, s, { role: occ.role, self: true }, { unavailable: true, statuses: [332] }),
            );
          }
        }
        room.clearOccupants();
        this.svc.release(room);
        moved++;
      });
    }
    let loaded = 0;
    for (const local of await this.svc.roomStore.localparts()) {
      if (this.svc.rooms.has(local) || !this.owns(local)) continue;
      await this.svc.serial(local, async () => {
        if (this.svc.rooms.has(local) || !this.owns(local)) return;
        const room = await this.svc.roomStore.load(local, this.svc.options);
        if (room) {
          this.svc.addRoom(room);
          loaded++;
        }
      });
    }
    if (moved > 0 || loaded > 0 || event) {
      this.log.info({ ...event, movedAway: moved, takenOver: loaded, rooms: this.svc.rooms.size }, "rooms placed");
    }
  }

  /** Remembers which node a remote occupant's session is on (a room here must drop it when that node dies). */
  private noteRemoteSession(stanza: Element, node: string): void {
    const from = stanza.attrs.from;
    if (from === undefined || !from.includes("/")) return;
    if (stanza.name === "presence" && stanza.attrs.type === "unavailable") {
      this.remoteSessions.delete(from);
      return;
    }
    if (stanza.name !== "presence" || stanza.attrs.type !== undefined) return;
    this.remoteSessions.set(from, node);
    // Sessions that never became occupants (a refused join) are dropped now and then: bounded by the occupants.
    if (this.remoteSessions.size > 2 * this.occupantSessions() + 1024) {
      const occupying = new Set<string>();
      for (const room of this.svc.rooms.values())
        for (const occ of room.occupants.values()) for (const s of occ.sessions.keys()) occupying.add(s);
      for (const s of this.remoteSessions.keys()) if (!occupying.has(s)) this.remoteSessions.delete(s);
    }
  }

  private occupantSessions(): number {
    let n = 0;
    for (const room of this.svc.rooms.values()) for (const occ of room.occupants.values()) n += occ.sessions.size;
    return n;
  }

  /** Remembers a join of one of our users forwarded to `owner`, forgets it on leaving. */
  private noteForwarded(stanza: Element, to: Jid, owner: string): void {
    if (stanza.name !== "presence" || to.resource === "") return;
    const from = tryParseJid(stanza.attrs.from);
    if (!from || from.resource === "" || !this.hosts.has(from.domain)) return;
    const full = from.toString();
    const room = to.bareString();
    const type = stanza.attrs.type;
    if (type === "unavailable") {
      const joins = this.forwardedJoins.get(full);
      joins?.delete(room);
      if (joins?.size === 0) this.forwardedJoins.delete(full);
      return;
    }
    if (type !== undefined) return;
    let joins = this.forwardedJoins.get(full);
    if (!joins) {
      joins = new Map();
      this.forwardedJoins.set(full, joins);
    }
    joins.delete(room);
    joins.set(room, { nick: to.resource, node: owner });
    if (joins.size > this.svc.options.max_rooms_per_user) joins.delete(joins.keys().next().value as string);
  }

  /** A node's heartbeat expired: its rooms' occupants here learn they are out; its sessions leave rooms here. */
  private async nodeDied(node: string): Promise<void> {
    let told = 0;
    for (const [full, joins] of [...this.forwardedJoins]) {
      for (const [room, join] of [...joins]) {
        if (join.node !== node) continue;
        joins.delete(room);
        await this.svc.send(roomGonePresence(room, join.nick, full));
        told++;
      }
      if (joins.size === 0) this.forwardedJoins.delete(full);
    }
    const gone = [...this.remoteSessions].filter(([, n]) => n === node).map(([full]) => full);
    for (const full of gone) {
      this.remoteSessions.delete(full);
      await removeSessionEverywhere(this.svc, full, {});
    }
    if (told > 0 || gone.length > 0)
      this.log.info({ node, told, removed: gone.length }, "room occupancy of a dead node cleared");
  }
}

/** XEP-0045 §15.6.2 status 332 (and 110, to the occupant itself), from a room this node does not hold. */
function roomGonePresence(room: string, nick: string, to: string): Element {
  const p = new Element("presence", NS_CLIENT, { from: `${room}/${nick}`, to, type: "unavailable" });
  const x = p.c("x", NS_MUC_USER);
  x.c("item", NS_MUC_USER, { affiliation: "none", role: "none" });
  x.c("status", NS_MUC_USER, { code: "110" });
  x.c("status", NS_MUC_USER, { code: "332" });
  return p;
}
