// Whether the server can take traffic (/readyz): its listeners are up (it is neither starting nor stopping) and
// storage answers a trivial query in time. Probes arriving together share one query, so a load balancer (or
// anyone: the endpoint is open) asking often costs the database at most one read at a time.
import type { Logger } from "pino";

export type ServerPhase = "starting" | "ready" | "stopping";

export interface ReadinessAnswer {
  ready: boolean;
  /** Why not, for the response body and the log. */
  reason?: string;
}

export class Readiness {
  phase: ServerPhase = "starting";
  private probe: Promise<ReadinessAnswer> | undefined;
  /** The storage answered the last probe; a change is logged once, not at every probe. */
  private storageOk = true;

  constructor(
    /** A trivial storage query. */
    private readonly checkStorage: () => Promise<unknown>,
    private readonly timeoutMs: number,
    private readonly log: Logger,
  ) {}

  async check(): Promise<ReadinessAnswer> {
    if (this.phase !== "ready") return { ready: false, reason: this.phase };
    this.probe ??= this.probeStorage().finally(() => {
      this.probe = undefined;
    });
    const answer = await this.probe;
    // The server may have begun stopping while storage was asked.
    return this.phase === "ready" ? answer : { ready: false, reason: this.phase };
  }

  private async probeStorage(): Promise<ReadinessAnswer> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), this.timeoutMs);
    });
    let answer: ReadinessAnswer;
    try {
      const outcome = await Promise.race([this.checkStorage().then(() => "ok" as const), timeout]);
      answer =
        outcome === "ok"
          ? { ready: true }
          : { ready: false, reason: `storage did not answer within ${this.timeoutMs} ms` };
    } catch (err) {
      answer = { ready: false, reason: "storage failed" };
      if (this.storageOk) this.log.error({ err }, "readiness: the storage query failed");
    } finally {
      clearTimeout(timer);
    }
    if (answer.ready !== this.storageOk) {
      if (answer.ready) this.log.info("readiness: storage answers again");
      else if (answer.reason !== "storage failed")
        this.log.error({ reason: answer.reason }, "readiness: storage is not answering");
      this.storageOk = answer.ready;
    }
    return answer;
  }
}
