// Pubsub data through the store interfaces, under a prefix ("pep" for PEP, "pubsub" for the pubsub.<host>
// service) and per key (PEP: the account's localpart; the service: one key for all its nodes):
// - "<prefix>-nodes" (map): per key, keyed by node name: configuration, subscriptions, affiliations;
// - "<prefix>-items" (archive): per key, one entry per item, `with` = node name, archive id derived from
//   node + item id (so one item id per node, found by id in one indexed lookup). Archive order is publish
//   order: the last item is the newest entry of the node, and max_items trimming deletes the oldest;
// - "<prefix>-usage" (keyval): per key, the bytes of all its items' payloads, kept up to date by every write
//   here (counted afresh from the items when absent), so that a per-account quota costs no scan per publish.
// The nodes map is kept in memory per key by the server (the modules' cachedStores).
import { createHash } from "node:crypto";
import type { ModuleContext } from "../../../core/modules.js";
import type { ArchiveItem, ArchiveStore, Json, KeyValueStore, MapStore } from "../../../storage/types.js";
import type { PubsubItem } from "./codec.js";
import type { NodeConfig } from "./node-config.js";

/** XEP-0060 §4.1 affiliations an owner sets ("none" is the absence of one). PEP sets member and outcast only. */
export type Affiliation = "owner" | "publisher" | "publish-only" | "member" | "outcast";

/** XEP-0060 §6.3 subscription options Natter keeps (pubsub#deliver). */
export interface SubscriptionOptions {
  deliver: boolean;
}

export interface PubsubNode {
  config: NodeConfig;
  created: number;
  /** Explicit XEP-0060 §6.1 subscriptions: subscribed JID → subid. */
  subscribers: Record<string, string>;
  /** XEP-0060 §6.1.2 subscriptions awaiting an owner's approval (access model authorize): JID → subid. */
  pending?: Record<string, string>;
  /** XEP-0060 §6.3 options of a subscription, when not the defaults: JID → options. */
  subOptions?: Record<string, SubscriptionOptions>;
  /** XEP-0060 §8.9 affiliations set by an owner (members pass the whitelist, outcasts are denied). */
  affiliations: Record<string, Affiliation>;
}

interface StoredItemValue {
  id: string;
  payload: string;
  publisher: string;
}

const bytesOf = (rows: readonly ArchiveItem[]): number =>
  rows.reduce((sum, r) => {
    const payload = (r.value as unknown as Partial<StoredItemValue> | null)?.payload;
    return sum + (typeof payload === "string" ? Buffer.byteLength(payload) : 0);
  }, 0);

const archiveId = (node: string, id: string) =>
  createHash("sha256").update(`${node}\0${id}`).digest("base64url").slice(0, 32);

export class NodeStore {
  private readonly nodes: MapStore;
  private readonly items: ArchiveStore;
  private readonly usageBytes: KeyValueStore;

  constructor(ctx: Pick<ModuleContext<unknown>, "store">, prefix: string) {
    this.nodes = ctx.store(`${prefix}-nodes`, "map");
    this.items = ctx.store(`${prefix}-items`, "archive");
    this.usageBytes = ctx.store(`${prefix}-usage`, "keyval");
  }

  /** Bytes of the payloads of all of the user's items. */
  async usage(user: string): Promise<number> {
    const stored = await this.usageBytes.get(user);
    if (typeof stored === "number") return stored;
    const total = bytesOf(await this.items.find(user));
    await this.usageBytes.set(user, total);
    return total;
  }

  private async addUsage(user: string, before: number, delta: number): Promise<void> {
    if (delta !== 0) await this.usageBytes.set(user, Math.max(0, before + delta));
  }

  /** The user's usage were `putItem(user, node, {id: itemId, payload of payloadBytes}, maxItems)` done now; writes nothing. */
  async usageAfterPut(
    user: string,
    node: string,
    itemId: string,
    payloadBytes: number,
    maxItems: number,
  ): Promise<number> {
    const id = archiveId(node, itemId);
    const same = await this.items.find(user, { ids: [id] });
    const count = await this.items.count(user, { with: node });
    let freed = bytesOf(same);
    const excess = count - same.length + 1 - maxItems;
    if (excess > 0) {
      const oldest = await this.items.find(user, { with: node, limit: excess + same.length });
      freed += bytesOf(oldest.filter((r) => r.id !== id).slice(0, excess));
    }
    return (await this.usage(user)) - freed + payloadBytes;
  }

  async node(user: string, node: string): Promise<PubsubNode | undefined> {
    return (await this.nodes.get(user, node)) as unknown as PubsubNode | undefined;
  }

  async allNodes(user: string): Promise<Map<string, PubsubNode>> {
    return (await this.nodes.getAll(user)) as unknown as Map<string, PubsubNode>;
  }

  async nodeCount(user: string): Promise<number> {
    return this.nodes.count(user);
  }

  async putNode(user: string, node: string, value: PubsubNode): Promise<void> {
    await this.nodes.set(user, node, value as unknown as Json);
  }

  /** Deletes a node and all its items. */
  async deleteNode(user: string, node: string): Promise<void> {
    const before = await this.usage(user);
    const freed = bytesOf(await this.items.find(user, { with: node }));
    await this.items.delete(user, { with: node });
    await this.nodes.delete(user, node);
    await this.addUsage(user, before, -freed);
  }

  /**
   * Stores an item, replacing one with the same id (XEP-0060 §7.1.3: re-publication overwrites, and it becomes
   * the newest), then trims the node to `maxItems`, oldest first. Returns the ids trimmed away.
   */
  async putItem(user: string, node: string, item: Omit<PubsubItem, "when">, maxItems: number): Promise<string[]> {
    const id = archiveId(node, item.id);
    const before = await this.usage(user);
    const replaced = bytesOf(await this.items.find(user, { ids: [id] }));
    await this.items.delete(user, { ids: [id] });
    const value: StoredItemValue = { id: item.id, payload: item.payload, publisher: item.publisher };
    await this.items.append(user, { id, with: node, value: value as unknown as Json });
    const trimmed = await this.trimRows(user, node, maxItems);
    await this.addUsage(user, before, Buffer.byteLength(item.payload) - replaced - bytesOf(trimmed));
    return trimmed.map((o) => (o.value as unknown as StoredItemValue).id);
  }

  /** Items of a node, oldest first: all, the newest `max`, or those with the given ids. */
  async getItems(user: string, node: string, opts: { ids?: string[]; max?: number } = {}): Promise<PubsubItem[]> {
    const rows = await this.items.find(user, {
      with: node,
      ...(opts.ids ? { ids: opts.ids.map((i) => archiveId(node, i)) } : {}),
      ...(opts.max !== undefined ? { limit: opts.max, reverse: true } : {}),
    });
    return rows.map((r) => {
      const v = r.value as unknown as StoredItemValue;
      return { id: v.id, payload: v.payload, publisher: v.publisher, when: r.when };
    });
  }

  async lastItem(user: string, node: string): Promise<PubsubItem | undefined> {
    return (await this.getItems(user, node, { max: 1 }))[0];
  }

  /** Deletes one item; false when there was none. */
  async deleteItem(user: string, node: string, id: string): Promise<boolean> {
    const before = await this.usage(user);
    const query = { with: node, ids: [archiveId(node, id)] };
    const freed = bytesOf(await this.items.find(user, query));
    const deleted = (await this.items.delete(user, query)) > 0;
    if (deleted) await this.addUsage(user, before, -freed);
    return deleted;
  }

  /** Trims a node to its newest `maxItems`; returns the item ids deleted. */
  async trim(user: string, node: string, maxItems: number): Promise<string[]> {
    const before = await this.usage(user);
    const old = await this.trimRows(user, node, maxItems);
    await this.addUsage(user, before, -bytesOf(old));
    return old.map((o) => (o.value as unknown as StoredItemValue).id);
  }

  /** Deletes the node's items beyond its newest `maxItems` (usage left to the caller); returns them. */
  private async trimRows(user: string, node: string, maxItems: number): Promise<ArchiveItem[]> {
    const count = await this.items.count(user, { with: node });
    if (count <= maxItems) return [];
    const old = await this.items.find(user, { with: node, limit: count - maxItems });
    await this.items.delete(user, { ids: old.map((o) => o.id) });
    return old;
  }
}
