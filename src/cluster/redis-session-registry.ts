// The session registry of a cluster node (docs/cluster.md, docs/architecture.md "The session registry"): every
// node answers get/resourcesOf/countOf from a node-local view of every node's sessions, kept in step by
// broadcasts, so routing (RFC 6121 §8.5) stays synchronous and decides the same on every node. Redis holds the
// truth: a hash per account (`sess:<bare>`, field = resource, value = the SessionView as JSON) and a set per
// node of the accounts it has sessions of (`nsess:<node>`), which is how the survivor that cleans up after a dead
// node finds its sessions.
//
// Sessions of other nodes are RemoteSession objects over their view: `send` forwards the stanza to the owning
// node's inbox, which delivers it through its own Router.deliver (privacy, CSI, carbons where the connection is);
// `close` asks that node to close it (a resource conflict, RFC 6120 §7.7.2.2).
import type { Logger } from "pino";
import type { ClientTransport } from "../admin/types.js";
import { StanzaError, StreamError, type StreamErrorCondition } from "../core/errors.js";
import type { Hooks } from "../core/hooks.js";
import { type Jid, tryParseJid } from "../core/jid.js";
import { createPerKeyQueue } from "../core/per-key-queue.js";
import type { Router } from "../core/router.js";
import type { DeliveryReceipt, Session } from "../core/session.js";
import type { SessionRegistry } from "../core/session-registry.js";
import { SessionState, type SessionStateKey } from "../core/session-state.js";
import { describeSession, type SessionView } from "../core/session-view.js";
import { rerouteUndelivered } from "../core/undelivered.js";
import type { Element } from "../core/xml/element.js";
import { NS_CLIENT } from "../core/xml/ns.js";
import { FramedElementParser, parseFramedElement } from "../core/xml/stream-parser.js";
import type { RedisClusterBus } from "./redis-bus.js";
import type { ClusterMessage } from "./types.js";

/** Stanzas between nodes were parsed and checked once already, by the node that received them. */
const PARSE_LIMITS = { maxStanzaBytes: 16 << 20, maxDepth: 256 };

/** A view as stored and broadcast: the last presence serialised. */
interface WireView {
  jid: string;
  node: string;
  id: string;
  priority: number;
  available: boolean;
  presence: string | null;
  interested: boolean;
  attached: boolean;
  shared: Record<string, unknown>;
}

// KEYS: account hash, node's account set. ARGV: resource, view JSON, bare JID. Returns the view it replaced (or false).
const BIND_SCRIPT = `
local old = redis.call('HGET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
return old`;

// KEYS: account hash. ARGV: resource, view JSON, session id. Updates a view only while it is still that session's.
const UPDATE_SCRIPT = `
local old = redis.call('HGET', KEYS[1], ARGV[1])
if not old then return 0 end
if cjson.decode(old).id ~= ARGV[3] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1`;

// KEYS: account hash, node's account set. ARGV: resource, session id, node, bare. Compare-and-delete; the account
// leaves the node's set when the node has no session of it left.
const UNBIND_SCRIPT = `
local old = redis.call('HGET', KEYS[1], ARGV[1])
if not old then return 0 end
if cjson.decode(old).id ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
for _, v in ipairs(redis.call('HVALS', KEYS[1])) do
  if cjson.decode(v).node == ARGV[3] then return 1 end
end
redis.call('SREM', KEYS[2], ARGV[4])
return 1`;

export interface RedisSessionRegistryDeps {
  bus: RedisClusterBus;
  hooks: Hooks;
  /** The router (made after the registry, which it uses). */
  router: () => Router;
  log: Logger;
  /** `cluster.max_held_for_clients`: inbox entries held until their client acknowledged (default 5,000). */
  maxHeldForClients?: number;
}

/** Module state of a remote session: the shared entries of its view, found by key name (keys are per module instance). */
class RemoteSessionState extends SessionState {
  private byName: Record<string, unknown>;
  constructor(shared: Record<string, unknown>) {
    super();
    this.byName = shared;
  }
  replace(shared: Record<string, unknown>): void {
    this.byName = shared;
  }
  override get<T>(key: SessionStateKey<T>): T | undefined {
    return this.byName[key.name] as T | undefined;
  }
  override has(key: SessionStateKey<unknown>): boolean {
    return key.name in this.byName;
  }
  // The owning node keeps the state: what another node sets on a remote session is not kept.
  override set(): void {}
  override delete(): boolean {
    return false;
  }
  override describeShared(): Record<string, unknown> {
    return { ...this.byName };
  }
}

/** A session bound on another node, as this node sees it. */
export class RemoteSession implements Session {
  readonly remote = true;
  readonly remoteAddress = "";
  readonly secure = true;
  readonly transport: ClientTransport = "tcp";
  readonly since = 0;
  readonly id: string;
  readonly jid: Jid;
  readonly node: string;
  priority = 0;
  available = false;
  presence: Element | undefined;
  interested = false;
  attached = true;
  readonly state: RemoteSessionState;

  constructor(
    view: WireView,
    jid: Jid,
    private readonly registry: RedisSessionRegistry,
  ) {
    this.id = view.id;
    this.jid = jid;
    this.node = view.node;
    this.state = new RemoteSessionState(view.shared ?? {});
    this.update(view);
  }

  get streamManagement(): "off" | "on" | "detached" {
    return this.attached ? "off" : "detached";
  }

  update(view: WireView): void {
    this.priority = view.priority;
    this.available = view.available;
    this.interested = view.interested;
    this.attached = view.attached;
    this.presence = view.presence ? parseStanza(view.presence) : undefined;
    this.state.replace(view.shared ?? {});
  }

  send(stanza: Element, receipt?: DeliveryReceipt): void {
    this.registry.forward(this, stanza, receipt);
  }

  close(error?: StreamError): void {
    this.registry.closeRemote(this, error);
  }
}

function parseStanza(text: string): Element | undefined {
  try {
    return parseFramedElement(text, PARSE_LIMITS, NS_CLIENT);
  } catch {
    return undefined;
  }
}

const NONE: readonly Session[] = Object.freeze([]);

export class RedisSessionRegistry implements SessionRegistry {
  private readonly bus: RedisClusterBus;
  private readonly d: RedisSessionRegistryDeps;
  private readonly log: Logger;
  /** This node's sessions by bare JID, bind order. */
  private readonly local = new Map<string, readonly Session[]>();
  private localTotal = 0;
  /** Other nodes' sessions by bare JID, then resource. */
  private readonly remote = new Map<string, Map<string, RemoteSession>>();
  private remoteTotal = 0;
  /** resourcesOf answers: local then remote (a local session shadows a remote one with its resource). */
  private readonly merged = new Map<string, readonly Session[]>();
  /** Local sessions whose view changed since the last publication (published once per turn). */
  private readonly dirty = new Set<Session>();
  private flushScheduled = false;
  private readonly inOrder = createPerKeyQueue();
  /** One parser for every stanza read from the inbox (a new saxes parser per stanza cost more than the parse). */
  private readonly stanzaParser = new FramedElementParser(NS_CLIENT);
  private readonly removers: (() => void)[] = [];
  /** View changes broadcast while a reload reads Redis, applied again over its snapshot (which may predate them). */
  private readonly duringReload = new Set<(() => void)[]>();
  /** Inbox entries whose stanza this node's client has not acknowledged yet (held unacknowledged in Redis). */
  private heldForClients = 0;
  /** Stanzas handed to another node whose write Redis has not confirmed yet (forwarded()). */
  /** Sequence numbers of the forwarded stanzas Redis does not hold yet, oldest first (`forwarded`). */
  private readonly sending = new Set<number>();
  private sendSeq = 0;
  private readonly forwardWaiters: { upTo: number; resolve: () => void }[] = [];

  constructor(deps: RedisSessionRegistryDeps) {
    this.d = deps;
    this.bus = deps.bus;
    this.log = deps.log.child({ component: "cluster-sessions" });
    const bus = this.bus;
    this.removers.push(
      bus.onBroadcast("session.up", (message, from) => this.onUp(message, from)),
      bus.onBroadcast("session.down", (message, from) => this.onDown(message, from)),
      bus.onMessage("session.stanza", (message, delivery) => this.onStanza(message, delivery.reclaimedFrom)),
      bus.onMessage("session.close", (message, delivery) => {
        if (delivery.reclaimedFrom === undefined) this.onClose(message);
      }),
      bus.onMembership((event) => {
        if (event.change !== "down") return;
        this.dropNode(event.node);
        if (event.leader) void this.endSessionsOf(event.node);
      }),
      bus.onResync(() => this.resync()),
    );
  }

  /**
   * Before the node takes clients (the modules loaded): starts the bus, loads every live node's sessions, then ends
   * the sessions a previous process with this id left in Redis (their contacts, now in the view, are told).
   */
  async load(): Promise<void> {
    // The views first, then the inbox: a stanza read before them would find no session of another node and be
    // re-routed to offline storage or bounced (a room moving back to a restarted node dropped its occupants).
    await this.bus.start(() => this.reloadRemote());
    await this.endSessionsOf(this.bus.nodeId);
  }

  close(): void {
    for (const remove of this.removers.splice(0)) remove();
  }

  // ---- SessionRegistry

  get(jid: Jid): Session | undefined {
    const bare = jid.bareString();
    const resource = jid.resource;
    const list = this.local.get(bare);
    if (list) for (const s of list) if (s.jid.resource === resource) return s;
    return this.remote.get(bare)?.get(resource);
  }

  resourcesOf(bare: Jid | string): readonly Session[] {
    const key = typeof bare === "string" ? bare : bare.bareString();
    const cached = this.merged.get(key);
    if (cached) return cached;
    const local = this.local.get(key);
    const remote = this.remote.get(key);
    if (!remote || remote.size === 0) return local ?? NONE;
    const out: Session[] = local ? [...local] : [];
    for (const [resource, session] of remote) {
      if (!local?.some((s) => s.jid.resource === resource)) out.push(session);
    }
    const frozen = Object.freeze(out);
    this.merged.set(key, frozen);
    return frozen;
  }

  countOf(jid: Jid): number {
    return this.resourcesOf(jid.bareString()).length;
  }

  hasResources(bare: Jid): boolean {
    return this.resourcesOf(bare.bareString()).length > 0;
  }

  add(session: Session): Session | undefined {
    const bare = session.jid.bareString();
    const resource = session.jid.resource;
    const list = this.local.get(bare) ?? NONE;
    const at = list.findIndex((s) => s.jid.resource === resource);
    let replaced: Session | undefined;
    if (at === -1) {
      this.local.set(bare, Object.freeze([...list, session]));
      this.localTotal++;
      // RFC 6120 §7.7.2.2: a session with this full JID on another node is replaced; its node closes it.
      const remote = this.remote.get(bare)?.get(resource);
      if (remote) {
        this.removeRemote(bare, resource);
        replaced = remote;
      }
    } else {
      replaced = list[at];
      this.local.set(bare, Object.freeze(list.map((s, i) => (i === at ? session : s))));
    }
    this.merged.delete(bare);
    void this.publishBind(session, replaced);
    return replaced;
  }

  remove(session: Session): boolean {
    const bare = session.jid.bareString();
    const list = this.local.get(bare);
    if (!list || !list.includes(session)) return false;
    if (list.length === 1) this.local.delete(bare);
    else this.local.set(bare, Object.freeze(list.filter((s) => s !== session)));
    this.localTotal--;
    this.merged.delete(bare);
    this.dirty.delete(session);
    void this.publishUnbind(session);
    return true;
  }

  get count(): number {
    return this.localTotal;
  }

  get clusterCount(): number {
    return this.localTotal + this.remoteTotal;
  }

  /** This node's sessions (shutdown, reload and administration act on what this node holds). */
  *all(): IterableIterator<Session> {
    for (const list of this.local.values()) yield* list;
  }

  *ofHost(host: string): IterableIterator<Session> {
    for (const s of this.all()) if (s.jid.domain === host) yield s;
  }

  changed(session: Session): void {
    if (session.remote || !this.isLocal(session)) return;
    this.dirty.add(session);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // Presence sets availability, priority and the last presence one after another: one publication for all.
    queueMicrotask(() => {
      this.flushScheduled = false;
      const sessions = [...this.dirty];
      this.dirty.clear();
      for (const s of sessions) if (this.isLocal(s)) void this.publishUpdate(s);
    });
  }

  // ---- remote sessions

  /** Hands a stanza for a remote session to its node. `receipt` is told once Redis holds it (the inbox loses nothing). */
  forward(session: RemoteSession, stanza: Element, receipt?: DeliveryReceipt): void {
    let xml: string;
    try {
      xml = stanza.toString();
    } catch (err) {
      this.log.warn({ err, to: session.jid.toString() }, "stanza not serialisable: dropped");
      receipt?.(false);
      return;
    }
    // All strings: the bus writes it as flat stream fields (no JSON around the XML).
    const message = { kind: "session.stanza", to: session.jid.toString(), id: session.id, xml };
    const seq = ++this.sendSeq;
    this.sending.add(seq);
    this.bus.post(session.node, message, (err) => {
      this.settled(seq);
      if (err === undefined) {
        receipt?.(true);
        return;
      }
      this.log.error({ err: String(err), to: message.to }, "stanza for another node not sent");
      if (receipt) {
        receipt(false);
        return;
      }
      // RFC 6120 §8.3.3.19 (wait): the sender may try again.
      this.d.router().bounce(stanza, new StanzaError("resource-constraint", "try again later", { type: "wait" }));
    });
  }

  forwarded(): Promise<void> | undefined {
    if (this.sending.size === 0) return undefined;
    // The ones on their way now: later sends do not hold back an answer about the earlier ones.
    const upTo = this.sendSeq;
    return new Promise((resolve) => this.forwardWaiters.push({ upTo, resolve }));
  }

  /** A send settled: wake the waiters whose sends have all settled (seqs enter `sending` in increasing order). */
  private settled(seq: number): void {
    this.sending.delete(seq);
    if (this.forwardWaiters.length === 0) return;
    const oldest = this.sending.size === 0 ? Number.POSITIVE_INFINITY : (this.sending.values().next().value as number);
    while (this.forwardWaiters.length > 0 && this.forwardWaiters[0].upTo < oldest)
      this.forwardWaiters.shift()?.resolve();
  }

  closeRemote(session: RemoteSession, error?: StreamError): void {
    this.removeRemote(session.jid.bareString(), session.jid.resource, session.id);
    void this.bus
      .send(session.node, {
        kind: "session.close",
        jid: session.jid.toString(),
        id: session.id,
        condition: error?.condition ?? "conflict",
        ...(error?.text !== undefined ? { text: error.text } : {}),
      })
      .catch((err: unknown) => this.log.warn({ err: String(err) }, "close for a session on another node not sent"));
  }

  private onStanza(message: ClusterMessage, reclaimedFrom: string | undefined): void | Promise<void> {
    let stanza: Element | undefined;
    try {
      if (typeof message.xml === "string") stanza = this.stanzaParser.parse(message.xml, PARSE_LIMITS);
    } catch {
      // not an element: dropped below
    }
    if (!stanza) {
      this.log.warn("unreadable stanza from another node dropped");
      return;
    }
    const router = this.d.router();
    // Reclaimed from a node that died: its sessions are gone here too (in case this node had not noticed yet).
    if (reclaimedFrom !== undefined && reclaimedFrom !== this.bus.nodeId) this.dropNode(reclaimedFrom);
    const jid = typeof message.to === "string" ? tryParseJid(message.to) : undefined;
    // One at a time per recipient, in the inbox's order: the delivery hooks await (archiving), and the stanzas of
    // one sender must reach the client in the order they were sent (RFC 6120 §10.1).
    // The entry is acknowledged in Redis when the returned promise settles: once the client has the stanza, not
    // when it was written. The queue moves on after the write, so the next stanza does not wait for the client.
    return new Promise<void>((settle) => {
      void this.inOrder(typeof message.to === "string" ? message.to : "", () => {
        const session = jid ? this.get(jid) : undefined;
        if (reclaimedFrom === undefined && session && !session.remote && session.id === message.id) {
          // XEP-0198 §4: the client's <a/> covers it (without stream management: the bytes left the process). A
          // node killed before that has the entry handed on by the survivor, so what comes twice is only what the
          // client had not acknowledged, with the stanza-id of its first copy (archived where it was routed).
          // A session that ends first hands it on as its own unacknowledged stanzas; one a delivery hook holds
          // back (CSI) is the session's from now on, as a local delivery's would be.
          // Past cluster.max_held_for_clients (clients that do not acknowledge must not stall this node's inbox,
          // whose reader stops at 10,000 entries in flight), an entry is acknowledged once written, as before.
          if (this.heldForClients >= (this.d.maxHeldForClients ?? 5_000))
            return router.deliver(session, stanza).then(
              () => settle(),
              () => settle(),
            );
          this.heldForClients++;
          let held = true;
          const release = () => {
            if (!held) return;
            held = false;
            this.heldForClients--;
            settle();
          };
          const receipt = (delivered: boolean, closedCleanly?: boolean) => {
            if (delivered) return release();
            const again = rerouteUndelivered(router, session.jid, [stanza], closedCleanly === true);
            if (again) again.then(release, release);
            else release();
          };
          return router.deliver(session, stanza, receipt).then(
            (handed) => void (handed || release()),
            () => release(),
          );
        }
        // The session is gone (ended, replaced, or its node died): routed again by its own address, RFC 6121 §8.5
        // (a full JID with no resource: §8.5.3.2, chat to the other resources or offline storage; a bare JID: the
        // account's other resources or offline storage), errors to the sender.
        return router.route(stanza).then(settle, settle);
      });
    });
  }

  private onClose(message: ClusterMessage): void {
    const jid = typeof message.jid === "string" ? tryParseJid(message.jid) : undefined;
    const session = jid ? this.get(jid) : undefined;
    if (!session || session.remote || session.id !== message.id) return;
    const condition = (typeof message.condition === "string" ? message.condition : "conflict") as StreamErrorCondition;
    this.log.info({ jid: message.jid, condition }, "session closed at another node's request");
    session.close(new StreamError(condition, typeof message.text === "string" ? message.text : undefined));
  }

  private onUp(message: ClusterMessage, from: string): void {
    const view = message.view as WireView | undefined;
    if (!view || typeof view.jid !== "string" || view.node !== from) return;
    this.upsertRemote(view);
    for (const replay of this.duringReload) replay.push(() => this.upsertRemote(view));
  }

  private onDown(message: ClusterMessage, from: string): void {
    const jid = typeof message.jid === "string" ? tryParseJid(message.jid) : undefined;
    if (!jid) return;
    const down = () => {
      const existing = this.remote.get(jid.bareString())?.get(jid.resource);
      if (existing && existing.node === from && existing.id === message.id)
        this.removeRemote(jid.bareString(), jid.resource);
    };
    down();
    for (const replay of this.duringReload) replay.push(down);
  }

  private upsertRemote(view: WireView): void {
    if (view.node === this.bus.nodeId) return;
    const jid = tryParseJid(view.jid);
    if (!jid || jid.resource === "") return;
    const bare = jid.bareString();
    let byResource = this.remote.get(bare);
    const existing = byResource?.get(jid.resource);
    if (existing && existing.id === view.id) {
      existing.update(view);
      return;
    }
    if (!byResource) {
      byResource = new Map();
      this.remote.set(bare, byResource);
    }
    if (!existing) this.remoteTotal++;
    byResource.set(jid.resource, new RemoteSession(view, jid, this));
    this.merged.delete(bare);
  }

  private removeRemote(bare: string, resource: string, id?: string): void {
    const byResource = this.remote.get(bare);
    const existing = byResource?.get(resource);
    if (!byResource || !existing || (id !== undefined && existing.id !== id)) return;
    byResource.delete(resource);
    if (byResource.size === 0) this.remote.delete(bare);
    this.remoteTotal--;
    this.merged.delete(bare);
  }

  /** A node died: its sessions leave this node's view. */
  private dropNode(node: string): void {
    if (node === this.bus.nodeId) return;
    for (const [bare, byResource] of [...this.remote]) {
      for (const [resource, session] of [...byResource]) {
        if (session.node === node) this.removeRemote(bare, resource);
      }
    }
  }

  /**
   * The cleanup of a dead node's sessions, by the one survivor leading it (or by a node restarting with the id of
   * its previous process): each is removed from Redis and ended as a session that ends here would be: the presence
   * module sends unavailable presence to its contacts (RFC 6121 §4.5.2) from the view's last availability.
   */
  private async endSessionsOf(node: string): Promise<void> {
    try {
      const setKey = this.bus.key(`nsess:${node}`);
      const bares = (await this.bus.redis(["SMEMBERS", setKey])) as string[];
      this.log.debug({ node, accounts: bares.length }, "ending the sessions of a node");
      let ended = 0;
      for (const bare of bares) {
        const hashKey = this.bus.key(`sess:${bare}`);
        const fields = (await this.bus.redis(["HGETALL", hashKey])) as string[];
        for (let i = 0; i + 1 < fields.length; i += 2) {
          const view = parseView(fields[i + 1] as string);
          if (!view || view.node !== node) continue;
          const jid = tryParseJid(view.jid);
          if (!jid) continue;
          await this.bus.script(UNBIND_SCRIPT, [hashKey, setKey], [jid.resource, view.id, node, bare]);
          this.removeRemote(bare, jid.resource, view.id);
          const gone = new RemoteSession(view, jid, this);
          await this.d.hooks.notify("session.closed", { session: gone, reason: "node-down" });
          ended++;
          // Its sessions are gone, from here and from the view of the nodes still following broadcasts.
          this.bus.broadcast({ kind: "session.down", jid: view.jid, id: view.id, node });
        }
      }
      await this.bus.redis(["DEL", setKey]);
      if (ended > 0) this.log.info({ node, sessions: ended }, "sessions of a node that died ended");
    } catch (err) {
      this.log.error({ err: String(err), node }, "ending the sessions of a node that died failed");
    }
  }

  // ---- publication

  private isLocal(session: Session): boolean {
    return this.local.get(session.jid.bareString())?.includes(session) ?? false;
  }

  private wireView(session: Session): WireView {
    const view: SessionView = describeSession(session, this.bus.nodeId);
    let presence: string | null = null;
    try {
      presence = view.presence ? view.presence.toString() : null;
    } catch {
      presence = null;
    }
    return { ...view, presence };
  }

  private async publishBind(session: Session, replaced: Session | undefined): Promise<void> {
    const view = this.wireView(session);
    const bare = session.jid.bareString();
    try {
      const old = (await this.bus.script(
        BIND_SCRIPT,
        [this.bus.key(`sess:${bare}`), this.bus.key(`nsess:${this.bus.nodeId}`)],
        [session.jid.resource, JSON.stringify(view), bare],
      )) as string | null;
      this.bus.broadcast({ kind: "session.up", view });
      const previous = old ? parseView(old) : undefined;
      // Two nodes bound the same full JID at once: the later write in Redis wins, the earlier session is closed
      // (RFC 6120 §7.7.2.2), unless this node already replaced it.
      if (previous && previous.id !== session.id && previous.id !== replaced?.id && previous.node !== this.bus.nodeId) {
        await this.bus.send(previous.node, {
          kind: "session.close",
          jid: previous.jid,
          id: previous.id,
          condition: "conflict",
          text: "replaced by a new connection with the same resource",
        });
      }
    } catch (err) {
      // Redis away: the resync after reconnection publishes every local session again.
      this.log.debug({ err: String(err) }, "session bind not published");
    }
  }

  private async publishUpdate(session: Session): Promise<void> {
    const view = this.wireView(session);
    try {
      await this.bus.script(
        UPDATE_SCRIPT,
        [this.bus.key(`sess:${session.jid.bareString()}`)],
        [session.jid.resource, JSON.stringify(view), session.id],
      );
      this.bus.broadcast({ kind: "session.up", view });
    } catch (err) {
      this.log.debug({ err: String(err) }, "session change not published");
    }
  }

  private async publishUnbind(session: Session): Promise<void> {
    const bare = session.jid.bareString();
    this.bus.broadcast({ kind: "session.down", jid: session.jid.toString(), id: session.id });
    try {
      await this.bus.script(
        UNBIND_SCRIPT,
        [this.bus.key(`sess:${bare}`), this.bus.key(`nsess:${this.bus.nodeId}`)],
        [session.jid.resource, session.id, this.bus.nodeId, bare],
      );
    } catch (err) {
      this.log.debug({ err: String(err) }, "session end not published");
    }
  }

  // ---- (re)loading

  /** Every other live node's sessions from Redis, replacing the view. */
  private async reloadRemote(): Promise<void> {
    const replay: (() => void)[] = [];
    this.duringReload.add(replay);
    try {
      await this.reloadSnapshot();
    } finally {
      this.duringReload.delete(replay);
      for (const apply of replay) apply();
    }
  }

  private async reloadSnapshot(): Promise<void> {
    const live = new Set(this.bus.liveNodes());
    const fresh: WireView[] = [];
    let cursor = "0";
    do {
      const reply = (await this.bus.redis([
        "SCAN",
        cursor,
        "MATCH",
        `${escapeGlob(this.bus.key("sess:"))}*`,
        "COUNT",
        "1000",
      ])) as [string, string[]];
      cursor = reply[0];
      for (const key of reply[1]) {
        const fields = (await this.bus.redis(["HGETALL", key])) as string[];
        for (let i = 0; i + 1 < fields.length; i += 2) {
          const view = parseView(fields[i + 1] as string);
          // A dead node's sessions are its cleaner's: they are not routed to.
          if (view && view.node !== this.bus.nodeId && live.has(view.node)) fresh.push(view);
        }
      }
    } while (cursor !== "0");
    for (const [bare] of this.remote) this.merged.delete(bare);
    this.remote.clear();
    this.remoteTotal = 0;
    for (const view of fresh) this.upsertRemote(view);
  }

  /** After a reconnection to Redis: broadcasts were missed; this node's sessions may have been taken for dead. */
  private async resync(): Promise<void> {
    const nodeSet = this.bus.key(`nsess:${this.bus.nodeId}`);
    // What Redis holds of this node's sessions that are not here any more (ended while Redis was away).
    const bares = (await this.bus.redis(["SMEMBERS", nodeSet])) as string[];
    for (const bare of bares) {
      const hashKey = this.bus.key(`sess:${bare}`);
      const fields = (await this.bus.redis(["HGETALL", hashKey])) as string[];
      for (let i = 0; i + 1 < fields.length; i += 2) {
        const view = parseView(fields[i + 1] as string);
        if (!view || view.node !== this.bus.nodeId) continue;
        const jid = tryParseJid(view.jid);
        const here = jid ? this.get(jid) : undefined;
        if (!here || here.remote || here.id !== view.id)
          await this.bus.script(
            UNBIND_SCRIPT,
            [hashKey, nodeSet],
            [fields[i] as string, view.id, this.bus.nodeId, bare],
          );
      }
    }
    // This node's sessions, published again (the others may have dropped them).
    for (const session of [...this.all()]) {
      const view = this.wireView(session);
      await this.bus.script(
        BIND_SCRIPT,
        [this.bus.key(`sess:${session.jid.bareString()}`), nodeSet],
        [session.jid.resource, JSON.stringify(view), session.jid.bareString()],
      );
      this.bus.broadcast({ kind: "session.up", view });
    }
    await this.reloadRemote();
    this.log.info({ local: this.localTotal, remote: this.remoteTotal }, "session view resynced");
  }
}

function parseView(text: string): WireView | undefined {
  try {
    const view = JSON.parse(text) as WireView;
    return typeof view?.jid === "string" && typeof view.node === "string" && typeof view.id === "string"
      ? view
      : undefined;
  } catch {
    return undefined;
  }
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, "\\$&");
}
