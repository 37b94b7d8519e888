// The BOSH sessions of a server by sid, with the caps on how many there are in total and per address.
import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import { ipKey } from "../../auth/login-throttle.js";
import type { BoshCondition, BoshRequest } from "./bosh-body.js";
import { BoshSession, type BoshSettings, type BoshTimers, realTimers } from "./bosh-session.js";

export interface BoshSessionLimits {
  maxSessions: number;
  maxSessionsPerAddress: number;
}

export type Creation =
  | { session: BoshSession; refused?: undefined }
  | { refused: BoshCondition; why: string; session?: undefined };

export class BoshSessions {
  private readonly bySid = new Map<string, BoshSession>();
  private readonly perAddress = new Map<string, number>();

  constructor(
    private settings: BoshSettings,
    private limits: BoshSessionLimits,
    private readonly log: Logger,
    private readonly timers: BoshTimers = realTimers,
  ) {}

  /** New settings for sessions created from now on (a reload); each open session keeps its own. */
  reconfigure(settings: BoshSettings, limits: BoshSessionLimits): void {
    this.settings = settings;
    this.limits = limits;
  }

  get size(): number {
    return this.bySid.size;
  }

  get(sid: string): BoshSession | undefined {
    return this.bySid.get(sid);
  }

  /** A new session for a creation request, or the cap that refuses it. */
  create(request: BoshRequest, remoteAddress: string, secure: boolean): Creation {
    const key = ipKey(remoteAddress);
    const fromAddress = this.perAddress.get(key) ?? 0;
    if (this.bySid.size >= this.limits.maxSessions)
      return { refused: "undefined-condition", why: "too many BOSH sessions" };
    if (fromAddress >= this.limits.maxSessionsPerAddress) {
      return { refused: "policy-violation", why: "too many BOSH sessions from this address" };
    }
    // XEP-0124 §7.1 / §16: the sid is the session's only key: unpredictable, 128 random bits.
    const sid = randomBytes(16).toString("hex");
    const log = this.log.child({ bosh: sid.slice(0, 8), ip: remoteAddress });
    const session = new BoshSession(sid, remoteAddress, secure, request, this.settings, log, this.timers);
    this.bySid.set(sid, session);
    this.perAddress.set(key, fromAddress + 1);
    session.onClose(() => {
      this.bySid.delete(sid);
      const left = (this.perAddress.get(key) ?? 1) - 1;
      if (left <= 0) this.perAddress.delete(key);
      else this.perAddress.set(key, left);
    });
    log.info({ wait: session.wait, hold: session.hold, ver: session.ver }, "BOSH session created");
    return { session };
  }

  /** Every session ends (server shutdown): their streams hear a closed connection. */
  closeAll(): void {
    for (const session of [...this.bySid.values()]) session.destroy();
  }
}
