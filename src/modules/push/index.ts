// XEP-0357 Push Notifications: a client enables an App Server's node for its account; whenever a message
// arrives that the device behind a registration will not see live — its session waits for resumption
// (XEP-0198), it is not connected at all, or the message went to offline storage — the server publishes a
// summary to that node from the user's bare JID. Registrations are stored with the account (a device is
// reached even after its session ended or the server restarted); the session that enabled one owns it
// while it lives, and an attached owner gets its messages live, so it is not pushed.
import { z } from "zod";
import { StanzaError } from "../../core/errors.js";
import type { Jid } from "../../core/jid.js";
import { defineModule } from "../../core/modules.js";
import { createPerKeyQueue } from "../../core/per-key-queue.js";
import type { Session } from "../../core/session.js";
import type { Element } from "../../core/xml/element.js";
import { NS_PUSH } from "../../core/xml/ns.js";
import type { Json } from "../../storage/types.js";
import {
  type Registration,
  buildPublish,
  decodeRegistration,
  disablesRegistration,
  isEncrypted,
  parseDisable,
  parseEnable,
  pushWorthy,
  redelivered,
  registrationKey,
} from "./codec.js";
import { defineSessionState } from "../../core/session-state.js";

const options = z
  .object({
    /** §9: bodies travel through third parties; off unless the operator allows them. */
    include_body: z.boolean().default(false),
    /** last-message-sender (the sender's bare JID) in the summary. */
    include_sender: z.boolean().default(true),
    /** App Server nodes one account may enable. */
    max_registrations: z.number().int().min(1).default(20),
    /**
     * App Server nodes published to for one message: the most recently enabled first. One message from a
     * stranger must not fan out into many outbound publishes (and their pending answers).
     */
    max_pushes_per_message: z.number().int().min(1).default(5),
    /** Seconds to wait for the App Server's answer to a publish. */
    timeout: z.number().int().min(1).default(30),
  })
  .strict();

/** What a stream-managed session still holds for its client (XEP-0198 §4), read without importing stream/. */
function queued(session: Session): Element[] {
  const sm = (session as { sm?: { unacked?: unknown } }).sm;
  return Array.isArray(sm?.unacked) ? (sm.unacked as Element[]) : [];
}

export default defineModule({
  name: "push",
  liveState: "which session enabled which push registration",
  // Every option is read at use: a lower max_registrations refuses new enables, keeps what is registered.
  liveOptions: {},
  specs: [
    {
      xep: 357,
      version: "0.4.1",
      status: "complete",
      note: "messages only (no pending-subscription-count); remote disabling (§8) is left to the error rule (§7.1)",
    },
  ],
  options,
  setup(ctx) {
    const { host } = ctx;
    const store = ctx.store("push", "map");
    // Registrations a session enabled (keys), while that session lives.
    // Shared: which of the account's push registrations stay live depends on the sessions of every node.
    const OWNED = defineSessionState<Set<string>>("push.owned", { shared: true, describe: (set) => [...set] });
    // Messages pushed per registration since its device last got messages live (message-count).
    const counts = new Map<string, number>();
    // One message delivered to several resources is one event.
    const seen = new WeakSet<Element>();

    const owned = (s: Session): Set<string> | undefined => s.state.get(OWNED);
    const countKey = (user: string, key: string) => `${user}\0${key}`;
    // One enable at a time per account, so that concurrent enables cannot pass max_registrations together.
    const serial = createPerKeyQueue();

    // Every delivered message asks for the account's registrations and almost no account has any: they are
    // cached per user (a storage read per message cost a fifth of the server's CPU in the message benchmark).
    // Every change below goes through `forget`.
    const cache = new Map<string, Map<string, Registration>>();
    const CACHE_LIMIT = 50_000;
    const forget = (user: string) => cache.delete(user);

    async function registrations(user: string): Promise<Map<string, Registration>> {
      const hit = cache.get(user);
      if (hit) return hit;
      const out = new Map<string, Registration>();
      for (const [key, value] of await store.getAll(user)) {
        const reg = decodeRegistration(value);
        if (reg) out.set(key, reg);
      }
      if (cache.size >= CACHE_LIMIT) forget(cache.keys().next().value as string);
      cache.set(user, out);
      return out;
    }

    /** Only the account itself manages its registrations (the requests go to its own bare JID, §5). */
    const account = (from: Jid, to: Jid): Jid => {
      if (from.bareString() !== to.bareString() || to.domain !== host)
        throw new StanzaError("forbidden", "push notifications are enabled by the account's own clients");
      return to;
    };

    // §5: enable (again: the last request's publish options win).
    ctx.iq("account", "set", NS_PUSH, "enable", async ({ payload, from, to, session }) => {
      const user = account(from, to).local;
      const reg = parseEnable(payload, Date.now());
      const key = registrationKey(reg.jid, reg.node);
      await serial(user, async () => {
        if ((await store.get(user, key)) === undefined && (await store.count(user)) >= ctx.options.max_registrations) {
          ctx.log.info(
            { user, service: reg.jid, limit: ctx.options.max_registrations },
            "push registration limit reached: enable refused",
          );
          throw new StanzaError(
            "resource-constraint",
            `at most ${ctx.options.max_registrations} push registrations per account`,
          );
        }
        await store.set(user, key, reg as unknown as Json);
        forget(user);
      });
      counts.delete(countKey(user, key));
      if (session) {
        const set = owned(session) ?? new Set<string>();
        set.add(key);
        session.state.set(OWNED, set);
      }
      ctx.log.info({ user, service: reg.jid, node: reg.node }, "push enabled");
    });

    // §6: a node, or every node of the service; "the server MUST NOT attempt publishing" afterwards.
    ctx.iq("account", "set", NS_PUSH, "disable", async ({ payload, from, to, session }) => {
      const user = account(from, to).local;
      const { jid, node } = parseDisable(payload);
      for (const [key, reg] of await registrations(user)) {
        if (reg.jid !== jid || (node !== undefined && reg.node !== node)) continue;
        await store.delete(user, key);
        forget(user);
        counts.delete(countKey(user, key));
        if (session) owned(session)?.delete(key);
      }
      ctx.log.info({ user, service: jid, node }, "push disabled");
    });

    /** §7: one publish; an error answer disables the registration (§7.1). */
    async function publish(
      user: string,
      bare: string,
      key: string,
      reg: Registration,
      added: number,
      last: Element,
    ): Promise<void> {
      const ck = countKey(user, key);
      const messageCount = (counts.get(ck) ?? 0) + added;
      counts.set(ck, messageCount);
      const summary: { messageCount: number; lastSender?: string; lastBody?: string } = { messageCount };
      const sender = last.attrs.from?.split("/")[0];
      if (ctx.options.include_sender && sender) summary.lastSender = sender;
      const body = last.getChildText("body", last.ns);
      // An encrypted message's body is only a fallback text ("this message is encrypted").
      if (ctx.options.include_body && body !== undefined && !isEncrypted(last)) summary.lastBody = body;
      const reply = await ctx.request(buildPublish(bare, reg, summary), ctx.options.timeout * 1000);
      if (!reply) {
        ctx.log.warn({ user, service: reg.jid, node: reg.node }, "push service did not answer");
        return;
      }
      if (!disablesRegistration(reply)) return;
      // Only the registration this publish was for: the client may have enabled it again meanwhile.
      const current = decodeRegistration(await store.get(user, key));
      if (current?.since !== reg.since) return;
      await store.delete(user, key);
      forget(user);
      counts.delete(ck);
      ctx.log.info(
        { user, service: reg.jid, node: reg.node },
        "push service answered with an error; registration disabled",
      );
    }

    /**
     * Pushes `added` new messages (the last one `last`) to the account's registrations: those in `only` when
     * given, and never one whose owning session is attached (that device has the message already).
     */
    async function pushFor(bare: Jid, added: number, last: Element, only?: ReadonlySet<string>): Promise<void> {
      const user = bare.local;
      const regs = await registrations(user);
      if (regs.size === 0) return;
      const live = new Set<string>();
      for (const s of ctx.sessions.resourcesOf(bare)) if (s.attached) for (const k of owned(s) ?? []) live.add(k);
      const due = [...regs].filter(([key]) => !(only && !only.has(key)) && !live.has(key));
      if (due.length > ctx.options.max_pushes_per_message) {
        // The devices enabled most recently are the likeliest still in use.
        due.sort(([, a], [, b]) => b.since - a.since);
        ctx.log.debug(
          { user, due: due.length, limit: ctx.options.max_pushes_per_message },
          "more push registrations than pushes per message: oldest skipped",
        );
        due.length = ctx.options.max_pushes_per_message;
      }
      await Promise.all(due.map(([key, reg]) => publish(user, bare.toString(), key, reg, added, last)));
    }

    const background = (p: Promise<void>) =>
      void p.catch((err: unknown) => ctx.log.error({ err }, "push notification failed"));

    // A message handed to a resource: devices that do not get it live (their session is detached or gone)
    // are pushed. After carbons (40) and before CSI (-1000), which holds nothing pushWorthy.
    ctx.hookFirst(
      "stanza.deliver",
      ({ session, stanza }) => {
        if (session.jid.domain !== host) return;
        const user = session.jid.local;
        if (session.attached) for (const key of owned(session) ?? []) counts.delete(countKey(user, key));
        // Almost no account has a registration: once that is known (cached), nothing to push, no promise and
        // no WeakSet entry (pushFor's awaits, the background catch and `seen` cost a tenth of the server's CPU
        // per delivered message in the message benchmark).
        if (cache.get(user)?.size === 0) return;
        if (seen.has(stanza) || !pushWorthy(stanza) || redelivered(stanza, host)) return;
        seen.add(stanza);
        const sender = stanza.attrs.from?.split("/")[0];
        if (sender === session.jid.bareString()) return; // the user's own message, from another resource
        background(pushFor(session.jid.bare(), 1, stanza));
        return undefined;
      },
      { priority: -100 },
    );

    // No resource took it (RFC 6121 §8.5.2.2.1): every registered device is away. Before offline storage
    // (priority 0) handles it; a message re-routed when a detached session expired was pushed already.
    ctx.hookFirst(
      "message.offline",
      ({ stanza, to }) => {
        if (to.domain !== host || !pushWorthy(stanza) || redelivered(stanza, host)) return;
        if (seen.has(stanza)) return;
        seen.add(stanza);
        background(pushFor(to.bare(), 1, stanza));
        return undefined;
      },
      { priority: 10 },
    );

    // XEP-0198 §5: the connection dropped with messages the client never acknowledged; it may never have
    // seen them, and they were not pushed while it was attached.
    ctx.hook("session.detached", ({ session }) => {
      const mine = owned(session);
      if (session.jid.domain !== host || !mine || mine.size === 0) return;
      const bare = session.jid.bareString();
      const waiting = queued(session).filter(
        (s) => pushWorthy(s) && !redelivered(s, host) && s.attrs.from?.split("/")[0] !== bare,
      );
      const last = waiting[waiting.length - 1];
      if (last) background(pushFor(session.jid.bare(), waiting.length, last, mine));
    });
  },
});
