// Throttles password guessing without handing anyone a way to lock an owner out: failures are counted per
// address (an IPv6 /64) and per address+account; after a few, answers from that address are delayed (a delay
// that doubles, up to a cap), after more the address is refused whatever it sends. Failures against an account
// from all addresses together only ever slow its logins down, by at most a couple of seconds: a correct login
// from an address that has not been failing is never refused. Exempt addresses (a trusted proxy) are never
// delayed or refused for their own failures. Memory is bounded (FailureCounter) and no timer is kept.
import { createHash } from "node:crypto";
import { isIPv6 } from "node:net";
import { AddressList } from "../core/address-list.js";
import { FailureCounter } from "./failure-counter.js";

export interface ThrottleTier {
  /** Failures after which answers are delayed; 0 = never delay. */
  delayAfter: number;
  /** Failures after which the address is refused; 0 = never refuse. */
  attempts: number;
  /** Seconds over which `attempts` (or `delayAfter`) failures are forgotten. */
  windowSeconds: number;
}

export interface LoginThrottleOptions {
  /** One address (IPv6 /64), whatever account it tries. */
  perIp: ThrottleTier;
  /** One address against one account. */
  perIpAccount: ThrottleTier;
  /** One account from every address together: a slowdown only (`attempts` is not used), capped by `maxAccountDelaySeconds`. */
  perAccount: { delayAfter: number; windowSeconds: number };
  /** The first delay; each further failure doubles it. */
  initialDelaySeconds: number;
  maxDelaySeconds: number;
  maxAccountDelaySeconds: number;
  /** Addresses and CIDR ranges never delayed or refused for their own failures (a trusted proxy). */
  exempt?: readonly string[];
  /** Most keys remembered per counter; the least recently failing are forgotten first. */
  maxEntries?: number;
  /** Clock in milliseconds (tests). */
  now?: () => number;
  /** Told when a key starts being throttled (once per episode and level, not per attempt). */
  onThrottle?: (event: ThrottleEvent) => void;
}

export type ThrottleEvent =
  | { kind: "delaying-address" | "refusing-address"; ip: string; failures: number }
  | { kind: "delaying-address-account" | "refusing-address-account"; ip: string; account: string; failures: number }
  | { kind: "slowing-account"; account: string; failures: number };

export interface ThrottleVerdict {
  /** Refuse this attempt (RFC 6120 §6.5.12 temporary-auth-failure), whatever the credentials. */
  refused: boolean;
  /** Delay the answer by this long, whatever it is. */
  delayMs: number;
}

const DEFAULT_MAX_ENTRIES = 100_000;
/** Failures counted past `delay_after` in a tier that never refuses: enough doublings to reach any delay cap. */
const DELAY_DOUBLINGS = 16;
const DELAYING = 1;
const REFUSING = 2;

export class LoginThrottle {
  private perIp: TierCounter | undefined;
  private perIpAccount: TierCounter | undefined;
  private perAccount: TierCounter | undefined;
  private exempt!: AddressList;
  private readonly now: () => number;

  constructor(private options: LoginThrottleOptions) {
    this.now = options.now ?? Date.now;
    this.reconfigure(options);
  }

  /**
   * New limits (a reload). A tier whose limits are unchanged keeps its counts; a changed tier counts afresh,
   * since its counter's threshold and window are those of the old limits.
   */
  reconfigure(options: LoginThrottleOptions): void {
    for (const [name, value] of Object.entries({
      initialDelaySeconds: options.initialDelaySeconds,
      maxDelaySeconds: options.maxDelaySeconds,
      maxAccountDelaySeconds: options.maxAccountDelaySeconds,
    })) {
      if (!(value >= 0)) throw new RangeError(`${name} must be 0 or more`);
    }
    const maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
    const sameEntries = maxEntries === (this.options.maxEntries ?? DEFAULT_MAX_ENTRIES);
    const keep = (current: TierCounter | undefined, name: string, limit: ThrottleTier) =>
      current && sameEntries && sameTier(current.limit, limit) ? current : tierCounter(name, limit, maxEntries);
    this.perIp = keep(this.perIp, "perIp", options.perIp);
    this.perIpAccount = keep(this.perIpAccount, "perIpAccount", options.perIpAccount);
    this.perAccount = keep(this.perAccount, "perAccount", { ...options.perAccount, attempts: 0 });
    this.exempt = new AddressList(options.exempt ?? []);
    this.options = options;
  }

  isExempt(ip: string): boolean {
    return this.exempt.has(ip);
  }

  /**
   * What to do with an attempt from `ip`, for `account` ("user@host") once the client has named one. Depends
   * only on earlier failures, never on the credentials of this attempt, so right and wrong passwords get the
   * same treatment. The first attempt a key delays or refuses in an episode is reported (onThrottle).
   */
  check(ip: string, account: string | undefined): ThrottleVerdict {
    const now = this.now();
    let refused = false;
    let delayMs = 0;
    if (!this.isExempt(ip)) {
      const address = ipKey(ip);
      const perIp = this.perIp && this.judge(this.perIp, address, now, this.options.maxDelaySeconds);
      if (perIp?.newLevel) {
        const kind = perIp.newLevel === REFUSING ? "refusing-address" : "delaying-address";
        this.report({ kind, ip: address, failures: perIp.failures });
      }
      const pair =
        account === undefined || this.perIpAccount === undefined
          ? undefined
          : this.judge(this.perIpAccount, pairKey(address, account), now, this.options.maxDelaySeconds);
      if (pair?.newLevel && account !== undefined) {
        const kind = pair.newLevel === REFUSING ? "refusing-address-account" : "delaying-address-account";
        this.report({ kind, ip: address, account, failures: pair.failures });
      }
      refused = (perIp?.refused ?? false) || (pair?.refused ?? false);
      delayMs = Math.max(perIp?.delayMs ?? 0, pair?.delayMs ?? 0);
    }
    if (account !== undefined && this.perAccount !== undefined) {
      const slow = this.judge(this.perAccount, accountKey(account), now, this.options.maxAccountDelaySeconds);
      if (slow.newLevel) this.report({ kind: "slowing-account", account, failures: slow.failures });
      delayMs = Math.max(delayMs, slow.delayMs);
    }
    return { refused, delayMs: refused ? 0 : delayMs };
  }

  /**
   * Counts a failure from `ip` (against `account` once named). The stream layer counts each password check
   * as a failure when it starts, so that parallel attempts from one address cannot all pass `check` before
   * any of them is counted, and takes it back with `recordSuccess` or `refund`.
   */
  recordFailure(ip: string, account: string | undefined): void {
    const now = this.now();
    if (!this.isExempt(ip)) {
      const address = ipKey(ip);
      this.perIp?.counter.record(address, now);
      if (account !== undefined) this.perIpAccount?.counter.record(pairKey(address, account), now);
    }
    if (account !== undefined) this.perAccount?.counter.record(accountKey(account), now);
  }

  /**
   * A correct login: takes back the failure counted for it, and clears this address's failures against the
   * account and the account's slowdown. The address's earlier failures stay: clearing them would let an
   * attacker who owns one account reset the count between guesses at others.
   */
  recordSuccess(ip: string, account: string): void {
    const now = this.now();
    if (!this.isExempt(ip)) {
      const address = ipKey(ip);
      this.perIp?.counter.refund(address, now);
      this.perIpAccount?.counter.clear(pairKey(address, account));
    }
    this.perAccount?.counter.clear(accountKey(account));
  }

  /** Takes back a failure counted in advance for an attempt that ended without a password verdict (aborted, malformed). */
  refund(ip: string, account: string | undefined): void {
    const now = this.now();
    if (!this.isExempt(ip)) {
      const address = ipKey(ip);
      this.perIp?.counter.refund(address, now);
      if (account !== undefined) this.perIpAccount?.counter.refund(pairKey(address, account), now);
    }
    if (account !== undefined) this.perAccount?.counter.refund(accountKey(account), now);
  }

  /** One tier's view of a key: refused, the delay, and the level newly reached in this episode (to report once). */
  private judge(
    tier: TierCounter,
    key: string,
    now: number,
    maxDelaySeconds: number,
  ): { refused: boolean; delayMs: number; failures: number; newLevel: number } {
    const failures = tier.counter.failures(key, now);
    const refused = tier.limit.attempts > 0 && failures >= tier.limit.attempts;
    const delayMs = this.delay(tier.limit.delayAfter, failures, maxDelaySeconds);
    const level = refused ? REFUSING : delayMs > 0 ? DELAYING : 0;
    const newLevel = level > 0 && tier.counter.raise(key, level) ? level : 0;
    return { refused, delayMs, failures, newLevel };
  }

  private report(event: ThrottleEvent): void {
    this.options.onThrottle?.(event);
  }

  /** Progressive delay: the first at `delayAfter` failures, doubling with each further one, capped. */
  private delay(delayAfter: number, failures: number, maxSeconds: number): number {
    if (delayAfter === 0 || failures < delayAfter) return 0;
    const seconds = this.options.initialDelaySeconds * 2 ** Math.min(failures - delayAfter, 30);
    return Math.round(Math.min(seconds, maxSeconds) * 1000);
  }
}

/** The log line for a throttle event: its message and fields (`ip` is the counted key: an IPv4 address or an IPv6 /64). */
export function throttleLogLine(event: ThrottleEvent): { msg: string; fields: Record<string, unknown> } {
  const fields: Record<string, unknown> = { failures: event.failures };
  if ("ip" in event) fields.ip = event.ip;
  if ("account" in event) fields.user = event.account;
  const messages: Record<ThrottleEvent["kind"], string> = {
    "delaying-address": "login throttle: delaying an address",
    "refusing-address": "login throttle: refusing an address",
    "delaying-address-account": "login throttle: delaying an address for an account",
    "refusing-address-account": "login throttle: refusing an address for an account",
    "slowing-account": "login throttle: slowing down logins to an account",
  };
  return { msg: messages[event.kind], fields };
}

interface TierCounter {
  limit: ThrottleTier;
  counter: FailureCounter;
}

function tierCounter(name: string, limit: ThrottleTier, maxEntries: number): TierCounter | undefined {
  for (const field of ["delayAfter", "attempts"] as const) {
    if (!Number.isSafeInteger(limit[field]) || limit[field] < 0) throw new RangeError(`${name}.${field} must be a whole number, 0 for off`);
  }
  if (!(limit.windowSeconds > 0)) throw new RangeError(`${name}.windowSeconds must be positive`);
  const threshold = limit.attempts > 0 ? limit.attempts : limit.delayAfter;
  if (threshold === 0) return undefined; // off
  // Beyond `attempts` nothing changes (refused); a delay-only tier counts on until its delay doubling is capped.
  const cap = limit.attempts > 0 ? limit.attempts : limit.delayAfter + DELAY_DOUBLINGS;
  return { limit, counter: new FailureCounter(threshold, limit.windowSeconds, maxEntries, cap) };
}

function sameTier(a: ThrottleTier, b: ThrottleTier): boolean {
  return a.delayAfter === b.delayAfter && a.attempts === b.attempts && a.windowSeconds === b.windowSeconds;
}

function pairKey(address: string, account: string): string {
  return `${address}\0${accountKey(account)}`;
}

/**
 * The key an account is counted under: itself when short, else a digest, so that a spray of long made-up
 * names (a localpart may have 1023 octets, RFC 7622 §3.3.1) cannot make each remembered key cost a kilobyte.
 */
function accountKey(account: string): string {
  if (account.length <= 64) return account;
  return `#${createHash("sha256").update(account, "utf8").digest("base64").slice(0, 22)}`;
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
