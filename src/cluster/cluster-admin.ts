// Cluster-wide administration (issue 16, docs/cluster.md "Administration"): each node answers for its own
// sessions and status; asking the whole cluster sends the question to every other live node's inbox and waits
// for their answers up to a timeout, so a slow or dying node costs the admin at most that long and is named in
// `unanswered` rather than silently left out. Nothing is kept beyond the questions in flight (bounded).
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
import { ClusterQuestion } from "./cluster-question.js";
import type { ClusterBus } from "./types.js";

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

export { ClusterQuestionBusyError as ClusterAdminBusyError } from "./cluster-question.js";

export class ClusterAdmin {
  private readonly question: ClusterQuestion;
  private readonly nodeId: string;

  constructor(
    bus: ClusterBus,
    private readonly local: LocalAdmin,
    options: ClusterAdminOptions,
    log: Logger,
  ) {
    this.question = new ClusterQuestion(bus, "admin", (q) => this.answer(q), options, log);
    this.nodeId = bus.nodeId;
  }

  close(): void {
    this.question.close();
  }

  async status(): Promise<ClusterStatus> {
    const { answers, unanswered } = await this.question.ask({ what: "status" });
    const nodes = [
      { ...this.local.status(), node: this.nodeId },
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
    const { answers, unanswered } = await this.question.ask({ what: "sessions", jid });
    const sessions = this.local.sessions(jid).map((s) => ({ ...s, node: this.nodeId }));
    for (const [node, list] of answers) for (const s of list as SessionSummary[]) sessions.push({ ...s, node });
    return { sessions, unanswered };
  }

  async rooms(domain?: string): Promise<ClusterRooms> {
    const { answers, unanswered } = await this.question.ask({ what: "rooms", jid: domain });
    const rooms = this.local.rooms(domain).map((r) => ({ ...r, node: this.nodeId }));
    for (const [node, list] of answers) for (const r of list as RoomSummary[]) rooms.push({ ...r, node });
    return { rooms, unanswered };
  }

  /** This node's answer; undefined (no answer) for a question it does not know. */
  private answer({ what, jid }: { what?: string; jid?: string }): unknown {
    if (what === "status") return this.local.status();
    if (what === "sessions") return this.local.sessions(jid);
    if (what === "rooms") return this.local.rooms(jid);
    return undefined;
  }
}
