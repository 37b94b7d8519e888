// The cluster contract (issue 16; docs/architecture.md "The session registry"): several Natter nodes serve one
// domain, sharing PostgreSQL for storage and Redis for who is online where and for carrying stanzas between
// nodes. Everything cluster-specific reaches the rest of the server through these interfaces; with no
// `cluster.redis_url` none of it is constructed and the server is the single process it always was.
//
// Two ways a node speaks to others, chosen by what a loss would cost:
// - `send` (one node's inbox, a Redis stream with a consumer group): stanzas and anything that must not vanish.
//   At least once: an entry is acknowledged only after its handler settled, and the entries of a node that
//   dies (read or not) are reclaimed by one surviving node and handed to the same handlers there, marked
//   `reclaimedFrom`, so a stanza for a dead node's session is re-routed (offline storage, another resource,
//   or an error to its sender, RFC 6121 §8) instead of lost.
// - `broadcast` (Redis pub/sub): changes every node mirrors and can rebuild (session view changes, cache
//   invalidations). At most once: after a reconnection to Redis a node is told to resync (`onResync`), since
//   what was published meanwhile is gone.

/** A JSON-serialisable message. `kind` selects the handler; kinds are namespaced by their owner ("session.", "muc."). */
export interface ClusterMessage {
  readonly kind: string;
  readonly [field: string]: unknown;
}

export interface InboxDelivery {
  /** The node that sent it. */
  readonly from: string;
  /** Set when this node handles it on behalf of `reclaimedFrom`, a node that died before acknowledging it. */
  readonly reclaimedFrom?: string;
}

export type InboxHandler = (message: ClusterMessage, delivery: InboxDelivery) => void | Promise<void>;
export type BroadcastHandler = (message: ClusterMessage, from: string) => void;

export interface ClusterBus {
  /** This node's id (`cluster.node_id`). */
  readonly nodeId: string;
  /** Nodes whose heartbeat is current, this one included, sorted by id (rendezvous hashing reads it). */
  liveNodes(): readonly string[];
  /** Whether Redis is reachable now (readiness, metrics). Sends made while it is not are queued, bounded. */
  readonly connected: boolean;

  /** Appends to `node`'s inbox; resolves once Redis holds it. Sending to this node's own id is allowed. */
  send(node: string, message: ClusterMessage): Promise<void>;
  /** Handles inbox messages of one kind (one handler per kind); returns the remover. */
  onMessage(kind: string, handler: InboxHandler): () => void;

  /** Publishes to every other node (not this one), at most once. */
  broadcast(message: ClusterMessage): void;
  /** Handles broadcasts of one kind (several handlers allowed); returns the remover. */
  onBroadcast(kind: string, handler: BroadcastHandler): () => void;

  /**
   * A node joined (`up`) or its heartbeat expired (`down`, within `cluster.node_timeout`). Every surviving
   * node is told; `leader` is true on exactly one of them for each death (a lock in Redis), which cleans up
   * after the dead node: its sessions, its inbox (reclaimed through the handlers) and its rooms.
   */
  onMembership(handler: (event: { node: string; change: "up" | "down"; leader: boolean }) => void): () => void;
  /** Called after a reconnection to Redis: broadcasts may have been missed meanwhile; rebuild what they keep. */
  onResync(handler: () => void | Promise<void>): () => void;

  /** Stops heartbeats and reading, removes this node from the live set (a clean leave), closes connections. */
  close(): Promise<void>;
}
