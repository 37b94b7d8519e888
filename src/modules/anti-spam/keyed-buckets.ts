// Token buckets by key (an account, a remote domain), bounded: at most `capacity` keys are remembered, the least
// recently used forgotten first. A reload builds new ones.
import { LruMap } from "../../core/lru-map.js";
import { TokenBucket } from "../../core/token-bucket.js";

export interface RateSpec {
  /** Tokens a minute. */
  perMinute: number;
  /** Tokens at once. */
  burst: number;
}

export class KeyedBuckets {
  private readonly buckets: LruMap<string, TokenBucket>;

  constructor(
    private readonly spec: RateSpec,
    capacity: number,
  ) {
    this.buckets = new LruMap(capacity);
  }

  /** Takes a token for `key`; false when its bucket is empty. A limit of 0 a minute means no limit. */
  take(key: string, now = Date.now()): boolean {
    if (this.spec.perMinute <= 0) return true;
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = new TokenBucket(this.spec.perMinute / 60, this.spec.burst, now);
      this.buckets.set(key, bucket);
    }
    return bucket.take(now);
  }

  /** Seconds until `key` may send again (0: now). */
  retryAfter(key: string, now = Date.now()): number {
    const bucket = this.buckets.get(key);
    return bucket ? Math.ceil(bucket.msUntilToken(now) / 1000) : 0;
  }

  get size(): number {
    return this.buckets.size;
  }
}
