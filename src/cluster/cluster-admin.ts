// Cluster-wide administration (issue 16, docs/cluster.md "Administration"): each node answers for its own
// sessions and status; asking the whole cluster sends the question to every other live node's inbox and waits
// for their answers up to a timeout, so a slow or dying node costs the admin at most that long and is named in
// `unanswered` rather than silently left out. Nothing is kept beyond the questions in flight (bounded).
import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import type {
  ClusterRooms,
  ClusterSessions,
  ClusterStatus,
  JidText,
  RoomSummary,
  ServerStatus,
  SessionSummary,
} from "../admin/types.js";
import type { ClusterBus, ClusterMessage, InboxDelivery } from "./types.js";

const QUERY = "admin.query";
const REPLY = "admin.reply";

export interface ClusterAdminOptions {
  /** How long a cluster-wide question waits for the other nodes (`cluster.admin_timeout`). */
  timeoutMs: number;
  /** Cluster-wide questions in flight at once; more are refused (AdminBusyError). */
  maxPending: number;
}

/** What one node answers for itself. */
export interface LocalAdmin {
  status(): ServerStatus;
  sessions(jid?: JidText): SessionSummary[];
  /** The MUC rooms this node holds, of one service domain or all. */
  rooms(domain?: string): RoomSummary[];
}

export class ClusterAdminBusyError extends Error {}

interface Pending {
  expected: Set<string>;
  answers: Map<string, unknown>;
  done: () => void;
}

export class ClusterAdmin {
  private readonly pending = new Map<string, Pending>();
  private readonly removers: (() => void)[];

  constructor(
    private readonly bus: ClusterBus,
    private readonly local: LocalAdmin,
    private readonly options: ClusterAdminOptions,
    private readonly log: Logger,
  ) {
    this.removers = [
      bus.onMessage(QUERY, (m, d) => this.answer(m, d)),
      bus.onMessage(REPLY, (m, d) => this.collect(m, d)),
    ];
  }

  close(): void {
    for (const remove of this.removers) remove();
    for (const p of this.pending.values()) p.done();
  }

  async status(): Promise<ClusterStatus> {
    const { answers, unanswered } = await this.ask({ what: "status" });
    const nodes = [
      { ...this.local.status(), node: this.bus.nodeId },
      ...[...answers].map(([node, status]) => ({ ...(status as ServerStatus), node })),
    ];
    return {
      nodes,
      unanswered,
      sessions: nodes.reduce((n, s) => n + s.sessions.total, 0),
      rooms: nodes.reduce((n, s) => n + s.rooms, 0),
      occupants: nodes.reduce((n, s) => n + s.occupants, 0),
    };
  }

  async sessions(jid?: JidText): Promise<ClusterSessions> {
    const { answers, unanswered } = await this.ask(
      jid === undefined ? { what: "sessions" } : { what: "sessions", jid },
    );
    const sessions = this.local.sessions(jid).map((s) => ({ ...s, node: this.bus.nodeId }));
    for (const [node, list] of answers) for (const s of list as SessionSummary[]) sessions.push({ ...s, node });
    return { sessions, unanswered };
  }

  async rooms(domain?: string): Promise<ClusterRooms> {
    const { answers, unanswered } = await this.ask(
      domain === undefined ? { what: "rooms" } : { what: "rooms", jid: domain },
    );
    const rooms = this.local.rooms(domain).map((r) => ({ ...r, node: this.bus.nodeId }));
    for (const [node, list] of answers) for (const r of list as RoomSummary[]) rooms.push({ ...r, node });
    return { rooms, unanswered };
  }

  /** Sends the question to every other live node; resolves when all answered or the timeout passed. */
  private async ask(question: {
    what: string;
    jid?: string;
  }): Promise<{ answers: Map<string, unknown>; unanswered: string[] }> {
    const others = this.bus.liveNodes().filter((n) => n !== this.bus.nodeId);
    if (others.length === 0) return { answers: new Map(), unanswered: [] };
    if (this.pending.size >= this.options.maxPending)
      throw new ClusterAdminBusyError("too many cluster-wide questions at once");
    const id = randomBytes(9).toString("base64url");
    const answers = new Map<string, unknown>();
    let timer: NodeJS.Timeout | undefined;
    const finished = new Promise<void>((resolve) => {
      this.pending.set(id, { expected: new Set(others), answers, done: resolve });
      timer = setTimeout(resolve, this.options.timeoutMs);
    });
    try {
      await Promise.all(
        others.map((node) =>
          this.bus.send(node, { kind: QUERY, id, ...question }).catch((err: unknown) => {
            this.log.warn({ err, node }, "cluster admin question not sent");
          }),
        ),
      );
      await finished;
    } finally {
      clearTimeout(timer);
      this.pending.delete(id);
    }
    return { answers, unanswered: others.filter((n) => !answers.has(n)) };
  }

  private async answer(message: ClusterMessage, delivery: InboxDelivery): Promise<void> {
    // Meant for a node that died before reading it: its sessions are gone, and this node's are not what was asked.
    if (delivery.reclaimedFrom !== undefined) return;
    const { id, what, jid } = message;
    if (typeof id !== "string" || (what !== "status" && what !== "sessions" && what !== "rooms")) {
      this.log.warn({ from: delivery.from }, "malformed admin.query ignored");
      return;
    }
    let body: unknown;
    try {
      const about = typeof jid === "string" ? jid : undefined;
      body =
        what === "status"
          ? this.local.status()
          : what === "rooms"
            ? this.local.rooms(about)
            : this.local.sessions(about);
    } catch (err) {
      this.log.warn({ err, from: delivery.from }, "admin.query not answered");
      return;
    }
    await this.bus.send(delivery.from, { kind: REPLY, id, body: body as never });
  }

  private collect(message: ClusterMessage, delivery: InboxDelivery): void {
    if (delivery.reclaimedFrom !== undefined) return; // for a requester that died: nobody waits
    const p = typeof message.id === "string" ? this.pending.get(message.id) : undefined;
    if (!p?.expected.has(delivery.from)) return; // late (after the timeout) or unasked
    p.answers.set(delivery.from, message.body);
    if (p.answers.size === p.expected.size) p.done();
  }
}
