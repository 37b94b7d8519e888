// PEP data through the store interfaces:
// - "pep-nodes" (map): per user, keyed by node name: configuration, explicit subscriptions, affiliations;
// - "pep-items" (archive): per user, one entry per item, `with` = node name, archive id derived from
//   node + item id (so one item id per node, found by id in one indexed lookup). Archive order is publish
//   order: the last item is the newest entry of the node, and max_items trimming deletes the oldest.
// No cache: other modules (bookmarks, avatars) open the same stores through their own PepStore.
import { createHash } from "node:crypto";
import type { ModuleContext } from "../../core/modules.js";
import type { ArchiveStore, Json, MapStore } from "../../storage/types.js";
import type { PepItem } from "./codec.js";
import type { NodeConfig } from "./node-config.js";

export type Affiliation = "member" | "outcast";

export interface PepNode {
  config: NodeConfig;
  created: number;
  /** Explicit XEP-0060 §6.1 subscriptions: subscribed JID → subid. */
  subscribers: Record<string, string>;
  /** XEP-0060 §8.9 affiliations set by the owner (members pass the whitelist, outcasts are denied). */
  affiliations: Record<string, Affiliation>;
}

interface StoredItemValue {
  id: string;
  payload: string;
  publisher: string;
}

const archiveId = (node: string, id: string) => createHash("sha256").update(`${node}\0${id}`).digest("base64url").slice(0, 32);

export class PepStore {
  private readonly nodes: MapStore;
  private readonly items: ArchiveStore;

  constructor(ctx: Pick<ModuleContext<unknown>, "store">) {
    this.nodes = ctx.store("pep-nodes", "map");
    this.items = ctx.store("pep-items", "archive");
  }

  async node(user: string, node: string): Promise<PepNode | undefined> {
    return (await this.nodes.get(user, node)) as unknown as PepNode | undefined;
  }

  async allNodes(user: string): Promise<Map<string, PepNode>> {
    return (await this.nodes.getAll(user)) as unknown as Map<string, PepNode>;
  }

  async nodeCount(user: string): Promise<number> {
    return this.nodes.count(user);
  }

  async putNode(user: string, node: string, value: PepNode): Promise<void> {
    await this.nodes.set(user, node, value as unknown as Json);
  }

  /** Deletes a node and all its items. */
  async deleteNode(user: string, node: string): Promise<void> {
    await this.items.delete(user, { with: node });
    await this.nodes.delete(user, node);
  }

  /**
   * Stores an item, replacing one with the same id (XEP-0060 §7.1.3: re-publication overwrites, and it becomes
   * the newest), then trims the node to `maxItems`, oldest first. Returns the ids trimmed away.
   */
  async putItem(user: string, node: string, item: Omit<PepItem, "when">, maxItems: number): Promise<string[]> {
    const id = archiveId(node, item.id);
    await this.items.delete(user, { ids: [id] });
    const value: StoredItemValue = { id: item.id, payload: item.payload, publisher: item.publisher };
    await this.items.append(user, { id, with: node, value: value as unknown as Json });
    return this.trim(user, node, maxItems);
  }

  /** Items of a node, oldest first: all, the newest `max`, or those with the given ids. */
  async getItems(user: string, node: string, opts: { ids?: string[]; max?: number } = {}): Promise<PepItem[]> {
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

  async lastItem(user: string, node: string): Promise<PepItem | undefined> {
    return (await this.getItems(user, node, { max: 1 }))[0];
  }

  /** Deletes one item; false when there was none. */
  async deleteItem(user: string, node: string, id: string): Promise<boolean> {
    return (await this.items.delete(user, { with: node, ids: [archiveId(node, id)] })) > 0;
  }

  /** Trims a node to its newest `maxItems`; returns the item ids deleted. */
  async trim(user: string, node: string, maxItems: number): Promise<string[]> {
    const count = await this.items.count(user, { with: node });
    if (count <= maxItems) return [];
    const old = await this.items.find(user, { with: node, limit: count - maxItems });
    await this.items.delete(user, { ids: old.map((o) => o.id) });
    return old.map((o) => (o.value as unknown as StoredItemValue).id);
  }
}
