// XEP-0160 Best Practices for Handling Offline Messages, with XEP-0203 Delayed Delivery: normal and chat
// messages for an account with no resource to take them are stored, and delivered to the first resource
// that sends available presence with a non-negative priority.
import { createPerKeyQueue } from "../../core/per-key-queue.js";
import { z } from "zod";
import type { HookResult } from "../../core/hooks.js";
import { tryParseJid } from "../../core/jid.js";
import { defineModule } from "../../core/modules.js";
import type { Session } from "../../core/session.js";
import { NS_MSGOFFLINE } from "../../core/xml/ns.js";
import { decodeOffline, encodeOffline, offlineVerdict, withDelay } from "./codec.js";

const options = z
  .object({
    /** Messages kept per account; beyond it the sender gets service-unavailable (XEP-0160 §2). */
    max_per_user: z.number().int().min(0).default(1000),
  })
  .strict();

/** Stored messages are delivered (and then deleted) this many at a time. */
const BATCH = 100;

export default defineModule({
  name: "offline-messages",
  specs: [
    { xep: 160, version: "1.0.1", status: "complete" },
    { xep: 203, version: "2.0", status: "complete", note: "delay stamp on offline messages" },
    { xep: 13, status: "planned", note: "flexible offline retrieval is not offered" },
  ],
  options,
  setup(ctx) {
    const store = ctx.store("offline", "archive");
    // Set on a session whose last available presence had a negative priority.
    const negative = Symbol("offline-messages: negative priority");

    // One operation at a time per account, so the limit holds under concurrent senders and two
    // resources coming online together never both get the same messages.
    const serial = createPerKeyQueue();

    // XEP-0160 §4: service discovery.
    ctx.feature(NS_MSGOFFLINE);

    // RFC 6121 §8.5.2.2.1 / §8.5.3.2.1: the router found no resource for a normal or chat message.
    ctx.hookFirst("message.offline", ({ stanza, to }) => {
      if (to.domain !== ctx.host) return;
      const verdict = offlineVerdict(stanza);
      if (verdict === "discard") return "handled";
      if (verdict === "refuse") return;
      const received = Date.now();
      return serial(to.local, async (): Promise<HookResult> => {
        // XEP-0160 §2: the queue is full → not handled, so the router answers service-unavailable.
        if ((await store.count(to.local)) >= ctx.options.max_per_user) return;
        // Resolves once committed (DESIGN.md "Data and scale"): nothing is lost across a restart.
        await store.append(to.local, {
          when: received,
          with: tryParseJid(stanza.attrs.from)?.bareString() ?? "",
          value: encodeOffline(stanza, received),
        });
        return "handled";
      });
    });

    // XEP-0160 §2 / RFC 6121 §8.5.2.1.1: delivery to a resource with non-negative available presence.
    ctx.hook("presence.broadcast", async ({ session, initial }) => {
      if (session.jid.domain !== ctx.host || !session.available) return;
      const wasNegative = session.state.delete(negative);
      if (session.priority < 0) {
        session.state.set(negative, true);
        return;
      }
      // The first presence, or the first since the priority rose from negative: a priority change
      // alone brings no new messages otherwise (the router delivered them live).
      if (initial || wasNegative) await deliverStored(session);
    });

    async function deliverStored(session: Session): Promise<void> {
      const user = session.jid.local;
      const stillThere = () => ctx.sessions.get(session.jid) === session && session.available && session.priority >= 0;
      await serial(user, async () => {
        for (;;) {
          const items = await store.find(user, { limit: BATCH });
          const delivered: string[] = [];
          for (const item of items) {
            if (!stillThere()) break;
            const stored = decodeOffline(item.value);
            if (stored) await ctx.core.router.deliver(session, withDelay(stored.stanza, ctx.host, stored.received));
            else ctx.log.warn({ user, id: item.id }, "dropped an unreadable offline message");
            delivered.push(item.id);
          }
          // Only what was handed over is deleted: a session that closes midway leaves the rest stored.
          if (delivered.length > 0) await store.delete(user, { ids: delivered });
          if (delivered.length < BATCH || items.length < BATCH) return;
        }
      });
    }
  },
});
