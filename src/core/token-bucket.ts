// A token bucket: `rate` tokens a second refill it up to `burst`. One implementation for every rate limit:
// MUC senders refuse what finds the bucket empty (`take`); connection input, already read when it is counted,
// runs the bucket into debt and waits it off (`drain`). A few arithmetic operations per call: it sits on the
// read path. Times are milliseconds; a clock that goes backwards grants nothing, now or later.
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private rate: number,
    private burst: number,
    now = Date.now(),
  ) {
    this.tokens = burst;
    this.last = now;
  }

  private refill(now: number): void {
    if (now <= this.last) return;
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.rate) / 1000);
    this.last = now;
  }

  /** Takes one token; false (nothing taken) when the bucket is empty. */
  take(now = Date.now()): boolean {
    this.refill(now);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Takes `n` tokens even into debt; returns the ms until the bucket is out of debt (0: none owed). */
  drain(n: number, now: number): number {
    this.refill(now);
    this.tokens -= n;
    return this.tokens >= 0 ? 0 : (-this.tokens * 1000) / this.rate;
  }

  /** Milliseconds until a token is there (0: now). */
  msUntilToken(now = Date.now()): number {
    this.refill(now);
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) / this.rate) * 1000);
  }

  /**
   * New limits from now on (a reload changed them): what refilled until now counts at the old rate, and a lower
   * burst caps what is there; a higher one grants nothing at once, it only lets the bucket fill further.
   */
  setLimits(rate: number, burst: number, now = Date.now()): void {
    this.refill(now);
    this.rate = rate;
    this.burst = burst;
    this.tokens = Math.min(this.tokens, burst);
  }

  /** True when the bucket has refilled completely: forgetting it changes nothing. */
  isFull(now = Date.now()): boolean {
    this.refill(now);
    return this.tokens >= this.burst;
  }
}
