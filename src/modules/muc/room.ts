// One room's state: configuration, affiliations, subject and the occupants present now (XEP-0045 §4.1).
import type { Jid } from "../../core/jid.js";
import type { Json } from "../../storage/types.js";
import { defaultRole } from "./affiliations.js";
import type { MucOptions } from "./options.js";
import { TokenBucket } from "../../core/token-bucket.js";
import { configFromJson, type RoomConfig } from "./room-config.js";
import { SenderLimitBook } from "./sender-limits.js";
import { ServiceCounts } from "./service-counts.js";
import { AFFILIATIONS, type Affiliation, type Occupant, type Role } from "./types.js";

export interface Subject {
  text: string;
  /** Occupant nick that set it ("" for the room itself). */
  nick: string;
  when: number;
}

export class Room {
  readonly jid: Jid;
  config: RoomConfig;
  /** Bare JID → affiliation; "none" is never stored. */
  readonly affiliations = new Map<string, Exclude<Affiliation, "none">>();
  subject: Subject | undefined;
  /** §10.1.1: a new room stays locked (others get item-not-found) until its owner configures it. */
  locked = false;
  /** Nick → occupant. Change it through addOccupant / deleteOccupant, which keep occupantBares in step. */
  readonly occupants = new Map<string, Occupant>();
  /** Real bare JID → how many of the occupants are that JID. */
  private readonly occupantBares = new Map<string, number>();
  /** The service's counts this room keeps up to date (its own until MucService.addRoom attaches it). */
  counts = new ServiceCounts();
  /** Real full JID → nick. */
  readonly bySession = new Map<string, string>();
  /** Items in the archive, once counted (for trimming). */
  archiveCount: number | undefined;
  /** A trim of the archive is running (one at a time per room). */
  trimming = false;
  /** Reserved for XEP-0045 §7.9 registered nicks; unused for now. */
  readonly createdAt: number;
  /** Real bare JID that created the room ("" when unknown: rooms stored before it was kept). */
  createdBy = "";
  /** Per-sender rate limits (message_rate, presence_rate, invite_rate, voice_request_interval). */
  readonly limits: SenderLimitBook;
  /** Invitations the room sends in all (room_invite_rate). */
  readonly invites: TokenBucket;
  /** §7.8.3: invitee bare JID → inviter's full JID, so that only an invitee declines, and only to its inviter. */
  readonly pendingInvites = new Map<string, string>();
  /**
   * §7.5 IQ forwarding: requests relayed between occupants and not yet answered, keyed by answering nick,
   * asking nick and id → the asking session. Only an answer to one of them is relayed back (max_pending_iqs).
   */
  readonly pendingIqs = new Map<string, string>();
  /** Service-wide admins (owners of every room). */
  private readonly admins: ReadonlySet<string>;

  constructor(jid: Jid, config: RoomConfig, admins: ReadonlySet<string>, options: MucOptions, createdAt = Date.now()) {
    this.jid = jid;
    this.config = config;
    this.admins = admins;
    this.createdAt = createdAt;
    this.limits = new SenderLimitBook(options);
    this.invites = new TokenBucket(options.room_invite_rate.per_second, options.room_invite_rate.burst);
  }

  /**
   * The service's options changed (a reload): its rate limits follow them, and what it remembers for others
   * shrinks to the new caps at once, the oldest first (as rememberInvite and rememberPendingIq do).
   */
  applyOptions(options: MucOptions, now = Date.now()): void {
    this.limits.applyOptions(options, now);
    this.invites.setLimits(options.room_invite_rate.per_second, options.room_invite_rate.burst, now);
    trimOldest(this.pendingInvites, options.max_pending_invites);
    trimOldest(this.pendingIqs, options.max_pending_iqs);
  }

  get localpart(): string {
    return this.jid.local;
  }

  /** §5.2; configured admins are owners of every room. */
  affiliationOf(bare: string): Affiliation {
    if (this.admins.has(bare)) return "owner";
    return this.affiliations.get(bare) ?? "none";
  }

  setAffiliation(bare: string, affiliation: Affiliation): void {
    const wasOwner = this.affiliations.get(bare) === "owner";
    if (affiliation === "none") this.affiliations.delete(bare);
    else this.affiliations.set(bare, affiliation);
    if (wasOwner !== (affiliation === "owner")) ServiceCounts.add(this.counts.owned, bare, wasOwner ? -1 : 1);
  }

  /** Moves this room's occupants and owners into a service's counts (from its own, or out when `to` is fresh). */
  attachCounts(to: ServiceCounts): void {
    for (const bare of this.occupantBares.keys()) {
      ServiceCounts.add(this.counts.occupied, bare, -1);
      ServiceCounts.add(to.occupied, bare, 1);
    }
    for (const bare of this.owners()) {
      ServiceCounts.add(this.counts.owned, bare, -1);
      ServiceCounts.add(to.owned, bare, 1);
    }
    this.counts = to;
  }

  /** Owners by stored affiliation (configured admins not counted). */
  owners(): string[] {
    return [...this.affiliations].filter(([, a]) => a === "owner").map(([j]) => j);
  }

  defaultRoleOf(bare: string): Role | null {
    return defaultRole(this.affiliationOf(bare), this.config);
  }

  occupantBySession(full: string): Occupant | undefined {
    const nick = this.bySession.get(full);
    return nick === undefined ? undefined : this.occupants.get(nick);
  }

  /** Occupants of one real bare JID (normally zero or one). */
  occupantsOf(bare: string): Occupant[] {
    if (!this.occupantBares.has(bare)) return [];
    return [...this.occupants.values()].filter((o) => o.bare === bare);
  }

  /** Is this real bare JID in the room (under any nick)? Constant time: max_rooms_per_user asks every room. */
  hasOccupant(bare: string): boolean {
    return this.occupantBares.has(bare);
  }

  addOccupant(occ: Occupant): void {
    this.occupants.set(occ.nick, occ);
    const n = this.occupantBares.get(occ.bare) ?? 0;
    this.occupantBares.set(occ.bare, n + 1);
    if (n === 0) ServiceCounts.add(this.counts.occupied, occ.bare, 1);
  }

  deleteOccupant(occ: Occupant): void {
    if (this.occupants.get(occ.nick) !== occ) return;
    this.occupants.delete(occ.nick);
    const n = (this.occupantBares.get(occ.bare) ?? 1) - 1;
    if (n > 0) this.occupantBares.set(occ.bare, n);
    else {
      this.occupantBares.delete(occ.bare);
      ServiceCounts.add(this.counts.occupied, occ.bare, -1);
    }
  }

  clearOccupants(): void {
    for (const bare of this.occupantBares.keys()) ServiceCounts.add(this.counts.occupied, bare, -1);
    this.occupants.clear();
    this.occupantBares.clear();
    this.bySession.clear();
  }

  /** True when a viewer with this role sees occupants' real JIDs (§4.2 semi-anonymous / non-anonymous). */
  showsJidsTo(role: Role): boolean {
    return this.config.whois === "anyone" || role === "moderator";
  }

  isEmpty(): boolean {
    return this.occupants.size === 0;
  }

  toJson(): Json {
    return {
      config: { ...this.config },
      affiliations: Object.fromEntries(this.affiliations),
      subject: this.subject ? { ...this.subject } : null,
      createdAt: this.createdAt,
      createdBy: this.createdBy,
    };
  }

  static fromJson(jid: Jid, value: Json, options: MucOptions, admins: ReadonlySet<string>): Room {
    const v = (value ?? {}) as Record<string, Json>;
    const room = new Room(jid, configFromJson(v.config, options), admins, options, typeof v.createdAt === "number" ? v.createdAt : Date.now());
    if (typeof v.createdBy === "string") room.createdBy = v.createdBy;
    const affs = v.affiliations;
    if (affs && typeof affs === "object" && !Array.isArray(affs)) {
      for (const [bare, a] of Object.entries(affs)) {
        if (typeof a === "string" && AFFILIATIONS.includes(a as Affiliation)) room.setAffiliation(bare, a as Affiliation);
      }
    }
    const s = v.subject as Record<string, Json> | null | undefined;
    if (s && typeof s.text === "string") {
      room.subject = { text: s.text, nick: typeof s.nick === "string" ? s.nick : "", when: typeof s.when === "number" ? s.when : 0 };
    }
    return room;
  }
}

/** Drops a map's oldest entries (insertion order) down to `max`. */
function trimOldest(map: Map<string, unknown>, max: number): void {
  while (map.size > max) map.delete(map.keys().next().value as string);
}
