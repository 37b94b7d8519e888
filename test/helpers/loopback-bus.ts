// An in-process ClusterBus network for unit tests of what builds on the bus (store invalidation, MUC placement):
// same contract as the Redis bus (src/cluster/types.ts), delivered on the next turn of the event loop, with
// `kill` (a node's heartbeat expiring: the others get "down", one of them as leader) and `resync`.
import type { BroadcastHandler, ClusterBus, ClusterMessage, InboxHandler } from "../../src/cluster/types.js";

type MembershipHandler = (event: { node: string; change: "up" | "down"; leader: boolean }) => void;

export class LoopbackNetwork {
  readonly buses = new Map<string, LoopbackBus>();

  node(id: string): LoopbackBus {
    const bus = new LoopbackBus(id, this);
    this.buses.set(id, bus);
    for (const other of this.buses.values()) if (other !== bus) other.membership(id, "up", false);
    return bus;
  }

  liveNodes(): string[] {
    return [...this.buses.keys()].sort();
  }

  /** The node stops without a word; the others are told "down" (the first of them as leader). */
  kill(id: string): void {
    this.buses.delete(id);
    let leader = true;
    for (const other of this.buses.values()) {
      other.membership(id, "down", leader);
      leader = false;
    }
  }

  resync(id: string): Promise<void> {
    return this.buses.get(id)?.resync() ?? Promise.resolve();
  }
}

export class LoopbackBus implements ClusterBus {
  readonly connected = true;
  /** Every message broadcast or sent by this node, for assertions. */
  readonly sent: ClusterMessage[] = [];
  private readonly inbox = new Map<string, InboxHandler>();
  private readonly broadcasts = new Map<string, Set<BroadcastHandler>>();
  private readonly members = new Set<MembershipHandler>();
  private readonly resyncs = new Set<() => void | Promise<void>>();

  constructor(
    readonly nodeId: string,
    private readonly network: LoopbackNetwork,
  ) {}

  liveNodes(): readonly string[] {
    return this.network.liveNodes();
  }

  async send(node: string, message: ClusterMessage): Promise<void> {
    this.sent.push(message);
    const copy = JSON.parse(JSON.stringify(message)) as ClusterMessage;
    setImmediate(() => void this.network.buses.get(node)?.receive(copy, this.nodeId));
  }

  onMessage(kind: string, handler: InboxHandler): () => void {
    this.inbox.set(kind, handler);
    return () => this.inbox.delete(kind);
  }

  broadcast(message: ClusterMessage): void {
    this.sent.push(message);
    const copy = JSON.parse(JSON.stringify(message)) as ClusterMessage;
    setImmediate(() => {
      for (const bus of this.network.buses.values()) {
        if (bus === this) continue;
        for (const h of bus.broadcasts.get(copy.kind) ?? []) h(copy, this.nodeId);
      }
    });
  }

  onBroadcast(kind: string, handler: BroadcastHandler): () => void {
    let set = this.broadcasts.get(kind);
    if (!set) {
      set = new Set();
      this.broadcasts.set(kind, set);
    }
    set.add(handler);
    return () => set.delete(handler);
  }

  onMembership(handler: MembershipHandler): () => void {
    this.members.add(handler);
    return () => this.members.delete(handler);
  }

  onResync(handler: () => void | Promise<void>): () => void {
    this.resyncs.add(handler);
    return () => this.resyncs.delete(handler);
  }

  async close(): Promise<void> {
    if (this.network.buses.get(this.nodeId) !== this) return;
    this.network.buses.delete(this.nodeId);
    for (const other of this.network.buses.values()) other.membership(this.nodeId, "down", false);
  }

  membership(node: string, change: "up" | "down", leader: boolean): void {
    for (const h of this.members) h({ node, change, leader });
  }

  async resync(): Promise<void> {
    for (const h of this.resyncs) await h();
  }

  private async receive(message: ClusterMessage, from: string): Promise<void> {
    await this.inbox.get(message.kind)?.(message, { from });
  }
}
