// A question to every other live cluster node (issue 16): sent to each node's inbox as `<kind>.query`, answered by
// that node's `answer` as `<kind>.reply`, gathered until all answered or the timeout passed. A slow or dying node
// costs the asker at most the timeout and is named in `unanswered` rather than silently left out. Questions in
// flight are bounded (`maxPending`); nothing is kept beyond them. Used by the cluster-wide admin questions
// (cluster-admin.ts) and the MUC service's room list (modules/muc/cluster-room-list.ts).
import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import type { ClusterBus, ClusterMessage, InboxDelivery } from "./types.js";

export interface ClusterQuestionOptions {
  /** How long a question waits for the other nodes. */
  timeoutMs: number;
  /** Questions in flight at once; more are refused (ClusterQuestionBusyError). */
  maxPending: number;
}

export class ClusterQuestionBusyError extends Error {}

export type Question = Record<string, string | undefined>;

interface Pending {
  expected: Set<string>;
  answers: Map<string, unknown>;
  done: () => void;
}

export class ClusterQuestion {
  private readonly pending = new Map<string, Pending>();
  private readonly removers: (() => void)[];
  private readonly query: string;
  private readonly reply: string;

  /** `answer` returns this node's answer, or undefined to say nothing (malformed or not for it). */
  constructor(
    private readonly bus: ClusterBus,
    kind: string,
    private readonly answer: (question: Question, from: string) => unknown,
    private readonly options: ClusterQuestionOptions,
    private readonly log: Logger,
  ) {
    this.query = `${kind}.query`;
    this.reply = `${kind}.reply`;
    this.removers = [
      bus.onMessage(this.query, (m, d) => this.answerQuery(m, d)),
      bus.onMessage(this.reply, (m, d) => this.collect(m, d)),
    ];
  }

  close(): void {
    for (const remove of this.removers) remove();
    for (const p of this.pending.values()) p.done();
  }

  /** Sends the question to every other live node; resolves when all answered or the timeout passed. */
  async ask(question: Question): Promise<{ answers: Map<string, unknown>; unanswered: string[] }> {
    const others = this.bus.liveNodes().filter((n) => n !== this.bus.nodeId);
    if (others.length === 0) return { answers: new Map(), unanswered: [] };
    if (this.pending.size >= this.options.maxPending)
      throw new ClusterQuestionBusyError("too many cluster-wide questions at once");
    const id = randomBytes(9).toString("base64url");
    const answers = new Map<string, unknown>();
    let timer: NodeJS.Timeout | undefined;
    const finished = new Promise<void>((resolve) => {
      this.pending.set(id, { expected: new Set(others), answers, done: resolve });
      timer = setTimeout(resolve, this.options.timeoutMs);
    });
    const fields: Record<string, string> = {};
    for (const [k, v] of Object.entries(question)) if (v !== undefined) fields[k] = v;
    try {
      await Promise.all(
        others.map((node) =>
          this.bus.send(node, { ...fields, kind: this.query, id }).catch((err: unknown) => {
            this.log.warn({ err, node, kind: this.query }, "cluster question not sent");
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

  private async answerQuery(message: ClusterMessage, delivery: InboxDelivery): Promise<void> {
    // Meant for a node that died before reading it: what this node holds is not what was asked.
    if (delivery.reclaimedFrom !== undefined) return;
    const { id, kind: _kind, ...rest } = message;
    if (typeof id !== "string") {
      this.log.warn({ from: delivery.from, kind: this.query }, "malformed cluster question ignored");
      return;
    }
    const question: Question = {};
    for (const [k, v] of Object.entries(rest)) if (typeof v === "string") question[k] = v;
    let body: unknown;
    try {
      body = this.answer(question, delivery.from);
    } catch (err) {
      this.log.warn({ err, from: delivery.from, kind: this.query }, "cluster question not answered");
      return;
    }
    if (body === undefined) return;
    await this.bus.send(delivery.from, { kind: this.reply, id, body: body as never });
  }

  private collect(message: ClusterMessage, delivery: InboxDelivery): void {
    if (delivery.reclaimedFrom !== undefined) return; // for an asker that died: nobody waits
    const p = typeof message.id === "string" ? this.pending.get(message.id) : undefined;
    if (!p?.expected.has(delivery.from)) return; // late (after the timeout) or unasked
    p.answers.set(delivery.from, message.body);
    if (p.answers.size === p.expected.size) p.done();
  }
}
