// Rate limits of one real bare JID in one room, kept beyond its visit: leaving and joining again must not
// refill them (that would make every limit a matter of rejoining). Entries that have refilled completely
// are forgotten, so the book holds only senders that were busy lately.
import type { MucOptions } from "./options.js";
import { TokenBucket } from "../../core/token-bucket.js";

export interface SenderLimits {
  /** Groupchat, private messages, subject changes and IQs relayed to occupants (message_rate). */
  message: TokenBucket;
  /** Joins, nick changes and presence updates (presence_rate). */
  presence: TokenBucket;
  /** Mediated invitations (invite_rate). */
  invite: TokenBucket;
  /** When the last voice request went to the moderators (ms; 0: never). */
  lastVoiceRequest: number;
}

export class SenderLimitBook {
  private readonly book = new Map<string, SenderLimits>();
  private options: MucOptions;
  /** Size at which the next sweep of idle entries runs. */
  private sweepAt = 64;

  constructor(options: MucOptions) {
    this.options = options;
  }

  of(bare: string, now = Date.now()): SenderLimits {
    let limits = this.book.get(bare);
    if (limits) return limits;
    if (this.book.size >= this.sweepAt) this.sweep(now);
    const o = this.options;
    limits = {
      message: new TokenBucket(o.message_rate.per_second, o.message_rate.burst, now),
      presence: new TokenBucket(o.presence_rate.per_second, o.presence_rate.burst, now),
      invite: new TokenBucket(o.invite_rate.per_second, o.invite_rate.burst, now),
      lastVoiceRequest: 0,
    };
    this.book.set(bare, limits);
    return limits;
  }

  /** New rates (a reload): every sender's buckets follow them, keeping what they have used. */
  applyOptions(options: MucOptions, now = Date.now()): void {
    this.options = options;
    for (const l of this.book.values()) {
      l.message.setLimits(options.message_rate.per_second, options.message_rate.burst, now);
      l.presence.setLimits(options.presence_rate.per_second, options.presence_rate.burst, now);
      l.invite.setLimits(options.invite_rate.per_second, options.invite_rate.burst, now);
    }
  }

  get size(): number {
    return this.book.size;
  }

  /** Forgets senders whose limits are all back to their start; runs again once the book has doubled. */
  private sweep(now: number): void {
    const voiceMs = this.options.voice_request_interval * 1000;
    for (const [bare, l] of this.book) {
      if (l.message.isFull(now) && l.presence.isFull(now) && l.invite.isFull(now) && now - l.lastVoiceRequest >= voiceMs) this.book.delete(bare);
    }
    this.sweepAt = Math.max(64, this.book.size * 2);
  }
}
