// How much inbound work one turn of the event loop may do, over every connection together. With thousands of
// connections ready at once, one poll phase would otherwise handle every stanza it read before timers run
// again (keepalives, timeouts, the metrics' loop-delay timer): the loop stalled for 100+ ms under 10,000
// messages in flight. A consumer takes a unit per stanza; once the turn's units or milliseconds are spent it
// waits (`waitTurn`), and the waiters are called back at the start of the next turn (setImmediate, the check
// phase after this poll), first come first served, one after another, before anything read in that turn's
// poll phase. The default is a budget in milliseconds only: a turn still handles thousands of stanzas, so a
// connection's input is read, and its output written, many stanzas per system call.
// The event loop is the process's, so the budget is too (one shared instance, like the loop it measures).

/** Called back when a new turn begins; it then takes units again, and waits again when they run out. */
export interface TurnWaiter {
  turnCame(): void;
}

export interface TurnBudgetLimits {
  /** Units (stanzas) per turn; 0 = no limit by count. */
  units: number;
  /** Milliseconds of work per turn, from its first unit on; 0 = no time limit. Both 0 = no budget. */
  ms: number;
}

/** Every this many units the clock is read (performance.now() per stanza would cost more than the check saves). */
const CLOCK_EVERY = 8;

export class TurnBudget {
  private used = 0;
  /** Nothing more may be taken this turn. */
  private exhausted = false;
  private startedAt = 0;
  /** A new turn is scheduled (setImmediate): the budget is in use this turn. */
  private scheduled = false;
  private waiting: TurnWaiter[] = [];

  constructor(private limits: TurnBudgetLimits) {}

  configure(limits: TurnBudgetLimits): void {
    this.limits = limits;
  }

  /** Takes one unit of this turn; false when the turn's budget is spent (then call waitTurn). */
  take(): boolean {
    const { units, ms } = this.limits;
    if (units === 0 && ms === 0) return true;
    if (!this.scheduled) {
      this.scheduled = true;
      this.startedAt = performance.now();
      setImmediate(newTurn, this);
    }
    if (this.exhausted) return false;
    this.used++;
    if (units > 0 && this.used >= units) this.exhausted = true;
    else if (ms > 0 && this.used % CLOCK_EVERY === 0 && performance.now() - this.startedAt >= ms) this.exhausted = true;
    return true;
  }

  /** True when nothing may be taken until the next turn. */
  get spent(): boolean {
    return this.scheduled && this.exhausted;
  }

  /** `waiter.turnCame()` runs at the start of the next turn. */
  waitTurn(waiter: TurnWaiter): void {
    this.waiting.push(waiter);
  }

  /**
   * The next turn (the budget's own setImmediate): a full budget, and whoever waited goes first, in the order
   * they began to wait. Only as many as the budget lets start are called back; the rest keep their place at the
   * head of the line (calling back thousands of waiters to find the budget spent again cost more than the work).
   */
  newTurn(): void {
    this.scheduled = false;
    this.used = 0;
    this.exhausted = false;
    const waiting = this.waiting;
    if (waiting.length === 0) return;
    this.waiting = [];
    this.resume(waiting, 0);
  }

  /**
   * Calls back waiting[i], then the next one once everything the first could do without waiting for I/O is done
   * (a microtask queued now schedules a tick, and ticks run when the microtask queue is empty): one stream's
   * backlog is handled together and its replies leave together. Calling every waiter back at once interleaved
   * their handlers one stanza each, so a spent budget split every stream's batch and writes stopped batching.
   */
  resume(waiting: TurnWaiter[], i: number): void {
    if (i < waiting.length && !this.spent) {
      (waiting[i] as TurnWaiter).turnCame();
      queueMicrotask(() => process.nextTick(resumeNext, this, waiting, i + 1));
      return;
    }
    if (i < waiting.length) {
      const rest = waiting.slice(i);
      for (const w of this.waiting) rest.push(w);
      this.waiting = rest;
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(newTurn, this);
      }
    }
  }
}

function resumeNext(budget: TurnBudget, waiting: TurnWaiter[], i: number): void {
  budget.resume(waiting, i);
}

function newTurn(budget: TurnBudget): void {
  budget.newTurn();
}
