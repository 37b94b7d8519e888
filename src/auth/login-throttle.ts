// Slows down password guessing: after too many failed logins within a sliding window from one address, or
// against one account, further attempts must wait. Memory is bounded and no timer is used, so it never keeps the
// process alive and never grows without limit under a spray of addresses.
import { isIPv6 } from "node:net";

export interface ThrottleLimit {
  /** Failures allowed within the window; the next attempt waits. */
  attempts: number;
  windowSeconds: number;
}

export interface LoginThrottleOptions {
  perIp: ThrottleLimit;
  perAccount: ThrottleLimit;
  /** Most addresses (and, separately, accounts) remembered; the least recently failing are forgotten first. */
  maxEntries?: number;
  /** Clock in milliseconds (tests). */
  now?: () => number;
}

const DEFAULT_MAX_ENTRIES = 100_000;

export class LoginThrottle {
  private readonly perIp: FailureWindows;
  private readonly perAccount: FailureWindows;
  private readonly now: () => number;

  constructor(options: LoginThrottleOptions) {
    const maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) throw new RangeError(`invalid maxEntries ${maxEntries}`);
    this.perIp = new FailureWindows("perIp", options.perIp, maxEntries);
    this.perAccount = new FailureWindows("perAccount", options.perAccount, maxEntries);
    this.now = options.now ?? Date.now;
  }

  /**
   * Seconds the client must wait before trying again, 0 when it may try now. `account` (e.g. "user@host") may be
   * undefined before the client has named one; then only the address is checked.
   */
  retryAfter(ip: string, account: string | undefined): number {
    const now = this.now();
    const waitMs = Math.max(
      this.perIp.waitMs(ipKey(ip), now),
      account === undefined ? 0 : this.perAccount.waitMs(account, now),
    );
    return Math.ceil(waitMs / 1000);
  }

  recordFailure(ip: string, account: string | undefined): void {
    const now = this.now();
    this.perIp.record(ipKey(ip), now);
    if (account !== undefined) this.perAccount.record(account, now);
  }

  /**
   * Clears the account's failures only. Clearing the address too would let an attacker who owns one account reset
   * the address counter between guesses at others.
   */
  recordSuccess(_ip: string, account: string | undefined): void {
    if (account !== undefined) this.perAccount.clear(account);
  }
}

/** Failure times per key, for one limit. */
class FailureWindows {
  /** Ascending failure times (ms), at most `attempts` per key. Map order = least recently failing first. */
  private readonly failures = new Map<string, number[]>();
  private readonly windowMs: number;
  private readonly attempts: number;

  constructor(
    name: string,
    limit: ThrottleLimit,
    private readonly maxEntries: number,
  ) {
    // 0 turns this throttle off (config: `attempts: 0`).
    if (!Number.isSafeInteger(limit.attempts) || limit.attempts < 0) {
      throw new RangeError(`${name}.attempts must be a whole number, 0 for off`);
    }
    if (!(limit.windowSeconds > 0)) throw new RangeError(`${name}.windowSeconds must be positive`);
    this.attempts = limit.attempts;
    this.windowMs = limit.windowSeconds * 1000;
  }

  /** Sliding window: blocked while `attempts` failures lie within the window; free when the oldest leaves it. */
  waitMs(key: string, now: number): number {
    if (this.attempts === 0) return 0;
    const times = this.recent(key, now);
    if (times === undefined || times.length < this.attempts) return 0;
    return (times[0] as number) + this.windowMs - now;
  }

  record(key: string, now: number): void {
    if (this.attempts === 0) return;
    const times = this.recent(key, now) ?? [];
    times.push(now);
    // Only the last `attempts` failures can decide a wait, so older ones need not be kept.
    if (times.length > this.attempts) times.shift();
    this.failures.delete(key); // re-insert: moves the key to the most-recent end of the Map's order
    this.failures.set(key, times);
    this.sweep(now);
  }

  clear(key: string): void {
    this.failures.delete(key);
  }

  /** The key's failures still inside the window; forgets the key when none are. */
  private recent(key: string, now: number): number[] | undefined {
    const times = this.failures.get(key);
    if (times === undefined) return undefined;
    while (times.length > 0 && (times[0] as number) <= now - this.windowMs) times.shift();
    if (times.length === 0) {
      this.failures.delete(key);
      return undefined;
    }
    return times;
  }

  /** Drops a few expired entries from the old end on every write (no timer), then enforces the size cap. */
  private sweep(now: number): void {
    let checked = 0;
    for (const [key, times] of this.failures) {
      if (checked++ >= 2) break;
      const newest = times[times.length - 1];
      if (newest === undefined || newest <= now - this.windowMs) this.failures.delete(key);
    }
    while (this.failures.size > this.maxEntries) {
      const oldest = this.failures.keys().next().value as string;
      this.failures.delete(oldest);
    }
  }
}

/**
 * The key an address is counted under. IPv6 users usually hold a whole /64 (RFC 6177), so counting single IPv6
 * addresses would give an attacker 2^64 fresh counters; IPv4-mapped IPv6 addresses count as their IPv4 address.
 */
export function ipKey(ip: string): string {
  const address = ip.toLowerCase().replace(/%.*$/, ""); // zone index (fe80::1%eth0)
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(address);
  if (mapped) return mapped[1] as string;
  if (!isIPv6(address)) return address;
  const [head = "", tail] = address.split("::");
  const headGroups = head === "" ? [] : head.split(":");
  const tailGroups = tail === undefined || tail === "" ? [] : tail.split(":");
  const missing = 8 - headGroups.length - tailGroups.length - (address.includes(".") ? 1 : 0);
  const groups = [...headGroups, ...Array<string>(Math.max(missing, 0)).fill("0"), ...tailGroups];
  return `${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g, 16).toString(16))
    .join(":")}::/64`;
}
