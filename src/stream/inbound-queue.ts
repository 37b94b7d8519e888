// The elements a peer sends on one stream, handled one at a time in arrival order; reading pauses while too
// many wait (flood control without dropping anything), and an element over its sender's stanza rate waits
// its turn (input-throttle.ts). Every stream kind (c2s, s2s, component) uses it.
import { setTimeout as sleep } from "node:timers/promises";
import type { Element } from "../core/xml/element.js";

/** Elements waiting before reading pauses (default); it resumes once half of them are handled. */
export const MAX_QUEUED = 64;

export interface InboundQueueOwner {
  /** The stream is closed: queued elements are dropped. */
  queueClosed(): boolean;
  handleQueued(el: Element): Promise<void>;
  /** A handler threw: the stream ends (internal-server-error). */
  queueFailed(err: unknown): void;
  pauseQueue(): void;
  resumeQueue(): void;
}

export class InboundQueue {
  private tail: Promise<void> = Promise.resolve();
  private queued = 0;
  private paused = false;
  /** Bumped by discardPending(): elements pushed under an older generation are dropped unhandled. */
  private generation = 0;

  constructor(
    private readonly owner: InboundQueueOwner,
    private readonly maxQueued = MAX_QUEUED,
  ) {}

  /**
   * Drops every element pushed so far and not yet handled. Called on a stream restart (STARTTLS, SASL success):
   * RFC 6120 §5.4.3.3 / §6.4.6 — nothing the peer sent on the old stream may act on the new one (a plaintext
   * <auth/> injected behind <starttls/> in the same TCP segment would otherwise run inside TLS).
   */
  discardPending(): void {
    this.generation++;
  }

  /** Queues an element; `notBefore` (a performance.now() time) delays its handling (stanza rate limit). */
  push(el: Element, notBefore = 0): void {
    const owner = this.owner;
    if (owner.queueClosed()) return;
    this.queued++;
    if (this.queued > this.maxQueued && !this.paused) {
      this.paused = true;
      owner.pauseQueue();
    }
    const generation = this.generation;
    this.tail = this.tail.then(async () => {
      try {
        if (notBefore > 0 && !owner.queueClosed()) {
          const wait = notBefore - performance.now();
          if (wait > 0) await sleep(wait, undefined, { ref: false });
        }
        if (!owner.queueClosed() && generation === this.generation) await owner.handleQueued(el);
      } catch (err) {
        owner.queueFailed(err);
      } finally {
        this.queued--;
        if (this.paused && this.queued < this.maxQueued / 2) {
          this.paused = false;
          owner.resumeQueue();
        }
      }
    });
  }
}
