// Rendezvous (highest-random-weight) hashing: which live node owns a key (a MUC room's JID). Every node computes
// the same answer from the same `ClusterBus.liveNodes()` with no coordination, and when a node leaves only the
// keys it owned move (each to the node with the next-highest weight for that key); when a node joins, only the
// keys it now wins move to it. Thaler & Ravishankar, "Using name-based mappings to increase hit rates" (1998).
import { createHash } from "node:crypto";

/** The key's weight on one node: the first 48 bits of SHA-256(node \0 key), so no two nodes tie in practice. */
export function rendezvousWeight(node: string, key: string): number {
  return createHash("sha256").update(node).update("\0").update(key).digest().readUIntBE(0, 6);
}

/**
 * The node that owns `key` among `nodes` (undefined when there is none). Ties (practically impossible) go to
 * the smaller node id, so the answer never depends on the order of `nodes`.
 */
export function rendezvousOwner(key: string, nodes: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestWeight = -1;
  for (const node of nodes) {
    const w = rendezvousWeight(node, key);
    if (w > bestWeight || (w === bestWeight && best !== undefined && node < best)) {
      best = node;
      bestWeight = w;
    }
  }
  return best;
}

/** `nodes` ordered by their weight for `key`, owner first: the failover order. */
export function rendezvousOrder(key: string, nodes: readonly string[]): string[] {
  return nodes
    .map((node) => ({ node, w: rendezvousWeight(node, key) }))
    .sort((a, b) => b.w - a.w || (a.node < b.node ? -1 : a.node > b.node ? 1 : 0))
    .map((e) => e.node);
}
