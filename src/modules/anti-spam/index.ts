// Anti-spam (docs/anti-spam.md): per-account and per-remote-domain rate limits, a policy for messages and
// subscription requests from strangers (JIDs not in the recipient's roster: allow, quarantine for the user to
// review, or reject), a stricter one for accounts registered in the last hours and a limit on how fast those
// reach strangers, and real-time block lists (pubsub nodes of JIDs and domains) applied to s2s and strangers.
// The per-connection byte and stanza limits are the transports' (c2s.rate_limits, s2s.rate_limit).
//
// Hot path: a message between roster contacts costs one roster lookup (the roster store is cached in memory).
import { StanzaError } from "../../core/errors.js";
import type { Jid } from "../../core/jid.js";
import { LruMap } from "../../core/lru-map.js";
import { defineModule } from "../../core/modules.js";
import { Element } from "../../core/xml/element.js";
import {
  NS_CLIENT,
  NS_DELAY,
  NS_FORWARD,
  NS_MUC_USER,
  NS_PUBSUB,
  NS_PUBSUB_EVENT,
  NS_QUARANTINE,
} from "../../core/xml/ns.js";
import { RosterStore } from "../roster/roster-store.js";
import { BlockList } from "./block-list.js";
import { KeyedBuckets } from "./keyed-buckets.js";
import { antiSpamOptions, POLICIES, type StrangerPolicy, stricter } from "./options.js";
import { Quarantine } from "./quarantine.js";

/** Per server: whether an account of a host is new (each host's instance answers for its own). */
const NEW_ACCOUNT_LOOKUPS = Symbol("anti-spam.new-accounts");
type NewAccountLookup = (user: string) => Promise<boolean>;

export default defineModule({
  name: "anti-spam",
  specs: [],
  depends: ["roster"],
  options: antiSpamOptions,
  async setup(ctx) {
    const { host } = ctx;
    const opts = ctx.options;
    const roster = new RosterStore(ctx);
    const quarantine = new Quarantine(ctx, () => ({
      maxItems: opts.quarantine.max_items,
      maxPerSender: opts.quarantine.max_per_sender,
      expireMs: opts.quarantine.expire_hours * 3_600_000,
    }));
    const allowed = ctx.store("anti-spam-allowed", "map");
    const preferences = ctx.store("anti-spam-preference", "keyval");
    const newAccounts = ctx.store("anti-spam-new-accounts", "keyval");
    const spec = (r: { per_minute: number; burst: number }) => ({ perMinute: r.per_minute, burst: r.burst });
    const accountMessages = new KeyedBuckets(spec(opts.account_rate.messages), opts.tracked);
    const accountSubscriptions = new KeyedBuckets(spec(opts.account_rate.subscriptions), opts.tracked);
    const newToStrangers = new KeyedBuckets(spec(opts.new_accounts.to_strangers), opts.tracked);
    const domainStanzas = new KeyedBuckets(spec(opts.s2s_domain_rate), opts.tracked);
    const blockList = new BlockList(opts.rtbl_max_entries);
    /** Per user: bare JIDs it wrote to lately (replies from them pass). */
    const recent = new LruMap<string, LruMap<string, true>>(opts.tracked);
    /** Per user: its own policy, null for none. */
    const preferenceCache = new LruMap<string, StrangerPolicy | null>(opts.tracked);
    /** Per user: until when it counts as new (0: not new). */
    const newUntil = new LruMap<string, number>(opts.tracked);
    /** Per stanza: what the filter decided, so that a message delivered to several resources is decided once. */
    const decided = new WeakMap<Element, boolean>();
    /** Per key: when a drop was last logged (one log line a minute per flooding account or domain). */
    const lastLogged = new LruMap<string, number>(10_000);

    function logOnce(key: string, fields: Record<string, unknown>, msg: string): void {
      const now = Date.now();
      if ((lastLogged.get(key) ?? 0) > now - 60_000) return;
      lastLogged.set(key, now);
      ctx.log.info(fields, msg);
    }

    // ---- New accounts: registered in-band on this host less than new_accounts.hours ago.

    async function isNew(user: string): Promise<boolean> {
      const hours = opts.new_accounts.hours;
      if (hours <= 0) return false;
      const now = Date.now();
      let until = newUntil.get(user);
      if (until === undefined) {
        const rec = (await newAccounts.get(user)) as { created: number } | undefined;
        until = rec ? rec.created + hours * 3_600_000 : 0;
        if (rec && until <= now) await newAccounts.delete(user);
        newUntil.set(user, until);
      }
      return until > now;
    }
    const lookups = ctx.perServer(NEW_ACCOUNT_LOOKUPS, () => new Map<string, NewAccountLookup>());
    lookups.set(host, isNew);
    ctx.onUnload(() => {
      if (lookups.get(host) === isNew) lookups.delete(host);
    });
    const senderIsNew = (from: Jid) => lookups.get(from.domain)?.(from.local) ?? Promise.resolve(false);

    ctx.hook("account.created", async ({ host: h, user }) => {
      if (h !== host) return;
      const created = Date.now();
      await newAccounts.set(user, { created });
      newUntil.set(user, created + opts.new_accounts.hours * 3_600_000);
    });

    // ---- Outbound: what this host's clients send.

    function remember(user: string, bare: string): void {
      const max = opts.strangers.remembered_contacts;
      if (max === 0) return;
      let set = recent.get(user);
      if (!set) {
        set = new LruMap(max);
        recent.set(user, set);
      }
      set.set(bare, true);
    }

    function refuseOutbound(stanza: Element, text: string): "handled" {
      // RFC 6120 §8.3.3.12: policy-violation; type wait, since the same stanza later would pass.
      ctx.bounce(stanza, new StanzaError("policy-violation", text, { type: "wait" }));
      return "handled";
    }

    /** New accounts only: their messages and requests to JIDs not in their roster, at new_accounts.to_strangers. */
    async function limitNewAccount(user: string, toBare: string, stanza: Element): Promise<"handled" | undefined> {
      if (!(await isNew(user)) || (await roster.get(user, toBare))) return undefined;
      if (newToStrangers.take(user)) return undefined;
      ctx.counters.antiSpamAction("rate-limited-new-account");
      logOnce(`n:${user}`, { user: `${user}@${host}` }, "new account writing to strangers too fast: refused");
      return refuseOutbound(
        stanza,
        `new accounts may write to people not in their roster only slowly; try again in ${newToStrangers.retryAfter(user)} s`,
      );
    }

    // Synchronous but for a new account's messages to others (most stanzas pass without a promise).
    ctx.hookFirst(
      "stanza.outbound",
      ({ session, stanza }) => {
        if (session.jid.domain !== host || stanza.attrs.to === undefined) return undefined;
        const to = stanza.attrs.to;
        const slash = to.indexOf("/");
        const toBare = slash === -1 ? to : to.slice(0, slash);
        const user = session.jid.local;
        const type = stanza.attrs.type;
        let counted: KeyedBuckets | undefined;
        if (stanza.name === "message") {
          if (type !== "groupchat" && type !== "error") remember(user, toBare);
          if (stanza.getChild("body", NS_CLIENT)) counted = accountMessages;
        } else if (stanza.name === "presence") {
          if (type === undefined) remember(user, toBare); // directed presence: a room joined, a contact pinged
          if (type === "subscribe") counted = accountSubscriptions;
        }
        if (!counted) return undefined;
        if (!counted.take(user)) {
          ctx.counters.antiSpamAction("rate-limited-account");
          logOnce(`a:${user}`, { user: `${user}@${host}`, kind: stanza.name }, "account rate limit: stanza refused");
          return refuseOutbound(stanza, `too many in a short time; try again in ${counted.retryAfter(user)} s`);
        }
        if (toBare === session.jid.bareString()) return undefined;
        const until = newUntil.get(user);
        if (until !== undefined && until <= Date.now()) return undefined; // known not to be new
        return limitNewAccount(user, toBare, stanza);
      },
      { priority: 90 },
    );

    // ---- Inbound: strangers' messages and subscription requests to this host's accounts.

    async function preference(user: string): Promise<StrangerPolicy | undefined> {
      let p = preferenceCache.get(user);
      if (p === undefined) {
        const v = (await preferences.get(user)) as { policy: StrangerPolicy } | undefined;
        p = v && POLICIES.includes(v.policy) ? v.policy : null;
        preferenceCache.set(user, p);
      }
      return p ?? undefined;
    }

    function refuse(stanza: Element, text: string): true {
      const condition = opts.strangers.reject_with;
      // RFC 6120 §8.3.3.19: service-unavailable carries no text that would tell the sender more.
      ctx.bounce(stanza, new StanzaError(condition, condition === "policy-violation" ? text : undefined));
      return true;
    }

    /** True: held or refused (the filter's "handled"). */
    async function decide(stanza: Element, from: Jid, to: Jid): Promise<boolean> {
      const user = to.local;
      const fromBare = from.bareString();
      if (from.local === "" || fromBare === to.bareString()) return false; // servers and services; oneself
      if (await roster.get(user, fromBare)) return false;
      if (stanza.name === "message" && stanza.getChild("x", NS_MUC_USER)) return false; // XEP-0045 §7.5 private message
      if (recent.peek(user)?.has(fromBare)) return false;
      const local = ctx.hosts.has(from.domain);
      if (blockList.lists(fromBare, from.domain)) {
        ctx.counters.antiSpamAction("refused-block-list");
        ctx.log.info({ from: fromBare, to: to.bareString() }, "stanza from a JID on a block list refused");
        return refuse(stanza, "the sender is on a block list");
      }
      let policy = local ? opts.strangers.local : opts.strangers.remote;
      if (opts.strangers.user_preference) policy = (await preference(user)) ?? policy;
      if (local && (await senderIsNew(from))) policy = stricter(policy, opts.strangers.from_new_accounts);
      if (policy === "allow") return false;
      // Released once by this user: known from then on (a store read, for strangers under a policy only).
      if ((await allowed.get(user, fromBare)) !== undefined) return false;
      if (policy === "reject") {
        ctx.counters.antiSpamAction("refused-stranger");
        ctx.log.info({ from: fromBare, to: to.bareString(), kind: stanza.name }, "stanza from a stranger refused");
        return refuse(stanza, "the recipient does not accept messages from people not in their roster");
      }
      // Quarantine: only what a person would read; the rest (chat states, receipts) of a stranger is dropped.
      if (stanza.name === "message" && !stanza.getChild("body", NS_CLIENT)) return true;
      if (!(await quarantine.hold(user, fromBare, stanza))) {
        ctx.counters.antiSpamAction("refused-stranger");
        logOnce(`q:${user}`, { user: to.bareString() }, "quarantine full: stanza from a stranger refused");
        return refuse(stanza, "the recipient does not accept more messages from people not in their roster now");
      }
      ctx.counters.antiSpamAction("quarantined");
      ctx.log.info({ from: fromBare, to: to.bareString(), kind: stanza.name }, "stanza from a stranger quarantined");
      return true;
    }

    /**
     * What decide() would allow, answered from memory alone, so that the common case costs no promise (the rest of
     * the delivery stays a plain call chain): a contact whose roster is in memory, someone the user wrote to
     * lately, a room's private message, or a sender whose policy is `allow` with every input already known.
     * False means "ask decide()", never "refuse".
     */
    function allowsAtOnce(stanza: Element, from: Jid, to: Jid): boolean {
      const user = to.local;
      const fromBare = from.bareString();
      if (from.local === "" || fromBare === to.bareString()) return true;
      if (recent.peek(user)?.has(fromBare) || roster.known(user, fromBare) === true) return true;
      if (stanza.name === "message" && stanza.getChild("x", NS_MUC_USER)) return true;
      if (blockList.lists(fromBare, from.domain)) return false;
      const local = ctx.hosts.has(from.domain);
      let policy = local ? opts.strangers.local : opts.strangers.remote;
      if (opts.strangers.user_preference) {
        const preferred = preferenceCache.get(user);
        if (preferred === undefined) return false; // not read yet
        policy = preferred ?? policy;
      }
      if (policy !== "allow") return false;
      if (!local) return true;
      if (from.domain !== host) return false; // another host's new-account record: decide() asks that host
      if (opts.new_accounts.hours <= 0) return true;
      const until = newUntil.get(from.local);
      return until !== undefined && until <= Date.now(); // known not to be a new account
    }

    ctx.hookFirst(
      "stanza.filter",
      ({ stanza, from, to, direction }) => {
        if (direction !== "in" || to.domain !== host) return undefined;
        if (stanza.name === "message") {
          const type = stanza.attrs.type;
          if (type === "groupchat" || type === "error" || type === "headline") return undefined;
        } else if (stanza.name !== "presence" || stanza.attrs.type !== "subscribe") return undefined;
        const known = decided.get(stanza);
        if (known !== undefined) return known ? "handled" : undefined;
        if (allowsAtOnce(stanza, from, to)) return undefined;
        return decide(stanza, from, to).then((handled) => {
          decided.set(stanza, handled);
          return handled ? "handled" : undefined;
        });
      },
      { priority: -10 }, // after privacy lists and blocking: what the user blocked is not held for review
    );

    // ---- s2s: per remote domain, and domains on a block list.

    ctx.hookFirst("s2s.inbound", ({ stanza, from, to }) => {
      if (to.domain !== host) return undefined;
      if (blockList.hasDomain(from.domain)) {
        ctx.counters.antiSpamAction("refused-block-list");
        logOnce(`b:${from.domain}`, { peer: from.domain }, "s2s stanza from a domain on a block list refused");
        if (stanza.name !== "presence")
          ctx.bounce(stanza, new StanzaError("policy-violation", "your domain is on a block list"));
        return "handled";
      }
      if (domainStanzas.take(from.domain)) return undefined;
      ctx.counters.antiSpamAction("rate-limited-domain");
      logOnce(`d:${from.domain}`, { peer: from.domain }, "s2s domain rate limit: stanzas dropped");
      if (stanza.name !== "presence")
        ctx.bounce(stanza, new StanzaError("policy-violation", "too many stanzas from your domain", { type: "wait" }));
      return "handled";
    });

    // ---- The user's side: list, release, discard; its own policy (urn:natter:quarantine:0, docs/anti-spam.md).

    const own = (from: Jid, to: Jid) => {
      if (from.bareString() !== to.bareString() || to.domain !== host)
        throw new StanzaError("forbidden", "only your own quarantine");
    };
    const ids = (payload: Element): string[] | undefined => {
      const list = payload.getChildren("item", NS_QUARANTINE).map((i) => i.attrs.id ?? "");
      return list.length === 0 ? undefined : list;
    };

    ctx.iq("account", "get", NS_QUARANTINE, "list", async ({ from, to }) => {
      own(from, to);
      const out = new Element("list", NS_QUARANTINE);
      for (const item of await quarantine.list(to.local)) {
        const el = out.c("item", NS_QUARANTINE, { id: item.id, from: item.from, kind: item.kind });
        // XEP-0297 with XEP-0203's delay: the stanza as it arrived, and when.
        const fwd = el.c("forwarded", NS_FORWARD);
        fwd.c("delay", NS_DELAY, { stamp: new Date(item.when).toISOString() });
        fwd.append(item.stanza);
      }
      return out;
    });

    ctx.iq("account", "set", NS_QUARANTINE, "release", async ({ from, to, payload }) => {
      own(from, to);
      const user = to.local;
      const items = await quarantine.take(user, ids(payload));
      if (items.length === 0 && ids(payload) !== undefined)
        throw new StanzaError("item-not-found", "nothing held by that id");
      for (const item of items) {
        // The sender is known from now on: the released stanza, and what follows, pass.
        await allowed.set(user, item.from, Date.now());
        item.stanza.attrs.to = to.bareString();
        await ctx.route(item.stanza);
      }
      ctx.log.info({ user: to.bareString(), released: items.length }, "quarantined stanzas released");
      return undefined;
    });

    ctx.iq("account", "set", NS_QUARANTINE, "discard", async ({ from, to, payload }) => {
      own(from, to);
      const items = await quarantine.take(to.local, ids(payload));
      if (items.length === 0 && ids(payload) !== undefined)
        throw new StanzaError("item-not-found", "nothing held by that id");
      return undefined;
    });

    ctx.iq("account", "get", NS_QUARANTINE, "policy", async ({ from, to }) => {
      own(from, to);
      const p = await preference(to.local);
      return new Element("policy", NS_QUARANTINE, p ? { value: p } : {});
    });

    ctx.iq("account", "set", NS_QUARANTINE, "policy", async ({ from, to, payload }) => {
      own(from, to);
      if (!opts.strangers.user_preference) throw new StanzaError("not-allowed", "the server sets this policy");
      const value = payload.attrs.value;
      if (value === undefined || value === "") {
        await preferences.delete(to.local);
        preferenceCache.set(to.local, null);
        return undefined;
      }
      if (!POLICIES.includes(value as StrangerPolicy))
        throw new StanzaError("bad-request", `value must be one of ${POLICIES.join(", ")}`);
      await preferences.set(to.local, { policy: value });
      preferenceCache.set(to.local, value as StrangerPolicy);
      return undefined;
    });

    ctx.timer(600_000, async () => {
      const n = await quarantine.expire();
      if (n > 0) ctx.log.info({ expired: n }, "quarantined stanzas expired");
    });

    // ---- Real-time block lists (XEP-0060 subscriber): fetch at start and every rtbl_refresh seconds, retry
    // after rtbl_retry on failure, apply +notify events (publish, retract, purge) as they come.

    const sources = opts.rtbl.map(({ service, node }) => ({
      service,
      node,
      key: `${service}#${node}`,
      nextAt: 0,
      busy: false,
    }));

    async function pubsubRequest(type: "get" | "set", service: string, child: Element): Promise<Element | undefined> {
      const iq = new Element("iq", NS_CLIENT, { type, from: host, to: service });
      iq.c("pubsub", NS_PUBSUB).append(child);
      return ctx.request(iq, 15_000);
    }

    async function fetchSource(src: (typeof sources)[number]): Promise<void> {
      src.busy = true;
      try {
        // XEP-0060 §6.1.1: subscribe the host's JID, so that publications come as they happen.
        const sub = await pubsubRequest(
          "set",
          src.service,
          new Element("subscribe", NS_PUBSUB, { node: src.node, jid: host }),
        );
        if (sub?.attrs.type !== "result")
          ctx.log.warn({ service: src.service, node: src.node }, "block list: subscription refused or unanswered");
        // §6.5.2: every item.
        const reply = await pubsubRequest("get", src.service, new Element("items", NS_PUBSUB, { node: src.node }));
        const items =
          reply?.attrs.type === "result"
            ? reply.getChild("pubsub", NS_PUBSUB)?.getChild("items", NS_PUBSUB)
            : undefined;
        if (!items) throw new Error(reply ? "the service returned an error" : "no answer");
        const ids = items.getChildren("item", NS_PUBSUB).flatMap((i) => (i.attrs.id ? [i.attrs.id] : []));
        const kept = blockList.replace(src.key, ids);
        if (kept < ids.length)
          ctx.log.warn(
            { service: src.service, node: src.node, kept, items: ids.length },
            "block list: rtbl_max_entries reached",
          );
        ctx.log.info({ service: src.service, node: src.node, entries: kept }, "block list fetched");
        src.nextAt = Date.now() + opts.rtbl_refresh * 1000;
      } catch (err) {
        ctx.log.warn(
          { service: src.service, node: src.node, err: (err as Error).message },
          "block list fetch failed; will retry",
        );
        src.nextAt = Date.now() + opts.rtbl_retry * 1000;
      } finally {
        src.busy = false;
      }
    }

    if (sources.length > 0) {
      let unloaded = false;
      ctx.onUnload(() => {
        unloaded = true;
      });
      const tick = () => {
        if (unloaded) return;
        const now = Date.now();
        for (const src of sources) if (!src.busy && src.nextAt <= now) void fetchSource(src);
      };
      setTimeout(tick, 0);
      ctx.timer(Math.max(100, Math.min(opts.rtbl_retry, opts.rtbl_refresh, 30) * 1000), tick);

      // XEP-0060 §7.1.2.1 / §7.2.2.1 / §8.5: notifications to the subscribed host.
      ctx.hookFirst("stanza.to-host", ({ stanza, to }) => {
        if (stanza.name !== "message" || to.domain !== host || to.resource !== "") return undefined;
        const event = stanza.getChild("event", NS_PUBSUB_EVENT);
        if (!event) return undefined;
        const service = stanza.attrs.from;
        for (const el of event.elements()) {
          const src = sources.find((s) => s.service === service && s.node === el.attrs.node);
          if (!src) continue;
          if (el.name === "purge") blockList.replace(src.key, []);
          if (el.name !== "items") continue;
          for (const item of el.getChildren("item", NS_PUBSUB_EVENT))
            if (item.attrs.id && !blockList.add(src.key, item.attrs.id))
              logOnce("rtbl-full", { service }, "block list: rtbl_max_entries reached");
          for (const r of el.getChildren("retract", NS_PUBSUB_EVENT))
            if (r.attrs.id) blockList.remove(src.key, r.attrs.id);
          ctx.log.info({ service, node: src.node, entries: blockList.size }, "block list updated");
        }
        return sources.some((s) => s.service === service) ? "handled" : undefined;
      });
    }
  },
});
