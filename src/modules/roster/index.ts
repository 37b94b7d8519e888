// RFC 6121 §2 (roster management) and §3 (presence subscriptions): roster get/set/remove with pushes to
// interested resources, roster versioning (§2.6), pre-approval (§3.4), and the subscription state machine
// of Appendix A applied to outbound (client) and inbound (contact) subscription stanzas.
import { createPerKeyQueue } from "../../core/per-key-queue.js";
import { randomBytes } from "node:crypto";
import { z } from "zod";
import { StanzaError } from "../../core/errors.js";
import { type Jid, tryParseJid } from "../../core/jid.js";
import { defineModule } from "../../core/modules.js";
import { Element } from "../../core/xml/element.js";
import { NS_CLIENT, NS_PRE_APPROVAL, NS_ROSTER, NS_ROSTER_VER } from "../../core/xml/ns.js";
import { itemElement, type RosterItem, RosterStore, removedItemElement } from "./roster-store.js";
import {
  hasFrom,
  hasTo,
  inbound,
  outbound,
  rosterVisibleChange,
  SUBSCRIPTION_TYPES,
  type SubState,
  type SubscriptionType,
} from "./subscription-state.js";
import { defineSessionState } from "../../core/session-state.js";

const options = z
  .object({
    /** Items per roster; a roster set beyond it gets <not-allowed/>. */
    max_items: z.number().int().min(1).default(1000),
    /** RFC 6121 §2.3.3: longer names get <not-acceptable/> (UTF-8 bytes). */
    max_name_length: z.number().int().min(1).default(1023),
    /** RFC 6121 §2.3.3: longer group names get <not-acceptable/> (UTF-8 bytes). */
    max_group_length: z.number().int().min(1).default(1023),
    /**
     * Inbound subscription requests kept awaiting the user's answer (RFC 6121 §3.1.3); a new request beyond it
     * is dropped silently and logged, as for an account that does not exist (nothing tells a stranger more).
     */
    max_pending_requests: z.number().int().min(1).default(100),
    /**
     * Bytes of a pending request kept for the next login; a larger one is kept without its child elements
     * (status, nick, …): the request itself is never lost, a stranger's payload is not stored in full.
     */
    max_request_size: z.number().int().min(256).default(4096),
    /** RFC 6121 §3.4 subscription pre-approval. */
    pre_approval: z.boolean().default(true),
    /** RFC 6121 §2.6 roster versioning. */
    versioning: z.boolean().default(true),
  })
  .strict();

/** The post-authentication features are folded once per stream whatever the host (the host is not known before bind). */
const FEATURES_OFFERED = defineSessionState<true>("roster.features-offered", { shared: false });

/** Work to do once the per-user lock is released (routing may re-enter the lock of another local user). */
type After = (() => Promise<void>)[];

export default defineModule({
  name: "roster",
  // Read by every presence broadcast and probe answer (presence module) and PEP access check.
  cachedStores: ["roster", "roster-pending"],
  specs: [
    {
      rfc: 6121,
      status: "complete",
      note: "§2 roster management incl. §2.6 versioning, §3 subscriptions incl. §3.4 pre-approval",
    },
  ],
  options,
  setup(ctx) {
    const { host } = ctx;
    const opts = ctx.options;
    const store = new RosterStore(ctx);

    // One roster change at a time per account: subscription stanzas and roster sets read, decide, write.
    const serial = createPerKeyQueue();
    async function runAfter(after: After): Promise<void> {
      for (const f of after) await f();
    }

    const bareOf = (user: string) => `${user}@${host}`;

    /** RFC 6121 §2.1.6: a roster push to every interested resource, with the new version (§2.6.2). */
    async function push(user: string, item: Element): Promise<void> {
      const ver = await store.bump(user);
      for (const s of ctx.sessions.resourcesOf(bareOf(user))) {
        if (!s.interested) continue;
        const iq = new Element("iq", NS_CLIENT, {
          type: "set",
          id: `push-${randomBytes(6).toString("base64url")}`,
          to: s.jid.toString(),
        });
        iq.c("query", NS_ROSTER, opts.versioning ? { ver } : {}).append(item.clone());
        await ctx.deliver(s, iq);
      }
    }

    function presence(type: string | undefined, from: string, to: string): Element {
      const attrs: Record<string, string> = { from, to };
      if (type !== undefined) attrs.type = type;
      return new Element("presence", NS_CLIENT, attrs);
    }

    /** RFC 6121 §3.1.5: once a contact may see the user's presence, each available resource's last presence goes to it. */
    async function sendCurrentPresence(user: string, contact: string): Promise<void> {
      for (const s of ctx.sessions.resourcesOf(bareOf(user))) {
        if (!s.available || !s.presence) continue;
        const p = s.presence.clone();
        p.attrs.from = s.jid.toString();
        p.attrs.to = contact;
        await ctx.route(p);
      }
    }

    /** RFC 6121 §3.2.2 / §3.3.3: a contact that loses "from" gets unavailable presence from each available resource. */
    async function sendUnavailable(user: string, contact: string): Promise<void> {
      for (const s of ctx.sessions.resourcesOf(bareOf(user))) {
        if (s.available) await ctx.route(presence("unavailable", s.jid.toString(), contact));
      }
    }

    /** Writes the new state: the roster item (created when it must show something) and the pending request. */
    async function save(
      user: string,
      contact: string,
      item: RosterItem | undefined,
      before: SubState,
      after: SubState,
      request?: Element,
    ): Promise<RosterItem | undefined> {
      let next = item;
      if (item || after.subscription !== "none" || after.pendingOut || after.approved) {
        next = {
          ...(item ?? { jid: contact, groups: [] }),
          subscription: after.subscription,
          ask: after.pendingOut,
          approved: after.approved,
        };
        if (!item || rosterVisibleChange(before, after)) await store.put(user, next);
      }
      if (before.pendingIn !== after.pendingIn)
        await store.setPending(user, contact, after.pendingIn && request ? storableRequest(user, request) : undefined);
      return next;
    }

    /** The request as kept until the user answers (RFC 6121 §3.1.3): bounded, whatever its sender put in it. */
    function storableRequest(user: string, request: Element): Element {
      const bytes = Buffer.byteLength(request.toString(NS_CLIENT));
      if (bytes <= opts.max_request_size) return request;
      ctx.log.info(
        { user, contact: request.attrs.from, bytes, limit: opts.max_request_size },
        "large subscription request stored without its children",
      );
      return new Element("presence", NS_CLIENT, { ...request.attrs });
    }

    /** The effects on presence of gaining or losing "from" (RFC 6121 §3.1.5, §3.2.2, §3.3.3). */
    function presenceEffects(user: string, contact: string, before: SubState, after: SubState, after_: After): void {
      if (!hasFrom(before.subscription) && hasFrom(after.subscription))
        after_.push(() => sendCurrentPresence(user, contact));
      if (hasFrom(before.subscription) && !hasFrom(after.subscription))
        after_.push(() => sendUnavailable(user, contact));
    }

    // RFC 6121 §2.6.1 / §3.4: stream features after authentication.
    ctx.hookFold("stream.features", ({ session }) => {
      if (session.state.has(FEATURES_OFFERED)) return undefined;
      session.state.set(FEATURES_OFFERED, true);
      const out: Element[] = [];
      if (opts.versioning) out.push(new Element("ver", NS_ROSTER_VER));
      if (opts.pre_approval) out.push(new Element("sub", NS_PRE_APPROVAL));
      return out;
    });

    // RFC 6121 §2.1.3: roster get; §2.6.3: an unchanged version gets an empty result and later pushes.
    ctx.iq("account", "get", NS_ROSTER, "query", async ({ payload, from, to, session }) => {
      if (from.bareString() !== to.bareString()) throw new StanzaError("forbidden", "not your roster");
      if (session?.jid.equals(from)) session.interested = true; // §2.1.6 interested resource
      const ver = await store.version(to.local);
      if (opts.versioning && payload.attrs.ver !== undefined && payload.attrs.ver === ver) return undefined;
      const q = new Element("query", NS_ROSTER, opts.versioning ? { ver } : {});
      for (const item of await store.getAllFrozen(to.local)) q.append(itemElement(item));
      return q;
    });

    // RFC 6121 §2.3 (add/update) and §2.5 (remove).
    ctx.iq("account", "set", NS_ROSTER, "query", async ({ payload, from, to }) => {
      // §2.3.3: only the account itself may change its roster.
      if (from.bareString() !== to.bareString()) throw new StanzaError("forbidden", "not your roster");
      const items = payload.getChildren("item", NS_ROSTER);
      // §2.3.3: exactly one item.
      if (items.length !== 1 || payload.elements().length !== 1)
        throw new StanzaError("bad-request", "a roster set carries exactly one <item/>");
      const el = items[0] as Element;
      if (el.attrs.jid === undefined) throw new StanzaError("bad-request", "the item has no jid");
      const jid = tryParseJid(el.attrs.jid);
      if (!jid) throw new StanzaError("jid-malformed");
      // The account is implicitly subscribed to itself (RFC 6121 §4.2.2); its own JID is no contact.
      if (jid.bareString() === to.bareString())
        throw new StanzaError("not-allowed", "your own JID cannot be a roster item");
      const user = to.local;
      const contact = jid.toString();
      if (el.attrs.subscription === "remove") return removeItem(user, jid);
      // §2.1.2.5: a roster set's subscription other than "remove" is ignored, as are ask (§2.1.2.2) and approved (§2.1.2.1).
      const name = el.attrs.name;
      if (name !== undefined && Buffer.byteLength(name) > opts.max_name_length) {
        throw new StanzaError("not-acceptable", "the name is too long");
      }
      const groups: string[] = [];
      for (const g of el.getChildren("group", NS_ROSTER)) {
        const text = g.text();
        if (text === "") throw new StanzaError("not-acceptable", "empty group"); // §2.3.3
        if (Buffer.byteLength(text) > opts.max_group_length)
          throw new StanzaError("not-acceptable", "a group name is too long");
        if (groups.includes(text)) throw new StanzaError("bad-request", "duplicate group"); // §2.3.3
        groups.push(text);
      }
      await serial(user, async () => {
        const existing = await store.get(user, contact);
        if (!existing && (await store.count(user)) >= opts.max_items)
          throw new StanzaError("not-allowed", "the roster is full");
        const item: RosterItem = existing
          ? { ...existing, groups }
          : { jid: contact, groups, subscription: "none", ask: false, approved: false };
        if (name !== undefined && name !== "") item.name = name;
        else delete item.name;
        await store.put(user, item);
        await push(user, itemElement(item));
      });
      return undefined;
    });

    /** RFC 6121 §2.5.2: removal also cancels the subscriptions both ways and any pending request. */
    async function removeItem(user: string, jid: Jid): Promise<undefined> {
      const contact = jid.toString();
      const contactBare = jid.bareString();
      const userBare = bareOf(user);
      const after: After = [];
      await serial(user, async () => {
        const { item, state } = await store.state(user, contact);
        if (!item) throw new StanzaError("item-not-found"); // §2.5.3
        if (hasTo(state.subscription) || state.pendingOut) {
          after.push(() => ctx.route(presence("unsubscribe", userBare, contactBare)));
        }
        if (hasFrom(state.subscription) || state.pendingIn) {
          after.push(() => ctx.route(presence("unsubscribed", userBare, contactBare)));
        }
        if (hasFrom(state.subscription)) after.push(() => sendUnavailable(user, contactBare));
        await store.remove(user, contact);
        if (state.pendingIn) await store.setPending(user, contact, undefined);
        await push(user, removedItemElement(contact));
      });
      await runAfter(after);
      return undefined;
    }

    // Outbound subscription stanzas from the user's clients (RFC 6121 §3.1.2, §3.1.5, §3.2.2, §3.3.2, §3.4).
    ctx.hookFirst("stanza.outbound", async ({ session, stanza }) => {
      const type = stanza.attrs.type;
      if (stanza.name !== "presence" || type === undefined || !SUBSCRIPTION_TYPES.has(type)) return;
      if (session.jid.domain !== host) return;
      const to = tryParseJid(stanza.attrs.to);
      if (!to) return; // without `to` the stream ignores it
      const user = session.jid.local;
      const userBare = session.jid.bareString();
      const contact = to.bareString();
      // Implicitly subscribed to oneself (RFC 6121 §4.2.2): nothing to do.
      if (contact === userBare) return "handled";
      // §3.1.2 and the like: the server stamps the bare JIDs on subscription stanzas.
      stanza.attrs.from = userBare;
      stanza.attrs.to = contact;
      const after: After = [];
      await serial(user, async () => {
        const { item, state } = await store.state(user, contact);
        const r = outbound(state, type as SubscriptionType, opts.pre_approval);
        if (!item && r.state !== state && (await store.count(user)) >= opts.max_items) {
          ctx.log.info({ user, contact }, "roster full: subscription stanza dropped");
          return;
        }
        const next = await save(user, contact, item, state, r.state);
        if (r.push && next) await push(user, itemElement(next));
        if (r.route) after.push(() => ctx.route(stanza));
        presenceEffects(user, contact, state, r.state, after);
      });
      await runAfter(after);
      return "handled";
    });

    // Inbound subscription stanzas for a local user (RFC 6121 §3.1.3, §3.1.6, §3.2.3, §3.3.3); the router
    // has already dropped those for accounts that do not exist.
    ctx.hookFirst("presence.inbound", async ({ stanza, to }) => {
      const type = stanza.attrs.type;
      if (type === undefined || !SUBSCRIPTION_TYPES.has(type) || to.domain !== host) return;
      const from = tryParseJid(stanza.attrs.from);
      if (!from) return "handled";
      const user = to.local;
      const userBare = to.bareString();
      const contact = from.bareString();
      if (contact === userBare) return "handled";
      stanza.attrs.from = contact;
      stanza.attrs.to = userBare;
      const after: After = [];
      await serial(user, async () => {
        const { item, state } = await store.state(user, contact);
        const r = inbound(state, type as SubscriptionType);
        // §3.1.3: a request is kept until the user answers, to be delivered again at the next login. Strangers
        // choose how many requests arrive: past the limit a new one is ignored, as the router ignores requests
        // for accounts that do not exist, so that the sender learns nothing (§3.1.3 allows silently ignoring).
        if (r.state.pendingIn && !state.pendingIn && (await store.pendingCount(user)) >= opts.max_pending_requests) {
          ctx.log.info(
            { user, contact, limit: opts.max_pending_requests },
            "too many pending subscription requests: request dropped",
          );
          return;
        }
        const next = await save(user, contact, item, state, r.state, stanza);
        if (r.push && next) await push(user, itemElement(next));
        if (r.deliver) {
          for (const s of ctx.sessions.resourcesOf(userBare)) if (s.available) await ctx.deliver(s, stanza);
        }
        if (r.autoReply) {
          after.push(() => ctx.route(presence("subscribed", userBare, contact)));
          // Already allowed, the contact asked again: it evidently lacks our presence.
          if (hasFrom(state.subscription)) after.push(() => sendCurrentPresence(user, contact));
        }
        presenceEffects(user, contact, state, r.state, after);
      });
      await runAfter(after);
      return "handled";
    });

    // RFC 6121 §3.1.3: pending requests go to each resource when it becomes available.
    ctx.hook("presence.broadcast", async ({ session, initial }) => {
      if (!initial || session.jid.domain !== host) return;
      for (const request of await store.pendingRequests(session.jid.local)) await ctx.deliver(session, request);
    });
  },
});
