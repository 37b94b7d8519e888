// The PEP service of one host (XEP-0163 over XEP-0060): node life cycle, publish, retract, retrieval,
// subscriptions and notifications. The pep module's IQ handlers call it; other modules (bookmarks
// XEP-0402, avatars XEP-0084, vCard4 XEP-0292) build on it server-side with createPepService(ctx).
import { StanzaError } from "../../core/errors.js";
import { type Jid, makeJid, tryParseJid } from "../../core/jid.js";
import type { ModuleContext } from "../../core/modules.js";
import type { Session } from "../../core/session.js";
import type { DataForm } from "../../core/xml/data-form.js";
import { Element } from "../../core/xml/element.js";
import { NS_PUBSUB_ERRORS, NS_PUBSUB_EVENT } from "../../core/xml/ns.js";
import { wantsNotify } from "../caps/session-caps.js";
import { RosterStore } from "../roster/roster-store.js";
import { accessError } from "./access.js";
import {
  eventMessage,
  itemElement,
  itemsEvent,
  newItemId,
  type PepItem,
  pubsubError,
  serialisePayload,
} from "./codec.js";
import {
  applyConfigForm,
  configFromPublishOptions,
  DEFAULT_CONFIG,
  effectiveMaxItems,
  InvalidConfigError,
  type NodeConfig,
  preconditionNotMet,
  preconditionsMet,
} from "./node-config.js";
import { notificationTargets } from "./notify.js";
import { type PepNode, PepStore } from "./pep-store.js";
import { defineSessionState } from "../../core/session-state.js";

export interface PepLimits {
  /** The most items a node keeps ("max" means this). */
  maxItems: number;
  /** Nodes per account (the pep module's `max_nodes`); absent: the caller publishes to fixed nodes only. */
  maxNodes?: number;
  /** Explicit subscriptions per node (`max_subscribers`). */
  maxSubscribers?: number;
  /** Affiliations per node (`max_affiliations`). */
  maxAffiliations?: number;
  /** Bytes of one item's payload XML (`max_item_size`). */
  maxItemBytes?: number;
  /** Bytes of all item payloads of one account (`max_account_bytes`). */
  maxAccountBytes?: number;
}

export interface PublishRequest {
  /** Item id; generated when absent (XEP-0060 §7.1.3 note). */
  id?: string;
  payload: Element | undefined;
  /** Who publishes: the owner's full JID (or bare JID for server-side publishing). */
  publisher: Jid;
  /** XEP-0060 §7.1.5 publish-options form. */
  options?: DataForm;
}

/** Per-session memory of which last items went out for this availability (XEP-0163 §4.3.3 rule 2). */
const SENT_LAST = defineSessionState<Set<string>>("pep.sent-last", { shared: false });

export type PepService = ReturnType<typeof createPepService>;

// Per-user serialisation shared by every PEP service of a host (pep, bookmarks, vcard4, avatar conversion each
// create one), so that a limit checked under the lock holds across them. Per server (ctx.perServer).
const HOST_LOCKS = Symbol("pep locks by host");

function locksOf(ctx: Pick<ModuleContext, "perServer">, host: string): Map<string, Promise<unknown>> {
  const byHost = ctx.perServer(HOST_LOCKS, () => new Map<string, Map<string, Promise<unknown>>>());
  let locks = byHost.get(host);
  if (!locks) {
    locks = new Map();
    byHost.set(host, locks);
  }
  return locks;
}

export function createPepService(
  ctx: Pick<ModuleContext<unknown>, "store" | "host" | "sessions" | "perServer" | "log" | "route" | "notify">,
  limits: PepLimits,
) {
  const store = new PepStore(ctx);
  const roster = new RosterStore(ctx);
  const { host } = ctx;
  const locks = locksOf(ctx, host);

  /** Runs changes of one user's nodes one at a time (publish replaces, then trims). */
  function locked<T>(user: string, fn: () => Promise<T>): Promise<T> {
    const prev = locks.get(user) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    locks.set(user, tail);
    void tail.then(() => {
      if (locks.get(user) === tail) locks.delete(user);
    });
    return run;
  }

  const ownerJid = (user: string) => makeJid(user, host);

  function send(owner: Jid, to: string, config: NodeConfig, child: Element, delay?: number): void {
    const msg = eventMessage(
      owner.bareString(),
      to,
      config.notification_type,
      child,
      delay === undefined ? undefined : { stamp: delay, from: owner.bareString() },
    );
    void ctx.route(msg);
  }

  /** Sends `child` to every target, after the IQ result (caps of a target may still be on their way). */
  function broadcast(owner: Jid, nodeName: string, node: PepNode, child: Element): void {
    void notificationTargets({ host, sessions: ctx.sessions, roster }, owner, nodeName, node)
      .then((targets) => {
        for (const to of targets) send(owner, to, node.config, child.clone());
      })
      .catch((err: unknown) => ctx.log.error({ err, node: nodeName }, "PEP notification failed"));
  }

  async function requireNode(user: string, nodeName: string): Promise<PepNode> {
    const node = await store.node(user, nodeName);
    if (!node) throw pubsubError("item-not-found", undefined);
    return node;
  }

  const newNode = (config: NodeConfig): PepNode => ({ config, created: Date.now(), subscribers: {}, affiliations: {} });

  /** Inside `locked`: may `user` have one more node? XEP-0060 §8.1.3 names no condition; its errors schema has <max-nodes-exceeded/>. */
  async function requireNodeRoom(user: string, nodeName: string): Promise<void> {
    if (limits.maxNodes === undefined || (await store.nodeCount(user)) < limits.maxNodes) return;
    ctx.log.info({ user, node: nodeName, limit: limits.maxNodes }, "PEP node limit reached: node not created");
    throw pubsubError("not-allowed", "max-nodes-exceeded", {}, `at most ${limits.maxNodes} nodes per account`);
  }

  return {
    store,

    /** XEP-0060 §7.1 publish (auto-create §7.1.4, publish-options §7.1.5); returns the item id. */
    async publish(user: string, nodeName: string, req: PublishRequest): Promise<string> {
      const owner = ownerJid(user);
      const id = req.id ?? newItemId();
      const payload = serialisePayload(req.payload);
      // XEP-0060 §7.1.3.4: a payload larger than the service accepts.
      if (limits.maxItemBytes !== undefined && Buffer.byteLength(payload) > limits.maxItemBytes) {
        ctx.log.info(
          { user, node: nodeName, bytes: Buffer.byteLength(payload), limit: limits.maxItemBytes },
          "PEP item too big: publish refused",
        );
        throw pubsubError("not-acceptable", "payload-too-big", {}, `items are at most ${limits.maxItemBytes} bytes`);
      }
      const node = await locked(user, async () => {
        let node = await store.node(user, nodeName);
        const created = !node;
        if (!node) {
          await requireNodeRoom(user, nodeName);
          node = newNode(req.options ? configFromPublishOptions(req.options, limits.maxItems) : { ...DEFAULT_CONFIG });
        } else if (req.options && !preconditionsMet(node.config, req.options, limits.maxItems)) {
          throw preconditionNotMet();
        }
        const maxItems = effectiveMaxItems(node.config, limits.maxItems);
        if (limits.maxAccountBytes !== undefined) {
          // What the account would hold once this item replaces its namesake and the oldest are trimmed.
          const after = await store.usageAfterPut(user, nodeName, id, Buffer.byteLength(payload), maxItems);
          if (after > limits.maxAccountBytes) {
            ctx.log.info(
              { user, node: nodeName, bytes: after, limit: limits.maxAccountBytes },
              "PEP storage quota reached: publish refused",
            );
            throw new StanzaError(
              "resource-constraint",
              `at most ${limits.maxAccountBytes} bytes of PEP items per account`,
            );
          }
        }
        if (created) await store.putNode(user, nodeName, node);
        await store.putItem(user, nodeName, { id, payload, publisher: req.publisher.toString() }, maxItems);
        return node;
      });
      if (node.config.deliver_notifications) {
        const item: PepItem = { id, payload, publisher: req.publisher.toString(), when: Date.now() };
        broadcast(
          owner,
          nodeName,
          node,
          itemsEvent(nodeName, [itemElement(NS_PUBSUB_EVENT, item, node.config.deliver_payloads)]),
        );
      }
      await ctx.notify("pep.published", {
        host,
        user,
        node: nodeName,
        itemId: id,
        payload: req.payload,
        publisher: req.publisher,
      });
      return id;
    },

    /** XEP-0060 §7.2 retract; notifies (§7.2.2.1) when asked to or when the node says so. */
    async retract(user: string, nodeName: string, id: string, notify: boolean): Promise<void> {
      const node = await locked(user, async () => {
        const node = await requireNode(user, nodeName);
        if (!(await store.deleteItem(user, nodeName, id))) throw pubsubError("item-not-found", undefined); // §7.2.3.2
        return node;
      });
      if (notify || node.config.notify_retract) {
        broadcast(
          ownerJid(user),
          nodeName,
          node,
          itemsEvent(nodeName, [new Element("retract", NS_PUBSUB_EVENT, { id })]),
        );
      }
      await ctx.notify("pep.retracted", { host, user, node: nodeName, itemId: id });
    },

    /** XEP-0060 §8.1: creates a node (conflict if it exists). */
    async create(user: string, nodeName: string, config?: DataForm): Promise<void> {
      await locked(user, async () => {
        if (await store.node(user, nodeName)) throw pubsubError("conflict", undefined);
        await requireNodeRoom(user, nodeName);
        let cfg = { ...DEFAULT_CONFIG };
        if (config) {
          try {
            cfg = applyConfigForm(cfg, config, limits.maxItems);
          } catch (err) {
            if (err instanceof InvalidConfigError) throw pubsubError("not-acceptable", undefined, {}, err.message);
            throw err;
          }
        }
        await store.putNode(user, nodeName, newNode(cfg));
      });
    },

    /** XEP-0060 §8.2.4: applies a submitted configuration form; trims items to a lower max_items. */
    async configure(user: string, nodeName: string, form: DataForm): Promise<void> {
      await locked(user, async () => {
        const node = await requireNode(user, nodeName);
        try {
          node.config = applyConfigForm(node.config, form, limits.maxItems);
        } catch (err) {
          if (err instanceof InvalidConfigError) throw pubsubError("not-acceptable", undefined, {}, err.message);
          throw err;
        }
        await store.putNode(user, nodeName, node);
        await store.trim(user, nodeName, effectiveMaxItems(node.config, limits.maxItems));
      });
    },

    /** XEP-0060 §8.4: deletes a node and its items, telling subscribers (§8.4.2) when the node says so. */
    async deleteNode(user: string, nodeName: string): Promise<void> {
      const node = await locked(user, async () => {
        const node = await requireNode(user, nodeName);
        await store.deleteNode(user, nodeName);
        return node;
      });
      if (node.config.notify_delete)
        broadcast(ownerJid(user), nodeName, node, new Element("delete", NS_PUBSUB_EVENT, { node: nodeName }));
    },

    /** XEP-0060 §8.5: deletes every item of a node. */
    async purge(user: string, nodeName: string): Promise<void> {
      const node = await locked(user, async () => {
        const node = await requireNode(user, nodeName);
        await store.trim(user, nodeName, 0);
        return node;
      });
      if (node.config.notify_retract)
        broadcast(ownerJid(user), nodeName, node, new Element("purge", NS_PUBSUB_EVENT, { node: nodeName }));
    },

    /** Why `requester` may not read the node (undefined: it may). */
    async accessError(user: string, node: PepNode, requester: Jid): Promise<StanzaError | undefined> {
      return accessError(roster, user, ownerJid(user).bareString(), node, requester);
    },

    /** XEP-0060 §6.5 retrieval with the access model applied; server-side callers use `store.getItems`. */
    async items(
      user: string,
      nodeName: string,
      requester: Jid,
      opts: { ids?: string[]; max?: number },
    ): Promise<PepItem[]> {
      const node = await requireNode(user, nodeName);
      const denied = await accessError(roster, user, ownerJid(user).bareString(), node, requester);
      if (denied) throw denied;
      return store.getItems(user, nodeName, opts);
    },

    /** XEP-0060 §6.1: an explicit subscription; the last item follows (§6.1.7) unless the node says never. */
    async subscribe(user: string, nodeName: string, jid: Jid): Promise<{ node: PepNode; subid: string }> {
      const node = await locked(user, async () => {
        const node = await requireNode(user, nodeName);
        const denied = await accessError(roster, user, ownerJid(user).bareString(), node, jid);
        if (denied) throw denied;
        const subscribers = Object.keys(node.subscribers).length;
        if (
          node.subscribers[jid.toString()] === undefined &&
          limits.maxSubscribers !== undefined &&
          subscribers >= limits.maxSubscribers
        ) {
          // XEP-0060 §6.1.3.9: too many subscriptions; whoever asks may subscribe once another leaves (wait).
          ctx.log.info(
            { user, node: nodeName, jid: jid.toString(), limit: limits.maxSubscribers },
            "PEP subscriber limit reached: subscription refused",
          );
          throw new StanzaError("policy-violation", `at most ${limits.maxSubscribers} subscribers per node`, {
            type: "wait",
            appCondition: new Element("too-many-subscriptions", NS_PUBSUB_ERRORS),
          });
        }
        node.subscribers[jid.toString()] ??= newItemId().slice(0, 16);
        await store.putNode(user, nodeName, node);
        return node;
      });
      if (node.config.send_last_published_item !== "never") {
        const last = await store.lastItem(user, nodeName);
        if (last)
          send(
            ownerJid(user),
            jid.toString(),
            node.config,
            itemsEvent(nodeName, [itemElement(NS_PUBSUB_EVENT, last, node.config.deliver_payloads)]),
            last.when,
          );
      }
      return { node, subid: node.subscribers[jid.toString()] as string };
    },

    /** XEP-0060 §6.2; false when `jid` had no subscription. */
    async unsubscribe(user: string, nodeName: string, jid: Jid): Promise<boolean> {
      return locked(user, async () => {
        const node = await requireNode(user, nodeName);
        if (node.subscribers[jid.toString()] === undefined) return false;
        delete node.subscribers[jid.toString()];
        await store.putNode(user, nodeName, node);
        return true;
      });
    },

    /** Sets affiliations (XEP-0060 §8.9.2); "none" removes one. */
    async setAffiliations(
      user: string,
      nodeName: string,
      changes: { jid: string; affiliation: string }[],
    ): Promise<void> {
      await locked(user, async () => {
        const node = await requireNode(user, nodeName);
        for (const c of changes) {
          if (c.affiliation === "none") delete node.affiliations[c.jid];
          else node.affiliations[c.jid] = c.affiliation as "member" | "outcast";
        }
        // XEP-0060 §8.9.2 names no condition for a list too long: the whole change is refused, as a
        // privacy list with too many items is (XEP-0016), with <resource-constraint/>.
        const count = Object.keys(node.affiliations).length;
        if (limits.maxAffiliations !== undefined && count > limits.maxAffiliations) {
          ctx.log.info(
            { user, node: nodeName, count, limit: limits.maxAffiliations },
            "PEP affiliation limit reached: change refused",
          );
          throw new StanzaError("resource-constraint", `at most ${limits.maxAffiliations} affiliations per node`);
        }
        await store.putNode(user, nodeName, node);
      });
    },

    /**
     * XEP-0163 §4.3.3 rule 2 / §4.3.4: `session` (available, caps known) gets the last item of each node of
     * `owner` it asks for and may read, once per availability and node.
     */
    async sendLastItems(session: Session, user: string): Promise<void> {
      const owner = ownerJid(user);
      // Made at the first item sent: most sessions never get one, and an empty set per session adds up.
      const sentSoFar = () => session.state.get(SENT_LAST);
      for (const [nodeName, node] of await store.allNodes(user)) {
        const key = `${owner.bareString()}\0${nodeName}`;
        if (
          sentSoFar()?.has(key) ||
          node.config.send_last_published_item !== "on_sub_and_presence" ||
          !node.config.deliver_notifications
        )
          continue;
        if (!(await wantsNotify(session, nodeName))) continue;
        if (await accessError(roster, user, owner.bareString(), node, session.jid)) continue;
        if (sentSoFar()?.has(key)) continue; // another presence got there while this one waited
        let sent = sentSoFar();
        if (sent === undefined) {
          sent = new Set<string>();
          session.state.set(SENT_LAST, sent);
        }
        sent.add(key);
        const last = await store.lastItem(user, nodeName);
        if (last)
          send(
            owner,
            session.jid.toString(),
            node.config,
            itemsEvent(nodeName, [itemElement(NS_PUBSUB_EVENT, last, node.config.deliver_payloads)]),
            last.when,
          );
      }
    },

    /**
     * Removes every affiliation (whitelist member, outcast) and subscription `bare` has on `user`'s nodes: its
     * account was deleted, and a new account with the same name is someone else. Returns how many nodes changed.
     */
    async forgetAddress(user: string, bare: string): Promise<number> {
      return locked(user, async () => {
        let changed = 0;
        for (const [nodeName, node] of await store.allNodes(user)) {
          const subscribers = Object.keys(node.subscribers).filter(
            (jid) => (tryParseJid(jid)?.bareString() ?? jid) === bare,
          );
          if (node.affiliations[bare] === undefined && subscribers.length === 0) continue;
          delete node.affiliations[bare];
          for (const jid of subscribers) delete node.subscribers[jid];
          await store.putNode(user, nodeName, node);
          changed++;
        }
        return changed;
      });
    },

    /** Forgets which last items a session got (it went unavailable). */
    resetLastItems(session: Session): void {
      session.state.delete(SENT_LAST);
    },
  };
}
