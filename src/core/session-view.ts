// What a cluster node knows of a session bound on another node (docs/architecture.md "The session registry"):
// enough to route to it (RFC 6121 §8.5: full JID, availability, priority), answer probes (last presence),
// push the roster (interested) and decide what the session is sent (the shared module state: caps, CSI,
// carbons, …). Plain data: a Redis registry serialises it and keeps every node's copy in step.
import type { Session } from "./session.js";
import type { Element } from "./xml/element.js";

export interface SessionView {
  /** The full JID (RFC 6120 §7). */
  readonly jid: string;
  /** The cluster node holding the connection (the node's id in `cluster`; "local" in-process). */
  readonly node: string;
  /** The stream id, so a replaced or ended session is told apart from a new one with the same JID. */
  readonly id: string;
  /** RFC 6121 §4.7.2.3: -128..127. Meaningful only while `available`. */
  readonly priority: number;
  /** Has sent initial presence and not yet unavailable (RFC 6121 "available resource"). */
  readonly available: boolean;
  /** The last broadcast available presence (for probes), if any. */
  readonly presence: Element | undefined;
  /** Requested the roster (RFC 6121 §2.1.6 "interested resource"). */
  readonly interested: boolean;
  /** A connection is attached (false while waiting for XEP-0198 resumption). */
  readonly attached: boolean;
  /** Module state declared `shared` (session-state.ts), described, by key name. */
  readonly shared: Readonly<Record<string, unknown>>;
}

/** A session as a remote node would hold it. Not on the routing path: built when a session's state changes. */
export function describeSession(session: Session, node: string): SessionView {
  return {
    jid: session.jid.toString(),
    node,
    id: session.id,
    priority: session.priority,
    available: session.available,
    presence: session.presence,
    interested: session.interested,
    attached: session.attached,
    shared: session.state.describeShared(),
  };
}
