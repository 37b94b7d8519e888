// Per-connection input flow control, shared by c2s, s2s and component streams: reading stops while the
// peer is over its byte or stanza rate (token buckets) or while too many of its stanzas wait to be handled
// (InboundQueue), and starts again once every reason has passed. A flooder is throttled, not cut: the event
// loop simply stops reading its socket, TCP pushes back on the sender, and other connections are served.
// Only stanzas already read far beyond the rate (MAX_STANZA_BACKLOG_MS) end the stream.
import type { Logger } from "pino";
import { TokenBucket } from "../core/token-bucket.js";

/** Rates as configured (`*.rate_limit`); 0 = no limit. */
export interface RateLimitConfig {
  bytes_per_second: number;
  burst_bytes: number;
  stanzas_per_second: number;
  burst_stanzas: number;
}

/** Why reading is paused; reading resumes when none is left. */
const QUEUE = 1;
const RATE = 2;

/**
 * Stanzas already read but this far over the stanza rate mean gross abuse (a whole chunk of tiny stanzas far
 * beyond the burst): the stream is cut rather than made to hold them for longer.
 */
const MAX_STANZA_BACKLOG_MS = 10_000;

/** At most one "throttled" log line per connection this often. */
const LOG_EVERY_MS = 60_000;

interface Pausable {
  pause(): void;
  resume(): void;
}

export class InputThrottle {
  private bytes: TokenBucket | undefined;
  private stanzas: TokenBucket | undefined;
  private reasons = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private lastLog = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly conn: Pausable,
    limits: RateLimitConfig,
    /**
     * The stream, for its logger (read when a line is written: streams refine theirs after construction); the
     * object rather than a closure returning its logger, one less per connection (issue 13).
     */
    private readonly logOwner: { readonly log: Logger },
  ) {
    this.setLimits(limits);
  }

  /** New limits with full buckets (c2s: after authentication). */
  setLimits(limits: RateLimitConfig): void {
    const now = performance.now();
    this.bytes =
      limits.bytes_per_second > 0 ? new TokenBucket(limits.bytes_per_second, limits.burst_bytes, now) : undefined;
    this.stanzas =
      limits.stanzas_per_second > 0 ? new TokenBucket(limits.stanzas_per_second, limits.burst_stanzas, now) : undefined;
  }

  /** A chunk of `n` bytes was read. */
  received(n: number): void {
    if (this.bytes) this.over(this.bytes.drain(n, performance.now()), "bytes");
  }

  /**
   * A stanza (any top-level element) was parsed. Returns the performance.now() time before which it may not
   * be handled (0: at once; reading is paused meanwhile), or "cut" when the peer is grossly over its rate.
   */
  stanza(): number | "cut" {
    if (!this.stanzas) return 0;
    const now = performance.now();
    const wait = this.stanzas.drain(1, now);
    if (wait === 0) return 0;
    if (wait > MAX_STANZA_BACKLOG_MS) return "cut";
    this.over(wait, "stanzas");
    return now + wait;
  }

  private over(waitMs: number, what: string): void {
    if (waitMs === 0 || this.stopped) return;
    // Already waiting: the running timer is at least as far as a new one for the other bucket would
    // usually be; if not, the next chunk after it extends the pause again.
    if (this.timer) return;
    const now = performance.now();
    if (now - this.lastLog >= LOG_EVERY_MS) {
      this.lastLog = now;
      this.logOwner.log.info({ limit: what, pauseMs: Math.ceil(waitMs) }, "input rate limit reached; reading paused");
    }
    this.pause(RATE);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.resume(RATE);
    }, Math.ceil(waitMs));
  }

  /** InboundQueue back-pressure: too many stanzas wait to be handled. */
  pauseForQueue(): void {
    this.pause(QUEUE);
  }

  resumeForQueue(): void {
    this.resume(QUEUE);
  }

  private pause(reason: number): void {
    if (this.stopped) return;
    if (this.reasons === 0) this.conn.pause();
    this.reasons |= reason;
  }

  private resume(reason: number): void {
    if (this.stopped || (this.reasons & reason) === 0) return;
    this.reasons &= ~reason;
    if (this.reasons === 0) this.conn.resume();
  }

  /** The connection is closed: no more timers. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
