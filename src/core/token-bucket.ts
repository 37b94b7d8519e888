// A token bucket: `rate` tokens a second refill it up to `burst`. Taking may run it into debt, because what
// is measured (bytes read, stanzas parsed) has already arrived; the debt says how long to wait before
// taking more keeps the average at `rate`. A few arithmetic operations per call: it sits on the read path.

export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.last = now;
  }

  /** Takes `n` tokens at time `now` (ms); returns the ms until the bucket is out of debt (0: none owed). */
  take(n: number, now: number): number {
    let tokens = this.tokens + ((now - this.last) * this.rate) / 1000;
    if (tokens > this.burst) tokens = this.burst;
    tokens -= n;
    this.tokens = tokens;
    this.last = now;
    return tokens >= 0 ? 0 : (-tokens * 1000) / this.rate;
  }
}
