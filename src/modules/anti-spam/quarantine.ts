// The quarantine: messages and subscription requests from strangers held for the user to review (release or
// discard), per user, bounded (`quarantine.max_items`) and expiring (`quarantine.expire_hours`). Kept in an
// archive store (time-ordered, per user, retention by age), the stanza as it arrived.
import type { ModuleContext } from "../../core/modules.js";
import type { Element } from "../../core/xml/element.js";
import { NS_CLIENT } from "../../core/xml/ns.js";
import { parseFramedElement } from "../../core/xml/stream-parser.js";
import type { ArchiveStore } from "../../storage/types.js";

const PARSE_LIMITS = { maxStanzaBytes: 1 << 20, maxDepth: 64 };

export interface HeldItem {
  id: string;
  when: number;
  /** The sender's bare JID. */
  from: string;
  kind: "message" | "subscribe";
  stanza: Element;
}

export class Quarantine {
  private readonly store: ArchiveStore;

  constructor(
    ctx: Pick<ModuleContext<unknown>, "store">,
    private readonly limits: () => { maxItems: number; maxPerSender: number; expireMs: number },
  ) {
    this.store = ctx.store("anti-spam-quarantine", "archive");
  }

  /**
   * Holds a stanza; false when the user's quarantine is full, or full for this sender (the caller refuses it
   * instead). A subscription request already held from the same sender is not held twice (clients repeat them).
   */
  async hold(user: string, from: string, stanza: Element, now = Date.now()): Promise<boolean> {
    const { maxItems, maxPerSender, expireMs } = this.limits();
    const start = now - expireMs;
    if ((await this.store.count(user, { start })) >= maxItems) return false;
    const kind = stanza.name === "presence" ? "subscribe" : "message";
    const fromSender = await this.store.find(user, { start, with: from, limit: maxPerSender });
    if (kind === "subscribe" && fromSender.some((i) => (i.value as { kind: string }).kind === "subscribe")) return true;
    if (fromSender.length >= maxPerSender) return false;
    await this.store.append(user, { when: now, with: from, value: { kind, xml: stanza.toString(NS_CLIENT) } });
    return true;
  }

  /** What is held and not expired, oldest first. */
  async list(user: string, now = Date.now()): Promise<HeldItem[]> {
    const { maxItems, expireMs } = this.limits();
    const items = await this.store.find(user, { start: now - expireMs, limit: maxItems });
    return items.map((i) => {
      const v = i.value as { kind: "message" | "subscribe"; xml: string };
      return {
        id: i.id,
        when: i.when,
        from: i.with,
        kind: v.kind,
        stanza: parseFramedElement(v.xml, PARSE_LIMITS, NS_CLIENT),
      };
    });
  }

  /** Takes items out (all when `ids` is undefined); returns them. */
  async take(user: string, ids: string[] | undefined, now = Date.now()): Promise<HeldItem[]> {
    const items = (await this.list(user, now)).filter((i) => ids === undefined || ids.includes(i.id));
    if (items.length > 0) await this.store.delete(user, { ids: items.map((i) => i.id) });
    return items;
  }

  /** Forgets what expired, across users. */
  async expire(now = Date.now()): Promise<number> {
    return this.store.deleteOlderThan(now - this.limits().expireMs);
  }
}
