// Which client sessions are bound to which JIDs (RFC 6120 §7). The router, the modules and administration use
// only the SessionRegistry interface; InProcessSessionRegistry serves one node, and a Redis implementation
// (cluster/) keeps a node-local view of every node's sessions in step so that these lookups stay synchronous
// (docs/architecture.md "The session registry").
import type { Jid } from "./jid.js";
import type { Session } from "./session.js";

export interface SessionRegistry {
  /** The session bound to a full JID, if any. */
  get(jid: Jid): Session | undefined;
  /**
   * Every session of an account (connected resources), in bind order. The array is a snapshot the registry
   * never changes afterwards (a session bound or ended while the caller iterates is not seen): do not keep it.
   */
  resourcesOf(bare: Jid | string): readonly Session[];
  /** How many sessions the account of `jid` has bound (detached ones waiting for resumption included). */
  countOf(jid: Jid): number;
  /** Whether the account of `bare` has any session bound. */
  hasResources(bare: Jid): boolean;
  /**
   * Adds a bound session; returns the session it replaces (same full JID), which the caller closes with
   * <conflict/> (RFC 6120 §7.7.2.2).
   */
  add(session: Session): Session | undefined;
  /** Removes a session if it is still the one bound to its JID. Returns whether it was. */
  remove(session: Session): boolean;
  /** How many sessions are bound. */
  readonly count: number;
  /** Every bound session, for administration, metrics and shutdown. */
  all(): IterableIterator<Session>;
  /** Sessions of one host (announcements, a host's removal on reload). */
  ofHost(host: string): IterableIterator<Session>;
  /**
   * A bound session's view changed (presence, priority, availability, roster interest, attachment, shared module
   * state): a cluster registry tells the other nodes. Called by the session itself; absent in-process.
   */
  changed?(session: Session): void;
  /** Sessions bound on every node of a cluster (`count` is this node's); absent in-process. */
  readonly clusterCount?: number;
  /**
   * Resolves once every stanza handed so far to a session on another node is held by Redis (or was refused and
   * bounced); undefined when none is on its way, so the caller goes on synchronously. XEP-0198 §4: the `h` a
   * session reports counts a stanza only once its routing is durable. Absent in-process: local routing is.
   */
  forwarded?(): Promise<void> | undefined;
}

const NONE: readonly Session[] = Object.freeze([]);

/**
 * One node's sessions in memory. Each account's resources are one frozen array, replaced (copy on write) when a
 * session binds or ends: a routed stanza reads it with no allocation, and a caller that ends sessions while it
 * iterates (account removal) sees a stable list.
 */
export class InProcessSessionRegistry implements SessionRegistry {
  // bare JID string → its sessions in bind order (an account has a handful: c2s.max_sessions_per_account)
  private readonly byBare = new Map<string, readonly Session[]>();
  private total = 0;

  get(jid: Jid): Session | undefined {
    const list = this.byBare.get(jid.bareString());
    if (!list) return undefined;
    const resource = jid.resource;
    for (const s of list) if (s.jid.resource === resource) return s;
    return undefined;
  }

  resourcesOf(bare: Jid | string): readonly Session[] {
    return this.byBare.get(typeof bare === "string" ? bare : bare.bareString()) ?? NONE;
  }

  countOf(jid: Jid): number {
    return this.byBare.get(jid.bareString())?.length ?? 0;
  }

  hasResources(bare: Jid): boolean {
    return this.byBare.has(bare.bareString());
  }

  add(session: Session): Session | undefined {
    const bare = session.jid.bareString();
    const list = this.byBare.get(bare) ?? NONE;
    const resource = session.jid.resource;
    const at = list.findIndex((s) => s.jid.resource === resource);
    if (at === -1) {
      this.byBare.set(bare, Object.freeze([...list, session]));
      this.total++;
      return undefined;
    }
    // The new session takes the old one's place; it keeps bind order of the others.
    const old = list[at];
    this.byBare.set(bare, Object.freeze(list.map((s, i) => (i === at ? session : s))));
    return old;
  }

  remove(session: Session): boolean {
    const bare = session.jid.bareString();
    const list = this.byBare.get(bare);
    if (!list || !list.includes(session)) return false;
    if (list.length === 1) this.byBare.delete(bare);
    else this.byBare.set(bare, Object.freeze(list.filter((s) => s !== session)));
    this.total--;
    return true;
  }

  get count(): number {
    return this.total;
  }

  *all(): IterableIterator<Session> {
    for (const list of this.byBare.values()) yield* list;
  }

  *ofHost(host: string): IterableIterator<Session> {
    for (const s of this.all()) if (s.jid.domain === host) yield s;
  }
}
