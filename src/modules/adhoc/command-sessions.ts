// The command sessions in progress on one host (XEP-0050 §3.3): each belongs to one requester (full JID),
// is bounded per account and in all, ends after an idle timeout, and is remembered a while after it ends so
// that a late request gets `session-expired` rather than `bad-sessionid` (§4.6).
import type { RegisteredCommand } from "../../core/commands.js";
import type { Jid } from "../../core/jid.js";
import { LruMap } from "../../core/lru-map.js";
import { randomBase64url } from "../../core/random-text.js";
import type { DataForm } from "../../core/xml/data-form.js";

export interface CommandSession {
  readonly id: string;
  readonly requester: Jid;
  readonly command: RegisteredCommand;
  /** Index of the stage whose form the requester has now. */
  stage: number;
  /** The form shown at `stage` (what its submission is checked against). */
  shown: DataForm;
  /** What each stage submitted, by stage index. */
  submitted: Map<string, string[]>[];
  lastUsed: number;
}

export interface SessionLimits {
  perAccount: number;
  total: number;
  idleMs: number;
}

export type OpenResult = { ok: true; session: CommandSession } | { ok: false; reason: "per-account" | "total" };

export class CommandSessions {
  private readonly live = new Map<string, CommandSession>();
  private readonly perAccount = new Map<string, number>();
  private readonly ended: LruMap<string, true>;

  constructor(private readonly limits: SessionLimits) {
    this.ended = new LruMap(Math.max(1, limits.total));
  }

  private static key(requester: Jid, id: string): string {
    return `${requester.toString()}\0${id}`;
  }

  get size(): number {
    return this.live.size;
  }

  open(requester: Jid, command: RegisteredCommand, shown: DataForm, now = Date.now()): OpenResult {
    const account = requester.bareString();
    // Idle sessions are swept on a timer; at a limit, sweep now so that a stale one does not refuse a new one.
    if ((this.perAccount.get(account) ?? 0) >= this.limits.perAccount || this.live.size >= this.limits.total)
      this.sweep(now);
    const count = this.perAccount.get(account) ?? 0;
    if (count >= this.limits.perAccount) return { ok: false, reason: "per-account" };
    if (this.live.size >= this.limits.total) return { ok: false, reason: "total" };
    const session: CommandSession = {
      id: newSessionId(),
      requester,
      command,
      stage: 0,
      shown,
      submitted: [],
      lastUsed: now,
    };
    this.live.set(CommandSessions.key(requester, session.id), session);
    this.perAccount.set(account, count + 1);
    return { ok: true, session };
  }

  /** The requester's live session, "expired" if it ended (completed, canceled, timed out) lately, else undefined. */
  find(requester: Jid, id: string, now = Date.now()): CommandSession | "expired" | undefined {
    const key = CommandSessions.key(requester, id);
    const session = this.live.get(key);
    if (session && now - session.lastUsed > this.limits.idleMs) this.end(session);
    else if (session) {
      session.lastUsed = now;
      return session;
    }
    return this.ended.has(key) ? "expired" : undefined;
  }

  end(session: CommandSession): void {
    const key = CommandSessions.key(session.requester, session.id);
    if (!this.live.delete(key)) return;
    this.ended.set(key, true);
    const account = session.requester.bareString();
    const count = (this.perAccount.get(account) ?? 1) - 1;
    if (count <= 0) this.perAccount.delete(account);
    else this.perAccount.set(account, count);
  }

  /** Ends every session idle for longer than the timeout; returns how many. */
  sweep(now = Date.now()): number {
    let n = 0;
    for (const s of [...this.live.values()]) {
      if (now - s.lastUsed > this.limits.idleMs) {
        this.end(s);
        n++;
      }
    }
    return n;
  }
}

/** Session ids of a command that completes at once are never looked up again, but §3.3 wants one on every reply. */
export function newSessionId(): string {
  return randomBase64url(12);
}
