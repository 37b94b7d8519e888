// How much inbound work one turn of the event loop may do, over every connection together. With thousands of
// connections ready at once, one poll phase would otherwise handle every stanza it read before timers run
// again (keepalives, timeouts, the metrics' loop-delay timer): the loop stalled for 100+ ms under 10,000
// messages in flight. A consumer takes a unit per stanza; once the turn's units or milliseconds are spent it
// waits (`waitTurn`), and the waiters are called back at the start of the next turn (setImmediate, the check
// phase after this poll), first come first served, before anything read in that turn's poll phase.
// The event loop is the process's, so the budget is too (one shared instance, like the loop it measures).

/** Called back when a new turn begins; it then takes units again, and waits again when they run out. */
export interface TurnWaiter {
  turnCame(): void;
}

export interface TurnBudgetLimits {
  /** Units (stanzas) per turn; 0 = no budget. */
  units: number;
  /** Milliseconds of work per turn, from its first unit on; 0 = no time limit. */
  ms: number;
}

/** Every this many units the clock is read (performance.now() per stanza would cost more than the check saves). */
const CLOCK_EVERY = 8;

export class TurnBudget {
  private used = 0;
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
    if (units === 0) return true;
    if (!this.scheduled) {
      this.scheduled = true;
      this.startedAt = performance.now();
      setImmediate(newTurn, this);
    }
    if (this.used >= units) return false;
    this.used++;
    if (ms > 0 && this.used % CLOCK_EVERY === 0 && performance.now() - this.startedAt >= ms) this.used = units;
    return true;
  }

  /** True when nothing may be taken until the next turn. */
  get spent(): boolean {
    return this.scheduled && this.used >= this.limits.units && this.limits.units > 0;
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
    const waiting = this.waiting;
    if (waiting.length === 0) return;
    this.waiting = [];
    let i = 0;
    while (i < waiting.length && !this.spent) (waiting[i++] as TurnWaiter).turnCame();
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

function newTurn(budget: TurnBudget): void {
  budget.newTurn();
}
