// The XEP-0060 engine one pubsub service runs on: node life cycle, publish, retract, retrieval, subscriptions
// (with pending approval and options), affiliations and notifications. PEP (one service per account, XEP-0163)
// and the pubsub.<host> service run the same engine; a ServicePolicy says where they differ: who owns the
// nodes, the configuration rules and defaults, who gets a notification, and the stores' prefix and key (PEP: the
// account's localpart; the service: one key). Writes to one key's nodes run one at a time (`locked`), with
// locks per server (ctx.perServer), so that a limit checked under the lock holds across every module writing.
import { StanzaError } from "../../../core/errors.js";
import { type Jid, tryParseJid } from "../../../core/jid.js";
import type { ModuleContext } from "../../../core/modules.js";
import { buildDataForm, type DataForm } from "../../../core/xml/data-form.js";
import { Element } from "../../../core/xml/element.js";
import { NS_PUBSUB_ERRORS, NS_PUBSUB_EVENT, NS_PUBSUB_SUBSCRIBE_AUTHORIZATION } from "../../../core/xml/ns.js";
import { RosterStore } from "../../roster/roster-store.js";
import { type AccessFacts, accessError } from "./access.js";
import {
  eventMessage,
  itemElement,
  itemsEvent,
  newItemId,
  type PubsubItem,
  pubsubError,
  serialisePayload,
} from "./codec.js";
import {
  applyConfigForm,
  type ConfigRules,
  configFromPublishOptions,
  effectiveMaxItems,
  InvalidConfigError,
  type NodeConfig,
  preconditionNotMet,
  preconditionsMet,
} from "./node-config.js";
import { type Affiliation, NodeStore, type PubsubNode, type SubscriptionOptions } from "./node-store.js";

export interface EngineLimits {
  /** Nodes per key (PEP: per account; the service: in all); absent: no limit. */
  maxNodes?: number;
  /** Nodes one JID may own (the service's `max_nodes_per_user`). */
  maxNodesPerOwner?: number;
  /** Explicit subscriptions (and pending ones) per node. */
  maxSubscribers?: number;
  /** Affiliations per node. */
  maxAffiliations?: number;
  /** Bytes of one item's payload XML. */
  maxItemBytes?: number;
  /** Bytes of all item payloads under one key. */
  maxKeyBytes?: number;
}

/** Where one service differs from another. */
export interface ServicePolicy {
  /** Store names' prefix ("pep", "pubsub"). */
  prefix: string;
  /** "PEP" or "pubsub": in log lines. */
  label: string;
  rules: ConfigRules;
  limits: EngineLimits;
  /** The address of the service holding `key`'s nodes: notifications come from it. */
  address(key: string): string;
  /** The bare JID owning every node of `key` (PEP: the account), or undefined (owners are affiliations). */
  accountOwner(key: string): string | undefined;
  /** Whether `bare` may act as an owner of every node (a server admin on the service). */
  isAdmin(bare: string): boolean;
  /** Local accounts (localparts) whose rosters the presence and roster access models read. */
  rosterOwners(key: string, node: PubsubNode): string[];
  /** Who gets a notification about `nodeName` (full or bare JIDs); `facts` gives anyone's access. */
  targets(key: string, nodeName: string, node: PubsubNode, mayRead: (jid: Jid) => Promise<boolean>): Promise<string[]>;
  onPublished?(event: {
    key: string;
    node: string;
    itemId: string;
    payload: Element | undefined;
    publisher: Jid;
  }): Promise<void>;
  onRetracted?(event: { key: string; node: string; itemId: string }): Promise<void>;
}

export interface PublishRequest {
  /** Item id; generated when absent (XEP-0060 §7.1.3 note). */
  id?: string;
  payload: Element | undefined;
  /** Who publishes: a full JID (or the owner's bare JID for server-side publishing). */
  publisher: Jid;
  /** XEP-0060 §7.1.5 publish-options form. */
  options?: DataForm;
  /** What `pubsub#max_items` "max" means for this write, when not the service's limit (bookmarks). */
  limit?: number;
  /**
   * Server-side (bookmarks, avatars, vCard4 acting for the owner): no permission check, and the size, quota and
   * node limits are not applied (the item still counts towards the quota): those modules keep their own limits.
   */
  trusted?: boolean;
}

export type SubscriptionState = "subscribed" | "pending";

const LOCKS = Symbol("pubsub locks by service");

function locksOf(ctx: Pick<ModuleContext, "perServer">, name: string): Map<string, Promise<unknown>> {
  const byService = ctx.perServer(LOCKS, () => new Map<string, Map<string, Promise<unknown>>>());
  let locks = byService.get(name);
  if (!locks) {
    locks = new Map();
    byService.set(name, locks);
  }
  return locks;
}

export type PubsubEngine = ReturnType<typeof createPubsubEngine>;

export function createPubsubEngine(
  ctx: Pick<ModuleContext<unknown>, "store" | "host" | "perServer" | "log" | "route">,
  policy: ServicePolicy,
) {
  const store = new NodeStore(ctx, policy.prefix);
  const roster = new RosterStore(ctx);
  const { limits, rules, label } = policy;
  const locks = locksOf(ctx, `${ctx.host}\0${policy.prefix}`);

  /** Runs changes of one key's nodes one at a time (publish replaces, then trims). */
  function locked<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = locks.get(key) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    locks.set(key, tail);
    void tail.then(() => {
      if (locks.get(key) === tail) locks.delete(key);
    });
    return run;
  }

  /** §4.1: the affiliation of `jid` with a node; "owner" for the account owner and a service admin. */
  function affiliation(key: string, node: PubsubNode | undefined, jid: Jid): Affiliation | "none" {
    const bare = jid.bareString();
    if (bare === policy.accountOwner(key) || policy.isAdmin(bare)) return "owner";
    return node?.affiliations[bare] ?? "none";
  }

  const facts = (key: string, node: PubsubNode, jid: Jid): AccessFacts => ({
    roster,
    rosterOwners: policy.rosterOwners(key, node),
    affiliation: affiliation(key, node, jid),
  });

  const mayReadError = (key: string, node: PubsubNode, jid: Jid) => accessError(node, jid, facts(key, node, jid));

  function send(key: string, to: string, config: NodeConfig, child: Element, delay?: number): void {
    const from = policy.address(key);
    const msg = eventMessage(
      from,
      to,
      config.notification_type,
      child,
      delay === undefined ? undefined : { stamp: delay, from },
    );
    void ctx.route(msg);
  }

  /** Sends `child` to every target, after the IQ result (caps of a target may still be on their way). */
  function broadcast(key: string, nodeName: string, node: PubsubNode, child: Element): void {
    const mayRead = async (jid: Jid) => !(await mayReadError(key, node, jid));
    void policy
      .targets(key, nodeName, node, mayRead)
      .then((targets) => {
        for (const to of targets) send(key, to, node.config, child.clone());
      })
      .catch((err: unknown) => ctx.log.error({ err, node: nodeName }, `${label} notification failed`));
  }

  async function requireNode(key: string, nodeName: string): Promise<PubsubNode> {
    const node = await store.node(key, nodeName);
    if (!node) throw pubsubError("item-not-found", undefined);
    return node;
  }

  function requireOwner(key: string, node: PubsubNode, requester: Jid | undefined): void {
    if (requester && affiliation(key, node, requester) !== "owner") throw pubsubError("forbidden", undefined);
  }

  /** A new node; on a service without an account owner its creator becomes its owner (§8.1). */
  function newNode(key: string, config: NodeConfig, creator: Jid | undefined): PubsubNode {
    const node: PubsubNode = { config, created: Date.now(), subscribers: {}, affiliations: {} };
    const bare = creator?.bareString();
    if (bare !== undefined && policy.accountOwner(key) === undefined) node.affiliations[bare] = "owner";
    return node;
  }

  const withConfigErrors = <T>(fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      if (err instanceof InvalidConfigError) throw pubsubError("not-acceptable", undefined, {}, err.message);
      throw err;
    }
  };

  /** Inside `locked`: may one more node be made (by `creator`)? §8.1.3 names no condition; the errors schema has <max-nodes-exceeded/>. */
  async function requireNodeRoom(key: string, nodeName: string, creator: Jid | undefined): Promise<void> {
    const refuse = (limit: number, what: string) => {
      ctx.log.info({ key, node: nodeName, limit }, `${label} node limit reached: node not created`);
      return pubsubError("not-allowed", "max-nodes-exceeded", {}, `at most ${limit} nodes ${what}`);
    };
    if (limits.maxNodes !== undefined && (await store.nodeCount(key)) >= limits.maxNodes)
      throw refuse(limits.maxNodes, policy.accountOwner(key) ? "per account" : "on this service");
    const bare = creator?.bareString();
    if (limits.maxNodesPerOwner !== undefined && bare !== undefined && !policy.isAdmin(bare)) {
      let owned = 0;
      for (const node of (await store.allNodes(key)).values()) if (node.affiliations[bare] === "owner") owned++;
      if (owned >= limits.maxNodesPerOwner) throw refuse(limits.maxNodesPerOwner, "per user");
    }
  }

  /** §7.1.3.1: whether `jid` may publish to `node` under its publish model. */
  function mayPublish(key: string, node: PubsubNode, jid: Jid): boolean {
    const aff = affiliation(key, node, jid);
    if (aff === "owner" || aff === "publisher" || aff === "publish-only") return true;
    if (aff === "outcast") return false;
    switch (node.config.publish_model ?? "publishers") {
      case "open":
        return true;
      case "subscribers":
        return Object.keys(node.subscribers).some((s) => s.split("/")[0] === jid.bareString());
      default:
        return false;
    }
  }

  function owners(key: string, node: PubsubNode): string[] {
    const out = new Set<string>();
    const account = policy.accountOwner(key);
    if (account) out.add(account);
    for (const [jid, aff] of Object.entries(node.affiliations)) if (aff === "owner") out.add(jid);
    return [...out];
  }

  /** §8.6: asks each owner to approve a pending subscription with a pubsub#subscribe_authorization form. */
  function askOwners(key: string, nodeName: string, node: PubsubNode, subscriber: string, subid: string): void {
    for (const owner of owners(key, node)) {
      const msg = new Element("message", "jabber:client", {
        from: policy.address(key),
        to: owner,
        id: newItemId().slice(0, 12),
      });
      msg.append(
        buildDataForm({
          type: "form",
          title: "PubSub subscriber request",
          instructions: [`To approve this subscription request, set "pubsub#allow" to true and submit the form.`],
          fields: [
            { var: "FORM_TYPE", type: "hidden", values: [NS_PUBSUB_SUBSCRIBE_AUTHORIZATION] },
            { var: "pubsub#subid", type: "hidden", values: [subid] },
            { var: "pubsub#node", type: "text-single", label: "Node ID", values: [nodeName] },
            { var: "pubsub#subscriber_jid", type: "jid-single", label: "Subscriber Address", values: [subscriber] },
            {
              var: "pubsub#allow",
              type: "boolean",
              label: "Allow this JID to subscribe to this pubsub node?",
              values: ["false"],
            },
          ],
        }),
      );
      void ctx.route(msg);
    }
  }

  /** §6.1.7: the last item to a new subscriber, unless the node says never. */
  async function sendLastOnSubscribe(key: string, nodeName: string, node: PubsubNode, to: string): Promise<void> {
    if (node.config.send_last_published_item === "never") return;
    if (node.subOptions?.[to]?.deliver === false) return;
    const last = await store.lastItem(key, nodeName);
    if (last)
      send(
        key,
        to,
        node.config,
        itemsEvent(nodeName, [itemElement(NS_PUBSUB_EVENT, last, node.config.deliver_payloads)]),
        last.when,
      );
  }

  /** §8.6, §8.8.4: tells a subscriber its subscription changed state. */
  function subscriptionEvent(
    key: string,
    nodeName: string,
    node: PubsubNode,
    jid: string,
    state: string,
    subid?: string,
  ): void {
    const child = new Element("subscription", NS_PUBSUB_EVENT, {
      node: nodeName,
      jid,
      subscription: state,
      ...(subid ? { subid } : {}),
    });
    send(key, jid, { ...node.config, notification_type: "normal" }, child);
  }

  function tooManySubscriptions(key: string, nodeName: string, jid: Jid): StanzaError {
    // XEP-0060 §6.1.3.9: too many subscriptions; whoever asks may subscribe once another leaves (wait).
    ctx.log.info(
      { key, node: nodeName, jid: jid.toString(), limit: limits.maxSubscribers },
      `${label} subscriber limit reached: subscription refused`,
    );
    return new StanzaError("policy-violation", `at most ${limits.maxSubscribers} subscribers per node`, {
      type: "wait",
      appCondition: new Element("too-many-subscriptions", NS_PUBSUB_ERRORS),
    });
  }

  return {
    store,
    rules,
    locked,
    affiliation,
    send,

    /** Why `requester` may not read `node` (undefined: it may). */
    accessError: mayReadError,

    /** XEP-0060 §7.1 publish (auto-create §7.1.4, publish-options §7.1.5); returns the item id. */
    async publish(key: string, nodeName: string, req: PublishRequest, mayCreate = true): Promise<string> {
      const id = req.id ?? newItemId();
      const payload = serialisePayload(req.payload);
      const limit = req.limit ?? rules.limit;
      const cfgRules = { ...rules, limit };
      // XEP-0060 §7.1.3.4: a payload larger than the service accepts.
      if (!req.trusted && limits.maxItemBytes !== undefined && Buffer.byteLength(payload) > limits.maxItemBytes) {
        ctx.log.info(
          { key, node: nodeName, bytes: Buffer.byteLength(payload), limit: limits.maxItemBytes },
          `${label} item too big: publish refused`,
        );
        throw pubsubError("not-acceptable", "payload-too-big", {}, `items are at most ${limits.maxItemBytes} bytes`);
      }
      const node = await locked(key, async () => {
        let node = await store.node(key, nodeName);
        const created = !node;
        if (!node) {
          if (!mayCreate) throw pubsubError("item-not-found", undefined); // §7.1.3.3
          if (!req.trusted) await requireNodeRoom(key, nodeName, req.publisher);
          node = newNode(
            key,
            req.options ? configFromPublishOptions(req.options, cfgRules) : { ...rules.defaults },
            req.trusted ? undefined : req.publisher,
          );
        } else {
          if (!req.trusted && !mayPublish(key, node, req.publisher)) throw pubsubError("forbidden", undefined); // §7.1.3.1
          if (req.options && !preconditionsMet(node.config, req.options, cfgRules)) throw preconditionNotMet();
        }
        const maxItems = effectiveMaxItems(node.config, limit);
        if (!req.trusted && limits.maxKeyBytes !== undefined) {
          // What the key would hold once this item replaces its namesake and the oldest are trimmed.
          const after = await store.usageAfterPut(key, nodeName, id, Buffer.byteLength(payload), maxItems);
          if (after > limits.maxKeyBytes) {
            ctx.log.info(
              { key, node: nodeName, bytes: after, limit: limits.maxKeyBytes },
              `${label} storage quota reached: publish refused`,
            );
            throw new StanzaError(
              "resource-constraint",
              `at most ${limits.maxKeyBytes} bytes of ${label} items per account`,
            );
          }
        }
        if (created) await store.putNode(key, nodeName, node);
        await store.putItem(key, nodeName, { id, payload, publisher: req.publisher.toString() }, maxItems);
        return node;
      });
      if (node.config.deliver_notifications) {
        const item: PubsubItem = { id, payload, publisher: req.publisher.toString(), when: Date.now() };
        broadcast(
          key,
          nodeName,
          node,
          itemsEvent(nodeName, [itemElement(NS_PUBSUB_EVENT, item, node.config.deliver_payloads)]),
        );
      }
      await policy.onPublished?.({ key, node: nodeName, itemId: id, payload: req.payload, publisher: req.publisher });
      return id;
    },

    /** XEP-0060 §7.2 retract; notifies (§7.2.2.1) when asked to or when the node says so. No requester: server-side. */
    async retract(key: string, nodeName: string, id: string, notify: boolean, requester?: Jid): Promise<void> {
      const node = await locked(key, async () => {
        const node = await requireNode(key, nodeName);
        if (requester) {
          const aff = affiliation(key, node, requester);
          let allowed = aff === "owner" || aff === "publisher";
          if (!allowed && aff === "publish-only") {
            // §4.1 table 4: a publish-only entity deletes only the items it published.
            const [item] = await store.getItems(key, nodeName, { ids: [id] });
            allowed = item !== undefined && item.publisher.split("/")[0] === requester.bareString();
          }
          if (!allowed) throw pubsubError("forbidden", undefined); // §7.2.3.1
        }
        if (!(await store.deleteItem(key, nodeName, id))) throw pubsubError("item-not-found", undefined); // §7.2.3.2
        return node;
      });
      if (notify || node.config.notify_retract)
        broadcast(key, nodeName, node, itemsEvent(nodeName, [new Element("retract", NS_PUBSUB_EVENT, { id })]));
      await policy.onRetracted?.({ key, node: nodeName, itemId: id });
    },

    /**
     * XEP-0060 §8.1: creates a node (conflict if it exists); the creator becomes its owner on a service. Without a
     * creator (a module acting server-side) the node limits are not applied.
     */
    async create(key: string, nodeName: string, config?: DataForm, creator?: Jid): Promise<void> {
      await locked(key, async () => {
        if (await store.node(key, nodeName)) throw pubsubError("conflict", undefined); // §8.1.3.4? conflict
        if (creator) await requireNodeRoom(key, nodeName, creator); // no creator: a module acting server-side
        const cfg = config
          ? withConfigErrors(() => applyConfigForm(rules.defaults, config, rules))
          : { ...rules.defaults };
        await store.putNode(key, nodeName, newNode(key, cfg, creator));
      });
    },

    /** XEP-0060 §8.2.4: applies a submitted configuration form; trims items to a lower max_items. */
    async configure(key: string, nodeName: string, form: DataForm, requester?: Jid): Promise<void> {
      await locked(key, async () => {
        const node = await requireNode(key, nodeName);
        requireOwner(key, node, requester); // §8.2.3.3
        node.config = withConfigErrors(() => applyConfigForm(node.config, form, rules));
        await store.putNode(key, nodeName, node);
        await store.trim(key, nodeName, effectiveMaxItems(node.config, rules.limit));
      });
    },

    /** XEP-0060 §8.4: deletes a node and its items, telling subscribers (§8.4.2) when the node says so. */
    async deleteNode(key: string, nodeName: string, requester?: Jid): Promise<void> {
      const node = await locked(key, async () => {
        const node = await requireNode(key, nodeName);
        requireOwner(key, node, requester); // §8.4.3.1
        await store.deleteNode(key, nodeName);
        return node;
      });
      if (node.config.notify_delete)
        broadcast(key, nodeName, node, new Element("delete", NS_PUBSUB_EVENT, { node: nodeName }));
    },

    /** XEP-0060 §8.5: deletes every item of a node (owners; publishers too, §4.1 table 4). */
    async purge(key: string, nodeName: string, requester?: Jid): Promise<void> {
      const node = await locked(key, async () => {
        const node = await requireNode(key, nodeName);
        if (requester) {
          const aff = affiliation(key, node, requester);
          if (aff !== "owner" && aff !== "publisher") throw pubsubError("forbidden", undefined); // §8.5.3.2
        }
        await store.trim(key, nodeName, 0);
        return node;
      });
      if (node.config.notify_retract)
        broadcast(key, nodeName, node, new Element("purge", NS_PUBSUB_EVENT, { node: nodeName }));
    },

    /** XEP-0060 §6.5 retrieval with the access model applied; server-side callers use `store.getItems`. */
    async items(
      key: string,
      nodeName: string,
      requester: Jid,
      opts: { ids?: string[]; max?: number },
    ): Promise<PubsubItem[]> {
      const node = await requireNode(key, nodeName);
      const denied = await mayReadError(key, node, requester);
      if (denied) throw denied;
      return store.getItems(key, nodeName, opts);
    },

    /**
     * XEP-0060 §6.1: an explicit subscription of `jid`. On an authorize node a subscriber without affiliation
     * waits for an owner (§6.1.2.2, §8.6); once subscribed the last item follows (§6.1.7) unless the node says never.
     */
    async subscribe(
      key: string,
      nodeName: string,
      jid: Jid,
      options?: SubscriptionOptions,
    ): Promise<{ node: PubsubNode; subid: string; state: SubscriptionState }> {
      const sub = jid.toString();
      const { node, state, fresh } = await locked(key, async () => {
        const node = await requireNode(key, nodeName);
        const denied = await mayReadError(key, node, jid);
        const pendingNow =
          denied !== undefined && node.config.access_model === "authorize" && denied.condition === "not-authorized";
        if (denied && !pendingNow) throw denied;
        if (node.subscribers[sub] !== undefined) return { node, state: "subscribed" as const, fresh: false };
        if (node.pending?.[sub] !== undefined) return { node, state: "pending" as const, fresh: false };
        const count = Object.keys(node.subscribers).length + Object.keys(node.pending ?? {}).length;
        if (limits.maxSubscribers !== undefined && count >= limits.maxSubscribers)
          throw tooManySubscriptions(key, nodeName, jid);
        const subid = newItemId().slice(0, 16);
        if (pendingNow) node.pending = { ...node.pending, [sub]: subid };
        else node.subscribers[sub] = subid;
        if (options && !options.deliver) node.subOptions = { ...node.subOptions, [sub]: options };
        await store.putNode(key, nodeName, node);
        return { node, state: pendingNow ? ("pending" as const) : ("subscribed" as const), fresh: true };
      });
      const subid = (state === "pending" ? node.pending?.[sub] : node.subscribers[sub]) as string;
      if (state === "pending" && fresh) askOwners(key, nodeName, node, sub, subid);
      if (state === "subscribed") await sendLastOnSubscribe(key, nodeName, node, sub);
      return { node, subid, state };
    },

    /** XEP-0060 §6.2; false when `jid` had no subscription (nor a pending one). */
    async unsubscribe(key: string, nodeName: string, jid: Jid): Promise<boolean> {
      return locked(key, async () => {
        const node = await requireNode(key, nodeName);
        const sub = jid.toString();
        if (node.subscribers[sub] === undefined && node.pending?.[sub] === undefined) return false;
        delete node.subscribers[sub];
        if (node.pending) delete node.pending[sub];
        if (node.subOptions) delete node.subOptions[sub];
        await store.putNode(key, nodeName, node);
        return true;
      });
    },

    /** XEP-0060 §6.3: the options of a subscription; unexpected-request + not-subscribed without one (§6.3.4.2). */
    async subscriptionOptions(key: string, nodeName: string, jid: Jid): Promise<SubscriptionOptions> {
      const node = await requireNode(key, nodeName);
      const sub = jid.toString();
      if (node.subscribers[sub] === undefined && node.pending?.[sub] === undefined)
        throw pubsubError("unexpected-request", "not-subscribed");
      return node.subOptions?.[sub] ?? { deliver: true };
    },

    /** XEP-0060 §6.3.5: sets the options of a subscription. */
    async setSubscriptionOptions(key: string, nodeName: string, jid: Jid, options: SubscriptionOptions): Promise<void> {
      await locked(key, async () => {
        const node = await requireNode(key, nodeName);
        const sub = jid.toString();
        if (node.subscribers[sub] === undefined && node.pending?.[sub] === undefined)
          throw pubsubError("unexpected-request", "not-subscribed");
        if (options.deliver) {
          if (node.subOptions) delete node.subOptions[sub];
        } else node.subOptions = { ...node.subOptions, [sub]: options };
        await store.putNode(key, nodeName, node);
      });
    },

    /** XEP-0060 §8.6: an owner's answer to a pending subscription; false when there was none to answer. */
    async authorize(
      key: string,
      nodeName: string,
      subscriber: string,
      allow: boolean,
      approver: Jid,
    ): Promise<boolean> {
      const result = await locked(key, async () => {
        const node = await requireNode(key, nodeName);
        requireOwner(key, node, approver);
        const subid = node.pending?.[subscriber];
        if (subid === undefined || !node.pending) return undefined;
        delete node.pending[subscriber];
        if (allow) node.subscribers[subscriber] = subid;
        else if (node.subOptions) delete node.subOptions[subscriber];
        await store.putNode(key, nodeName, node);
        return { node, subid };
      });
      if (!result) return false;
      subscriptionEvent(key, nodeName, result.node, subscriber, allow ? "subscribed" : "none", result.subid);
      if (allow) await sendLastOnSubscribe(key, nodeName, result.node, subscriber);
      return true;
    },

    /** XEP-0060 §8.8.2: an owner sets subscriptions ("subscribed" or "none"); the subscriber is told (§8.8.4). */
    async setSubscriptions(
      key: string,
      nodeName: string,
      changes: { jid: string; subscription: string }[],
      requester: Jid,
    ): Promise<void> {
      const { node, told } = await locked(key, async () => {
        const node = await requireNode(key, nodeName);
        requireOwner(key, node, requester);
        const told: { jid: string; state: string; subid?: string }[] = [];
        for (const c of changes) {
          if (c.subscription === "none") {
            const had = node.subscribers[c.jid] !== undefined || node.pending?.[c.jid] !== undefined;
            delete node.subscribers[c.jid];
            if (node.pending) delete node.pending[c.jid];
            if (node.subOptions) delete node.subOptions[c.jid];
            if (had) told.push({ jid: c.jid, state: "none" });
          } else if (c.subscription === "subscribed") {
            const subid = node.subscribers[c.jid] ?? node.pending?.[c.jid] ?? newItemId().slice(0, 16);
            if (node.pending) delete node.pending[c.jid];
            node.subscribers[c.jid] = subid;
            told.push({ jid: c.jid, state: "subscribed", subid });
          } else throw new StanzaError("not-acceptable", `subscription ${c.subscription} cannot be set`);
        }
        const count = Object.keys(node.subscribers).length + Object.keys(node.pending ?? {}).length;
        if (limits.maxSubscribers !== undefined && count > limits.maxSubscribers)
          throw tooManySubscriptions(key, nodeName, requester);
        await store.putNode(key, nodeName, node);
        return { node, told };
      });
      for (const t of told) subscriptionEvent(key, nodeName, node, t.jid, t.state, t.subid);
    },

    /** Sets affiliations (XEP-0060 §8.9.2); "none" removes one; an outcast loses its subscriptions. */
    async setAffiliations(
      key: string,
      nodeName: string,
      changes: { jid: string; affiliation: string }[],
      requester?: Jid,
    ): Promise<void> {
      await locked(key, async () => {
        const node = await requireNode(key, nodeName);
        requireOwner(key, node, requester);
        for (const c of changes) {
          if (c.affiliation === "none") delete node.affiliations[c.jid];
          else node.affiliations[c.jid] = c.affiliation as Affiliation;
          if (c.affiliation === "outcast") {
            for (const jid of Object.keys(node.subscribers))
              if (jid.split("/")[0] === c.jid) delete node.subscribers[jid];
            for (const jid of Object.keys(node.pending ?? {}))
              if (jid.split("/")[0] === c.jid) delete node.pending?.[jid];
          }
        }
        // A service node keeps an owner (§8.9.2.4 names no condition: the change is not acceptable).
        if (policy.accountOwner(key) === undefined && !Object.values(node.affiliations).includes("owner"))
          throw new StanzaError("not-acceptable", "a node keeps at least one owner");
        // XEP-0060 §8.9.2 names no condition for a list too long: the whole change is refused, as a
        // privacy list with too many items is (XEP-0016), with <resource-constraint/>.
        const count = Object.keys(node.affiliations).length;
        if (limits.maxAffiliations !== undefined && count > limits.maxAffiliations) {
          ctx.log.info(
            { key, node: nodeName, count, limit: limits.maxAffiliations },
            `${label} affiliation limit reached: change refused`,
          );
          throw new StanzaError("resource-constraint", `at most ${limits.maxAffiliations} affiliations per node`);
        }
        await store.putNode(key, nodeName, node);
      });
    },

    /**
     * Removes every affiliation and subscription `bare` has on `key`'s nodes: its account was deleted, and a
     * new account with the same name is someone else. Returns how many nodes changed.
     */
    async forgetAddress(key: string, bare: string): Promise<number> {
      return locked(key, async () => {
        let changed = 0;
        for (const [nodeName, node] of await store.allNodes(key)) {
          const same = (jid: string) => (tryParseJid(jid)?.bareString() ?? jid) === bare;
          const subscribers = Object.keys(node.subscribers).filter(same);
          const pending = Object.keys(node.pending ?? {}).filter(same);
          if (node.affiliations[bare] === undefined && subscribers.length === 0 && pending.length === 0) continue;
          delete node.affiliations[bare];
          for (const jid of subscribers) delete node.subscribers[jid];
          for (const jid of pending) delete node.pending?.[jid];
          for (const jid of [...subscribers, ...pending]) delete node.subOptions?.[jid];
          await store.putNode(key, nodeName, node);
          changed++;
        }
        return changed;
      });
    },
  };
}
