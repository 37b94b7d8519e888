// The server secret (core/server-secret.ts) of a cluster: one for every node. Dialback keys (XEP-0185) made by
// the node that opened an s2s link are checked by whichever node the peer's verification reaches, and the fake
// SCRAM salts answered for unknown users must not differ between nodes (comparing two nodes' answers would tell
// a stranger which accounts exist). The shared storage keeps it; when it has none yet, Redis picks the first
// node's candidate (SET NX) so that nodes starting together agree. A node's own data-directory secret is its
// candidate: a single server turned into a cluster keeps the secret it had.
import type { StorageDriver } from "../storage/types.js";
import type { RedisClusterBus } from "./redis-bus.js";

const STORE = { host: "", store: "cluster", key: "server-secret" } as const;

export async function clusterServerSecret(
  bus: Pick<RedisClusterBus, "redis" | "key">,
  storage: StorageDriver,
  candidate: Buffer,
): Promise<Buffer> {
  const kept = storage.open(STORE.host, STORE.store, "keyval");
  const stored = await kept.get(STORE.key);
  if (typeof stored === "string" && stored.length >= 64) return Buffer.from(stored, "hex");
  const key = bus.key("server-secret");
  await bus.redis(["SET", key, candidate.toString("hex"), "NX"]);
  const chosen = (await bus.redis(["GET", key])) as string | null;
  await kept.set(STORE.key, chosen ?? candidate.toString("hex"));
  // Another node may have written between our read and write: the stored value is the one every node reads.
  const final = await kept.get(STORE.key);
  return Buffer.from(typeof final === "string" ? final : candidate.toString("hex"), "hex");
}
