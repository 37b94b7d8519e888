// The one privacy engine of a host, under both privacy lists (XEP-0016) and the blocking command (XEP-0191 §5:
// "the same back-end data store"; the blocklist is the default list's jid/deny items). It owns the stored
// lists, each session's active list, the "stanza.filter" decision with the errors the XEPs name, and the
// presence a contact must get when a list starts or stops hiding the user (XEP-0016 §2.11, XEP-0191 §3.3/§3.4).
//
// Hot path: a user with no default list and a session with no active list costs two in-memory look-ups; the
// set of users with a default list is read once at start, their records are cached (bounded, LRU).
import { errorReply, StanzaError } from "../../core/errors.js";
import { type Jid, tryParseJid } from "../../core/jid.js";
import type { ModuleContext } from "../../core/modules.js";
import type { Session } from "../../core/session.js";
import { Element } from "../../core/xml/element.js";
import { NS_BLOCKING_ERRORS, NS_CLIENT } from "../../core/xml/ns.js";
import type { Json, KeyValueStore } from "../../storage/types.js";
import { type RosterItem, RosterStore } from "../roster/roster-store.js";
import { hasFrom, hasTo } from "../roster/subscription-state.js";
import {
  allows,
  categorize,
  firstMatch,
  isBlockItem,
  needsRoster,
  type PeerRosterItem,
  type PrivacyItem,
} from "./privacy-rules.js";
import { defineSessionState } from "../../core/session-state.js";

/** One user's lists. Items are kept sorted by order. */
export interface PrivacyRecord {
  default?: string;
  lists: Record<string, PrivacyItem[]>;
}

export interface FilterInput {
  stanza: Element;
  from: Jid;
  to: Jid;
  direction: "in" | "out";
  session: Session | undefined;
}

/** Called after a user's record changed (pushes): `origin` is the session that asked, if any. */
export type ChangeListener = (
  user: string,
  before: PrivacyRecord,
  after: PrivacyRecord,
  origin: Session | undefined,
) => Promise<void>;

// Per-session active list name (XEP-0016 §2.4); module-level, so it survives a module reload. Shared: a change
// to a list, made on any node, re-applies to the sessions that have it active (§2.3).
const ACTIVE = defineSessionState<string>("privacy.active", { shared: true });

const EMPTY: PrivacyRecord = Object.freeze({ lists: Object.freeze({}) }) as PrivacyRecord;

// One engine per server and host, so that the blocking module reaches the privacy module's engine (it
// declares `depends: ["privacy"]`). Per server (ctx.perServer): two servers in one process never share.
const ENGINES = Symbol("privacy engines by host");
const enginesOf = (ctx: Pick<ModuleContext, "perServer">) =>
  ctx.perServer(ENGINES, () => new Map<string, PrivacyEngine>());

/** The engine the privacy module set up for this host. */
export function privacyEngine(
  ctx: Pick<ModuleContext<unknown>, "perServer" | "host" | "route" | "deliver" | "hosts" | "sessions">,
): PrivacyEngine {
  const engine = enginesOf(ctx).get(ctx.host);
  if (!engine) throw new Error(`no privacy engine on ${ctx.host}: load the privacy module first`);
  return engine;
}

export class PrivacyEngine {
  private readonly ctx: ModuleContext<unknown>;
  private readonly store: KeyValueStore;
  private readonly roster: RosterStore;
  private readonly cacheSize: number;
  /** Items one list may hold (privacy option `max_items`); the blocking command fills the default list too. */
  readonly maxItems: number;
  /** Users with a default list: the only ones whose stanzas need a look at their lists without an active list. */
  private readonly withDefault = new Set<string>();
  private readonly cache = new Map<string, PrivacyRecord>();
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly listeners = new Map<string, ChangeListener>();
  /** Stanzas the engine itself sends (error replies, unavailable on block): never filtered. */
  private readonly exempt = new WeakSet<Element>();
  /** Client stanzas already allowed on "stanza.outbound", so routing does not look again. */
  private readonly passed = new WeakSet<Element>();
  /** Inbound messages already bounced (one message to a bare JID may reach several sessions). */
  private readonly bounced = new WeakSet<Element>();

  private constructor(ctx: ModuleContext<unknown>, cacheSize: number, maxItems: number) {
    this.ctx = ctx;
    this.maxItems = maxItems;
    this.store = ctx.store("privacy", "keyval");
    this.roster = new RosterStore(ctx);
    this.cacheSize = cacheSize;
  }

  /** Creates the host's engine (replacing one from an earlier load) and reads who has a default list. */
  static async create(ctx: ModuleContext<unknown>, cacheSize: number, maxItems: number): Promise<PrivacyEngine> {
    const engine = new PrivacyEngine(ctx, cacheSize, maxItems);
    for (const user of await engine.store.users()) {
      const rec = (await engine.store.get(user)) as unknown as PrivacyRecord | undefined;
      if (rec?.default !== undefined) engine.withDefault.add(user);
    }
    enginesOf(ctx).set(ctx.host, engine);
    return engine;
  }

  /** Registers (or replaces, by owner) a change listener. */
  onChange(owner: string, listener: ChangeListener): void {
    this.listeners.set(owner, listener);
  }

  // ---- records ----

  async record(user: string): Promise<PrivacyRecord> {
    const hit = this.cache.get(user);
    if (hit) {
      this.cache.delete(user); // LRU: most recent last
      this.cache.set(user, hit);
      return hit;
    }
    const rec = ((await this.store.get(user)) as unknown as PrivacyRecord | undefined) ?? EMPTY;
    this.remember(user, rec);
    return rec;
  }

  private remember(user: string, rec: PrivacyRecord): void {
    this.cache.delete(user);
    this.cache.set(user, rec);
    while (this.cache.size > this.cacheSize) {
      const oldest = this.cache.keys().next().value as string;
      this.cache.delete(oldest);
    }
  }

  /** One change at a time per user (both protocols read, decide and write). */
  serial<T>(user: string, fn: () => Promise<T>): Promise<T> {
    const run = (this.queues.get(user) ?? Promise.resolve()).then(fn);
    const tail = run.catch(() => {});
    this.queues.set(user, tail);
    void tail.then(() => this.queues.get(user) === tail && this.queues.delete(user));
    return run;
  }

  /**
   * Replaces a user's record with what `change` returns (it may throw a StanzaError; undefined: no change),
   * then tells the listeners and sends the presence the change calls for. Call inside serial().
   */
  async update(
    user: string,
    origin: Session | undefined,
    change: (rec: PrivacyRecord) => PrivacyRecord | undefined | Promise<PrivacyRecord | undefined>,
  ): Promise<void> {
    const before = await this.record(user);
    const after = await change(before);
    if (!after) return;
    if (Object.keys(after.lists).length === 0 && after.default === undefined) await this.store.delete(user);
    else await this.store.set(user, after as unknown as Json);
    this.remember(user, after);
    if (after.default !== undefined) this.withDefault.add(user);
    else this.withDefault.delete(user);
    for (const listener of this.listeners.values()) await listener(user, before, after, origin);
    const sessions = this.ctx.sessions.resourcesOf(`${user}@${this.ctx.host}`);
    await this.presenceEffects(
      user,
      sessions.map((s) => ({ session: s, old: listOf(before, activeName(s)), now: listOf(after, activeName(s)) })),
    );
  }

  // ---- active lists (per session) ----

  activeName(session: Session): string | undefined {
    return activeName(session);
  }

  /** Sets or declines (undefined) the session's active list, with its presence effects. */
  async setActive(session: Session, name: string | undefined): Promise<void> {
    const rec = await this.record(session.jid.local);
    const old = listOf(rec, activeName(session));
    if (name === undefined) session.state.delete(ACTIVE);
    else session.state.set(ACTIVE, name);
    await this.presenceEffects(session.jid.local, [{ session, old, now: listOf(rec, name) }]);
  }

  /** Sessions of the user other than `except` to which list `name` applies now (XEP-0016 §2.2 rule 11). */
  otherSessionsUsing(user: string, rec: PrivacyRecord, name: string, except: Session | undefined): Session[] {
    return this.ctx.sessions
      .resourcesOf(`${user}@${this.ctx.host}`)
      .filter((s) => s !== except && (activeName(s) ?? rec.default) === name);
  }

  /** The list that applies (§2.2 rules 1–3): the session's active list, else the default list. */
  /** §2.2 rules 1–3 without storage: false when neither an active list nor a default list can apply. */
  private mayHaveList(user: string, session: Session | undefined): boolean {
    return (session ? activeName(session) : undefined) !== undefined || this.withDefault.has(user);
  }

  private async listFor(user: string, session: Session | undefined): Promise<PrivacyItem[] | undefined> {
    const active = session ? activeName(session) : undefined;
    if (!this.mayHaveList(user, session)) return undefined; // fast path: no storage
    return listOf(await this.record(user), active);
  }

  // ---- the filter ----

  /** Marks a stanza the engine sends itself, so that no list stops it. */
  exemptStanza(stanza: Element): Element {
    this.exempt.add(stanza);
    return stanza;
  }

  /**
   * Decides one stanza; "handled" when a list blocks it, after sending the error the XEPs name. `fromClient`:
   * the user's client sent it (outbound errors go back only to a client, never for presence the server sends).
   */
  filter(input: FilterInput, fromClient = false): Promise<"handled" | undefined> | undefined {
    const { stanza, direction } = input;
    if (this.exempt.has(stanza) || (direction === "out" && this.passed.has(stanza))) return undefined;
    const owner = direction === "out" ? input.from : input.to;
    const peer = direction === "out" ? input.to : input.from;
    if (owner.domain !== this.ctx.host || owner.local === "") return undefined;
    // XEP-0016 §2.1: never between a user's own resources. The user's own server is no contact either.
    if (peer.local === owner.local && peer.domain === owner.domain) return undefined;
    if (peer.local === "" && this.ctx.hosts.has(peer.domain)) return undefined;
    const session = input.session ?? (owner.resource !== "" ? this.ctx.sessions.get(owner) : undefined);
    // No list applies (the usual case): decided without a promise, as every delivery asks.
    if (!this.mayHaveList(owner.local, session)) {
      if (fromClient) this.passed.add(stanza);
      return undefined;
    }
    return this.filterByList(input, owner, peer, session, fromClient);
  }

  private async filterByList(
    input: FilterInput,
    owner: Jid,
    peer: Jid,
    session: Session | undefined,
    fromClient: boolean,
  ): Promise<"handled" | undefined> {
    const { stanza, direction } = input;
    const items = await this.listFor(owner.local, session);
    if (!items || items.length === 0) {
      if (fromClient) this.passed.add(stanza);
      return undefined;
    }
    const roster = needsRoster(items) ? await this.peerRosterItem(owner.local, peer) : undefined;
    const match = firstMatch(items, categorize(stanza.name, stanza.attrs.type, direction), peer, roster);
    if (match?.action !== "deny") {
      if (fromClient) this.passed.add(stanza);
      return undefined;
    }
    if (direction === "in") this.rejectInbound(stanza);
    else if (fromClient || input.session) this.rejectOutbound(stanza, match);
    return "handled";
  }

  /**
   * XEP-0016 §2.14, XEP-0191 §3.3: presence is dropped without a word; a message gets service-unavailable
   * (once, even if it was on its way to several sessions); an iq get/set service-unavailable, other iqs nothing.
   */
  private rejectInbound(stanza: Element): void {
    const type = stanza.attrs.type;
    if (stanza.name === "presence") return;
    if (stanza.name === "iq" && type !== "get" && type !== "set") return;
    if (stanza.name === "message") {
      if (this.bounced.has(stanza)) return;
      this.bounced.add(stanza);
    }
    this.send(errorReply(stanza, new StanzaError("service-unavailable")));
  }

  /** XEP-0016 §2.14: not-acceptable; XEP-0191 §3.3: with <blocked/> when a blocklist item matched. */
  private rejectOutbound(stanza: Element, match: PrivacyItem): void {
    const appCondition = isBlockItem(match) ? new Element("blocked", NS_BLOCKING_ERRORS) : undefined;
    const error = new StanzaError("not-acceptable", undefined, {
      type: "cancel",
      ...(appCondition ? { appCondition } : {}),
    });
    this.send(errorReply(stanza, error));
  }

  private send(stanza: Element | undefined): void {
    if (stanza) void this.ctx.route(this.exemptStanza(stanza));
  }

  private async peerRosterItem(user: string, peer: Jid): Promise<PeerRosterItem | undefined> {
    const item = await this.roster.getFrozen(user, peer.bareString());
    return item ? { subscription: item.subscription, groups: item.groups } : undefined;
  }

  // ---- presence when a list starts or stops hiding the user ----

  /**
   * For each available session whose list changed: a subscriber that may no longer see the user gets
   * unavailable presence (XEP-0016 §2.11 note, XEP-0191 §3.3), one that may again gets the session's current
   * presence (XEP-0191 §3.4). A contact whose presence may again come in is probed; a local contact whose
   * presence is now blocked is shown unavailable to the session (XEP-0016 §2.10 note).
   */
  private async presenceEffects(
    user: string,
    changes: { session: Session; old: PrivacyItem[] | undefined; now: PrivacyItem[] | undefined }[],
  ): Promise<void> {
    const changed = changes.filter(
      (c) => c.session.available && c.old !== c.now && JSON.stringify(c.old ?? []) !== JSON.stringify(c.now ?? []),
    );
    if (changed.length === 0) return;
    const contacts = (await this.roster.getAll(user))
      .map((item) => ({ item, jid: tryParseJid(item.jid)?.bare() }))
      .filter((c): c is { item: RosterItem; jid: Jid } => c.jid !== undefined);
    const probe = new Set<string>();
    for (const { session, old, now } of changed) {
      const full = session.jid.toString();
      for (const { item, jid } of contacts) {
        const peer: PeerRosterItem = { subscription: item.subscription, groups: item.groups };
        const contact = jid.toString();
        if (hasFrom(item.subscription)) {
          const was = allows(old ?? [], "presence-out", jid, peer);
          const is = allows(now ?? [], "presence-out", jid, peer);
          if (was && !is) {
            const p = new Element("presence", NS_CLIENT, { from: full, to: contact, type: "unavailable" });
            await this.ctx.route(this.exemptStanza(p));
          } else if (!was && is && session.presence) {
            const p = session.presence.clone();
            p.attrs.from = full;
            p.attrs.to = contact;
            await this.ctx.route(p);
          }
        }
        if (hasTo(item.subscription)) {
          const was = allows(old ?? [], "presence-in", jid, peer);
          const is = allows(now ?? [], "presence-in", jid, peer);
          if (!was && is) probe.add(contact);
          else if (was && !is && this.ctx.hosts.has(jid.domain)) {
            for (const s of this.ctx.sessions.resourcesOf(jid)) {
              if (!s.available) continue;
              const p = new Element("presence", NS_CLIENT, { from: s.jid.toString(), to: full, type: "unavailable" });
              await this.ctx.deliver(session, this.exemptStanza(p));
            }
          }
        }
      }
    }
    // RFC 6121 §4.3: the answer to a probe from the bare JID reaches every available resource.
    for (const contact of probe) {
      await this.ctx.route(
        new Element("presence", NS_CLIENT, { type: "probe", from: `${user}@${this.ctx.host}`, to: contact }),
      );
    }
  }
}

function activeName(session: Session): string | undefined {
  return session.state.get(ACTIVE);
}

/** The list that applies for an active list name (or the default one). */
export function listOf(rec: PrivacyRecord, active: string | undefined): PrivacyItem[] | undefined {
  const name = active ?? rec.default;
  return name === undefined ? undefined : rec.lists[name];
}
