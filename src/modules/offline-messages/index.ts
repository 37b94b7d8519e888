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
import { defineSessionState } from "../../core/session-state.js";
import type { ClusterBus, ClusterMessage } from "../../cluster/types.js";

/** Cluster inbox kind: "deliver this account's stored messages to your resources of it" (docs/cluster.md). */
const OFFLINE_DELIVER = "offline.deliver";
/**
 * Accounts that had a message stored while no resource anywhere was available, kept this long (and at most this
 * many), so that a resource on another node whose availability reaches this node's view just after the store is
 * asked to take it (the view change and the message raced).
 */
const PENDING_MS = 60_000;
const PENDING_MAX = 10_000;

type DeliverHandler = (user: string) => void;

/** One inbox handler per server for `offline.deliver` (the bus has one per kind), by host. Made with ctx.perServer. */
class OfflineClusterInbox {
  private readonly hosts = new Map<string, DeliverHandler>();
  private remove: (() => void) | undefined;
  constructor(private readonly bus: ClusterBus) {}
  add(host: string, handler: DeliverHandler): () => void {
    this.hosts.set(host, handler);
    this.remove ??= this.bus.onMessage(OFFLINE_DELIVER, (m) => this.receive(m));
    return () => {
      if (this.hosts.get(host) === handler) this.hosts.delete(host);
      if (this.hosts.size === 0) {
        this.remove?.();
        this.remove = undefined;
      }
    };
  }
  private receive(message: ClusterMessage): void {
    if (typeof message.host !== "string" || typeof message.user !== "string") return;
    this.hosts.get(message.host)?.(message.user);
  }
}
const CLUSTER_INBOX = Symbol("offline-messages cluster inbox");

const options = z
  .object({
    /** Messages kept per account; beyond it the sender gets service-unavailable (XEP-0160 §2). */
    max_per_user: z.number().int().min(0).default(1000),
  })
  .strict();

/** Stored messages are read this many at a time; each is deleted once delivered. */
const BATCH = 100;
/** A session is handed at most this many stored messages (and bytes) not yet delivered at once. */
const WINDOW_COUNT = 50;
const WINDOW_BYTES = 512 * 1024;

export default defineModule({
  name: "offline-messages",
  liveState: "messages being delivered and sessions of negative priority",
  // max_per_user is read at each store: a lower one refuses new messages, keeps what is stored.
  liveOptions: {},
  specs: [
    { xep: 160, version: "1.0.1", status: "complete" },
    { xep: 203, version: "2.0", status: "complete", note: "delay stamp on offline messages" },
    { xep: 13, status: "planned", note: "flexible offline retrieval is not offered" },
  ],
  options,
  setup(ctx) {
    const store = ctx.store("offline", "archive");
    // Set on a session whose last available presence had a negative priority.
    const negative = defineSessionState<true>("offline-messages.negative-priority", { shared: false });

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
        // The router found no resource, then waited (privacy, this lock): a resource that became available
        // meanwhile already looked for stored messages before this one was stored. It gets it now (queued
        // behind this operation), so the message does not wait for its next login.
        // A resource on another cluster node is served by that node's own copy of this module (its window and
        // in-flight marks are there): handing it stored messages from here too would deliver them twice.
        const targets = ctx.messageTargets(to.bare(), false);
        let local = false;
        for (const session of targets) {
          if (session.jid.domain === ctx.host && !session.remote) {
            local = true;
            void deliverStored(session).catch((err: unknown) =>
              ctx.log.error({ err, user: to.local }, "offline delivery failed"),
            );
          }
        }
        // In a cluster the router may have decided from a view that had not yet heard of a resource becoming
        // available on another node: a message must not sit stored while its recipient is online (XEP-0160 §2,
        // RFC 6121 §8.5.2.1.1). That node is asked to deliver (its own copy of this module takes each stored
        // message once); if the view still shows none, the availability may reach it just after (see pending).
        if (!local && ctx.cluster) {
          const remote = targets.find((s) => s.remote && s.jid.domain === ctx.host);
          if (remote) askToDeliver((remote as { node?: string }).node ?? "", to.local);
          else markPending(to.local);
        }
        return "handled";
      });
    });

    // ---- cluster: stored messages for a resource on another node are delivered by that node.
    const bus = ctx.cluster;
    const pending = new Map<string, number>();
    function markPending(user: string): void {
      pending.delete(user);
      pending.set(user, Date.now() + PENDING_MS);
      while (pending.size > PENDING_MAX) {
        const oldest = pending.keys().next().value;
        if (oldest === undefined) break;
        pending.delete(oldest);
      }
    }
    function askToDeliver(node: string, user: string): void {
      if (!bus || node === "") return;
      bus
        .send(node, { kind: OFFLINE_DELIVER, host: ctx.host, user })
        .catch((err: unknown) =>
          ctx.log.warn({ err: String(err), user, node }, "could not ask another node to deliver offline messages"),
        );
    }
    if (bus) {
      const inbox = ctx.perServer(CLUSTER_INBOX, () => new OfflineClusterInbox(bus));
      const removers = [
        // Another node stored messages for a resource of this node: delivered as at its initial presence.
        inbox.add(ctx.host, (user) => {
          for (const session of ctx.sessions.resourcesOf(`${user}@${ctx.host}`)) {
            if (session.remote || !session.available || session.priority < 0) continue;
            void deliverStored(session).catch((err: unknown) =>
              ctx.log.error({ err, user }, "offline delivery failed"),
            );
          }
        }),
        // A resource became available on another node just after this node stored a message for its account.
        bus.onBroadcast("session.up", (message, from) => {
          if (pending.size === 0) return;
          const view = message.view as { jid?: unknown; available?: unknown; priority?: unknown } | undefined;
          if (!view || view.available !== true || typeof view.jid !== "string") return;
          if (typeof view.priority === "number" && view.priority < 0) return;
          const jid = tryParseJid(view.jid);
          if (!jid || jid.domain !== ctx.host) return;
          const until = pending.get(jid.local);
          if (until === undefined) return;
          pending.delete(jid.local);
          if (until >= Date.now()) askToDeliver(from, jid.local);
        }),
      ];
      ctx.onUnload(() => {
        for (const remove of removers) remove();
      });
    }

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

    // Stored messages handed to a session and not yet delivered (acknowledged with XEP-0198 <a/>, or without it
    // written out of the process): they stay stored until then, so a crash loses none of them, and no other
    // session is handed them meanwhile. user → stored id → the session holding it.
    // null: delivered, its delete not yet committed.
    const inFlight = new Map<string, Map<string, Session | null>>();
    // Per session: how much it holds undelivered, and who waits for that to drain. A session is handed at most a
    // window at a time, so a large backlog neither overruns the XEP-0198 limits nor piles up in memory.
    const holding = new Map<Session, { count: number; bytes: number; drained?: () => void }>();
    // Delivered ids waiting for their delete, so that a burst of acknowledgements costs one write.
    const toDelete = new Map<string, string[]>();

    function settle(session: Session, id: string, bytes: number, delivered: boolean): void {
      const user = session.jid.local;
      // A delivered one stays marked until its delete is committed, so no window hands it out again.
      if (!delivered) release(user, id, session);
      else if (inFlight.get(user)?.get(id) === session) inFlight.get(user)?.set(id, null);
      const held = holding.get(session);
      if (held) {
        held.count--;
        held.bytes -= bytes;
        if (held.count <= WINDOW_COUNT / 2 && held.bytes <= WINDOW_BYTES / 2) held.drained?.();
      }
      if (delivered) deleteSoon(user, id);
    }

    function release(user: string, id: string, holder?: Session): void {
      const flying = inFlight.get(user);
      if (flying === undefined || (holder !== undefined && flying.get(id) !== holder)) return;
      flying.delete(id);
      if (flying.size === 0) inFlight.delete(user);
    }

    function deleteSoon(user: string, id: string): void {
      let ids = toDelete.get(user);
      if (ids === undefined) {
        ids = [];
        toDelete.set(user, ids);
        setImmediate(() => {
          const batch = toDelete.get(user) ?? [];
          toDelete.delete(user);
          serial(user, () => store.delete(user, { ids: batch }))
            .catch((err: unknown) =>
              ctx.log.error({ err, user, count: batch.length }, "could not delete delivered offline messages"),
            )
            .finally(() => {
              for (const done of batch) release(user, done);
            });
        });
      }
      ids.push(id);
    }

    // A session that ends with receipts unanswered (a delivery hook held its stanzas) leaves them stored.
    ctx.hook("session.closed", ({ session }) => {
      holding.get(session)?.drained?.();
      holding.delete(session);
      const flying = inFlight.get(session.jid.local);
      if (session.jid.domain !== ctx.host || flying === undefined) return;
      for (const [id, holder] of flying) if (holder === session) flying.delete(id);
      if (flying.size === 0) inFlight.delete(session.jid.local);
    });

    /**
     * Hands the session its first window before the presence that asked for it is done; the rest follows as the
     * client takes it, in the background, because waiting here would hold up the client's own stream (its <a/>).
     */
    async function deliverStored(session: Session): Promise<void> {
      const stillThere = () => ctx.sessions.get(session.jid) === session && session.available && session.priority >= 0;
      let held = holding.get(session);
      if (held === undefined) holding.set(session, (held = { count: 0, bytes: 0 }));
      const more = await serial(session.jid.local, () => deliverWindow(session, stillThere));
      if (more && stillThere()) {
        deliverRest(session, held, stillThere).catch((err: unknown) =>
          ctx.log.error({ err, user: session.jid.local }, "offline delivery failed"),
        );
      }
    }

    async function deliverRest(
      session: Session,
      held: { count: number; bytes: number; drained?: () => void },
      stillThere: () => boolean,
    ): Promise<void> {
      for (;;) {
        // Without holding the account's lock, so senders and other resources go on meanwhile.
        if (held.count > WINDOW_COUNT / 2 || held.bytes > WINDOW_BYTES / 2) {
          await new Promise<void>((resolve) => {
            held.drained = resolve;
          });
          held.drained = undefined;
        }
        if (!holding.has(session) || !stillThere()) return; // the session closed or went away
        const more = await serial(session.jid.local, () => deliverWindow(session, stillThere));
        if (!more) return;
      }
    }

    /** Hands the session stored messages up to its window; says whether more may be waiting. */
    async function deliverWindow(session: Session, stillThere: () => boolean): Promise<boolean> {
      const user = session.jid.local;
      const held = holding.get(session);
      let after: string | undefined;
      for (;;) {
        const items = await store.find(user, after === undefined ? { limit: BATCH } : { limit: BATCH, after });
        for (const item of items) {
          after = item.id;
          if (inFlight.get(user)?.has(item.id)) continue; // handed over already, here or to another resource
          if (held === undefined || !stillThere()) return false;
          if (held.count >= WINDOW_COUNT || (held.count > 0 && held.bytes >= WINDOW_BYTES)) return true;
          const stored = decodeOffline(item.value);
          if (!stored) {
            ctx.log.warn({ user, id: item.id }, "dropped an unreadable offline message");
            deleteSoon(user, item.id);
            continue;
          }
          let flying = inFlight.get(user);
          if (flying === undefined) inFlight.set(user, (flying = new Map()));
          flying.set(item.id, session);
          const id = item.id;
          const bytes = JSON.stringify(item.value).length;
          held.count++;
          held.bytes += bytes;
          await ctx.deliver(session, withDelay(stored.stanza, ctx.host, stored.received), (delivered) =>
            settle(session, id, bytes, delivered),
          );
        }
        if (items.length < BATCH) return false;
      }
    }
  },
});
