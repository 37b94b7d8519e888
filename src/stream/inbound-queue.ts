// The elements a peer sends on one stream, handled one at a time in arrival order; reading pauses while too
// many wait (flood control without dropping anything), an element over its sender's stanza rate waits its
// turn (input-throttle.ts), and every stream shares one budget per event-loop turn (core/turn-budget.ts): a
// queue that finds it spent goes on at the next turn, reading meanwhile (its backlog still pauses reading past
// maxQueued: memory stays bounded and TCP pushes back). Every stream kind (c2s, s2s,
// component) uses it. One drain loop per busy stream, not a promise chained per element: the message path
// passes here for every stanza.
import { setTimeout as sleep } from "node:timers/promises";
import { TurnBudget, type TurnBudgetLimits, type TurnWaiter } from "../core/turn-budget.js";
import type { Element } from "../core/xml/element.js";

/** Elements waiting before reading pauses (default); it resumes once half of them are handled. */
export const MAX_QUEUED = 64;

/**
 * Config `event_loop` defaults (docs/config.md): 10 ms of handling per turn, no limit by count. In the 1,000-pair
 * message benchmark the loop delay p99 fell from 90–290 ms to 33–41 ms for ~15–20 % more CPU per message
 * (bench/README.md); budgets by count (256 to 2,048 stanzas) had cost 2.5–3.5× the CPU per message.
 */
export const DEFAULT_TURN_BUDGET: TurnBudgetLimits = { units: 0, ms: 10 };

/** The process's inbound budget per event-loop turn; server start and reload configure it. */
export const inboundTurnBudget = new TurnBudget(DEFAULT_TURN_BUDGET);

/** Config `event_loop` (start and reload). */
export function configureInboundBudget(c: { stanzas_per_turn: number; handling_ms_per_turn: number }): void {
  inboundTurnBudget.configure({ units: c.stanzas_per_turn, ms: c.handling_ms_per_turn });
}

export interface InboundQueueOwner {
  /** The stream is closed: queued elements are dropped. */
  queueClosed(): boolean;
  handleQueued(el: Element): Promise<void>;
  /** A handler threw: the stream ends (internal-server-error). */
  queueFailed(err: unknown): void;
  pauseQueue(): void;
  resumeQueue(): void;
}

export class InboundQueue implements TurnWaiter {
  /** Elements not yet handled are items[head..]; both arrays are emptied whenever the queue drains. */
  private readonly items: (Element | undefined)[] = [];
  /** performance.now() before which items[i] may not be handled (0: at once). */
  private readonly notBefore: number[] = [];
  private head = 0;
  /** A drain loop owns the queue (handling, waiting for the rate limit, or for the next turn). */
  private running = false;
  private paused = false;

  constructor(
    private readonly owner: InboundQueueOwner,
    private readonly maxQueued = MAX_QUEUED,
    private readonly budget: TurnBudget = inboundTurnBudget,
  ) {}

  /**
   * Drops every element pushed so far and not yet handled. Called on a stream restart (STARTTLS, SASL success):
   * RFC 6120 §5.4.3.3 / §6.4.6 — nothing the peer sent on the old stream may act on the new one (a plaintext
   * <auth/> injected behind <starttls/> in the same TCP segment would otherwise run inside TLS).
   */
  discardPending(): void {
    for (let i = this.head; i < this.items.length; i++) this.items[i] = undefined;
    this.head = this.items.length;
    this.resumeIfLow();
  }

  /** Queues an element; `notBefore` (a performance.now() time) delays its handling (stanza rate limit). */
  push(el: Element, notBefore = 0): void {
    const owner = this.owner;
    if (owner.queueClosed()) return;
    this.items.push(el);
    this.notBefore.push(notBefore);
    if (this.items.length - this.head > this.maxQueued && !this.paused) {
      this.paused = true;
      owner.pauseQueue();
    }
    // Waiting for the next turn, input is still read and kept (up to maxQueued, above): pausing and resuming the
    // socket of every waiting stream cost more than the parsing it would have put off.
    // Handling starts after the parser is done with the chunk that held the element (a handler may restart
    // the stream and replace the parser), as it did when each element was a promise's continuation.
    if (!this.running) {
      this.running = true;
      // A closure per drain scheduled, not one kept per queue: an idle stream's queue holds none (issue 13).
      queueMicrotask(() => void this.drain());
    }
  }

  /** TurnWaiter: the next turn began; handling goes on. */
  turnCame(): void {
    void this.drain();
  }

  private async drain(): Promise<void> {
    const owner = this.owner;
    while (this.head < this.items.length) {
      if (owner.queueClosed()) break;
      const notBefore = this.notBefore[this.head] ?? 0;
      if (notBefore > 0) {
        const wait = notBefore - performance.now();
        if (wait > 0) {
          await sleep(wait, undefined, { ref: false });
          continue;
        }
      }
      if (!this.budget.take()) {
        // Still running: the budget calls turnCame at the next turn, and push() starts no second loop meanwhile.
        this.budget.waitTurn(this);
        return;
      }
      const el = this.items[this.head] as Element;
      this.items[this.head] = undefined;
      this.head++;
      try {
        await owner.handleQueued(el);
      } catch (err) {
        owner.queueFailed(err);
      }
      this.resumeIfLow();
    }
    this.items.length = 0;
    this.notBefore.length = 0;
    this.head = 0;
    this.running = false;
    this.resumeIfLow();
  }

  private resumeIfLow(): void {
    if (this.paused && this.items.length - this.head < this.maxQueued / 2) {
      this.paused = false;
      this.owner.resumeQueue();
    }
  }
}
