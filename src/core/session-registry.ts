// Which client sessions are bound to which JIDs (RFC 6120 §7). In-process; cluster/ swaps in a Redis one.
import type { Jid } from "./jid.js";
import type { Session } from "./session.js";

export class SessionRegistry {
  // bare JID string → resource → session
  private readonly byBare = new Map<string, Map<string, Session>>();
  private total = 0;

  /** The session bound to a full JID, if any. */
  get(jid: Jid): Session | undefined {
    return this.byBare.get(jid.bareString())?.get(jid.resource);
  }

  /** Every session of an account (connected resources), in bind order. */
  resourcesOf(bare: Jid | string): Session[] {
    const map = this.byBare.get(typeof bare === "string" ? bare : bare.bareString());
    return map ? [...map.values()] : [];
  }

  /** How many sessions the account of `jid` has bound (detached ones waiting for resumption included). */
  countOf(jid: Jid): number {
    return this.byBare.get(jid.bareString())?.size ?? 0;
  }

  hasResources(bare: Jid): boolean {
    return this.byBare.has(bare.bareString());
  }

  /** Adds a bound session; returns the session it replaces (same full JID), which the caller closes with <conflict/>. */
  add(session: Session): Session | undefined {
    const bare = session.jid.bareString();
    let map = this.byBare.get(bare);
    if (!map) {
      map = new Map();
      this.byBare.set(bare, map);
    }
    const old = map.get(session.jid.resource);
    map.set(session.jid.resource, session);
    if (!old) this.total++;
    return old;
  }

  /** Removes a session if it is still the one bound to its JID. Returns whether it was. */
  remove(session: Session): boolean {
    const bare = session.jid.bareString();
    const map = this.byBare.get(bare);
    if (!map || map.get(session.jid.resource) !== session) return false;
    map.delete(session.jid.resource);
    if (map.size === 0) this.byBare.delete(bare);
    this.total--;
    return true;
  }

  get count(): number {
    return this.total;
  }

  *all(): IterableIterator<Session> {
    for (const map of this.byBare.values()) yield* map.values();
  }

  /** Sessions of one host (for announcements). */
  *ofHost(host: string): IterableIterator<Session> {
    for (const s of this.all()) if (s.jid.domain === host) yield s;
  }
}
