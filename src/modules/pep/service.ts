// The PEP service of one host (XEP-0163 over XEP-0060): the pubsub engine (src/modules/pubsub/engine/) with
// PEP's policy: the account owns its nodes, access "presence" by default, notifications to the owner's and
// contacts' interested resources (+notify caps, notify.ts), stores keyed by the account's localpart. One service
// per host and server (ctx.perServer): the pep module's IQ handlers and the modules building on PEP server-side
// (bookmarks XEP-0402, avatars XEP-0084, vCard4 XEP-0292) share it, so that per-user serialisation and the
// pep module's limits hold across all of them.
import { type Jid, makeJid } from "../../core/jid.js";
import type { ModuleContext } from "../../core/modules.js";
import type { Session } from "../../core/session.js";
import { defineSessionState } from "../../core/session-state.js";
import { NS_PUBSUB_EVENT } from "../../core/xml/ns.js";
import { sessionCaps, wantsNotify } from "../caps/session-caps.js";
import { RosterStore } from "../roster/roster-store.js";
import { itemElement, itemsEvent } from "../pubsub/engine/codec.js";
import { pepConfigRules } from "../pubsub/engine/node-config.js";
import { createPubsubEngine, type EngineLimits, type ServicePolicy } from "../pubsub/engine/service.js";
import { notificationTargets } from "./notify.js";
import { type RemoteResource, RemoteContacts } from "./remote-contacts.js";

export type { PublishRequest } from "../pubsub/engine/service.js";

export interface PepLimits {
  /** The most items a node keeps ("max" means this). */
  maxItems: number;
  /** Nodes per account (the pep module's `max_nodes`). */
  maxNodes?: number;
  /** Explicit subscriptions per node (`max_subscribers`). */
  maxSubscribers?: number;
  /** Affiliations per node (`max_affiliations`). */
  maxAffiliations?: number;
  /** Bytes of one item's payload XML (`max_item_size`). */
  maxItemBytes?: number;
  /** Bytes of all item payloads of one account (`max_account_bytes`). */
  maxAccountBytes?: number;
  /** Available resources of contacts on other servers recorded per owner (`remote_resources_per_owner`). */
  remoteResourcesPerOwner: number;
  /** … and per contact (`remote_resources_per_contact`). */
  remoteResourcesPerContact: number;
}

/** Until the pep module sets its options: its defaults (docs/config.md). */
const DEFAULT_LIMITS: PepLimits = {
  maxItems: 1000,
  maxNodes: 100,
  maxSubscribers: 1000,
  maxAffiliations: 1000,
  maxItemBytes: 262_144,
  maxAccountBytes: 16_777_216,
  remoteResourcesPerOwner: 1000,
  remoteResourcesPerContact: 10,
};

/** Per-session memory of which last items went out for this availability (XEP-0163 §4.3.3 rule 2). */
const SENT_LAST = defineSessionState<Set<string>>("pep.sent-last", { shared: false });

const SERVICES = Symbol("PEP service by host");

type PepContext = Pick<
  ModuleContext<unknown>,
  "store" | "host" | "hosts" | "sessions" | "perServer" | "log" | "route" | "notify"
>;

/** What sendLastItems needs of a recipient: a local session or a contact's resource on another server. */
interface LastItemTarget {
  jid: Jid;
  wants(node: string): Promise<boolean>;
  /** Whether `key` (owner and node) already went to it during this availability; `add` records one. */
  sent: { has(key: string): boolean; add(key: string): void };
}

export type PepService = ReturnType<typeof makePepService>;

function engineLimits(l: PepLimits): EngineLimits {
  return {
    ...(l.maxNodes !== undefined ? { maxNodes: l.maxNodes } : {}),
    ...(l.maxSubscribers !== undefined ? { maxSubscribers: l.maxSubscribers } : {}),
    ...(l.maxAffiliations !== undefined ? { maxAffiliations: l.maxAffiliations } : {}),
    ...(l.maxItemBytes !== undefined ? { maxItemBytes: l.maxItemBytes } : {}),
    ...(l.maxAccountBytes !== undefined ? { maxKeyBytes: l.maxAccountBytes } : {}),
  };
}

function makePepService(ctx: PepContext) {
  const { host } = ctx;
  const roster = new RosterStore(ctx);
  // Contacts on other servers whose presence reached an owner of this host (limits: the pep module's options).
  const remote = new RemoteContacts({
    perOwner: DEFAULT_LIMITS.remoteResourcesPerOwner,
    perContact: DEFAULT_LIMITS.remoteResourcesPerContact,
  });
  const policy: ServicePolicy = {
    prefix: "pep",
    label: "PEP",
    rules: pepConfigRules(DEFAULT_LIMITS.maxItems),
    limits: engineLimits(DEFAULT_LIMITS),
    address: (user) => `${user}@${host}`,
    accountOwner: (user) => `${user}@${host}`,
    isAdmin: () => false,
    rosterOwners: (user) => [user],
    targets: (user, nodeName, node, mayRead) =>
      notificationTargets(
        { hosts: ctx.hosts, sessions: ctx.sessions, roster, remote },
        makeJid(user, host),
        nodeName,
        node,
        mayRead,
      ),
    onPublished: ({ key, node, itemId, payload, publisher }) =>
      ctx.notify("pep.published", { host, user: key, node, itemId, payload, publisher }),
    onRetracted: ({ key, node, itemId }) => ctx.notify("pep.retracted", { host, user: key, node, itemId }),
  };
  const engine = createPubsubEngine(ctx, policy);

  /** XEP-0163 §4.3.3 rule 2 / §4.3.4: the last item of each node of `user` the target asks for and may read, once. */
  async function sendLast(target: LastItemTarget, user: string): Promise<void> {
    const owner = makeJid(user, host);
    for (const [nodeName, node] of await engine.store.allNodes(user)) {
      const key = `${owner.bareString()}\0${nodeName}`;
      if (
        target.sent.has(key) ||
        node.config.send_last_published_item !== "on_sub_and_presence" ||
        !node.config.deliver_notifications
      )
        continue;
      if (!(await target.wants(nodeName))) continue;
      if (await engine.accessError(user, node, target.jid)) continue;
      if (target.sent.has(key)) continue; // another presence got there while this one waited
      target.sent.add(key);
      const last = await engine.store.lastItem(user, nodeName);
      if (last)
        engine.send(
          user,
          target.jid.toString(),
          node.config,
          itemsEvent(nodeName, [itemElement(NS_PUBSUB_EVENT, last, node.config.deliver_payloads)]),
          last.when,
        );
    }
  }

  return {
    ...engine,

    /** The available resources of contacts on other servers, per owner of this host. */
    remote,

    /** The pep module's options (at setup and when they change). */
    setLimits(limits: PepLimits): void {
      remote.limits = { perOwner: limits.remoteResourcesPerOwner, perContact: limits.remoteResourcesPerContact };
      policy.rules.limit = limits.maxItems;
      for (const k of Object.keys(policy.limits)) delete policy.limits[k as keyof EngineLimits];
      Object.assign(policy.limits, engineLimits(limits));
    },

    /**
     * XEP-0163 §4.3.3 rule 2 / §4.3.4: `session` (available, caps known) gets the last item of each node of
     * `user` it asks for and may read, once per availability and node.
     */
    async sendLastItems(session: Session, user: string): Promise<void> {
      // A session that advertised no caps asks for no node (wantsNotify is false for each): skip reading the
      // owner's nodes, which every contact's presence in a login would otherwise do.
      if (sessionCaps(session) === undefined) return;
      // Made at the first item sent: most sessions never get one, and an empty set per session adds up.
      const sent = {
        has: (key: string) => session.state.get(SENT_LAST)?.has(key) ?? false,
        add: (key: string) => {
          let set = session.state.get(SENT_LAST);
          if (set === undefined) {
            set = new Set<string>();
            session.state.set(SENT_LAST, set);
          }
          set.add(key);
        },
      };
      await sendLast({ jid: session.jid, wants: (node) => wantsNotify(session, node), sent }, user);
    },

    /**
     * §4.3.3 rule 2 for a contact's resource on another server (recorded in `remote`, caps resolved): the last
     * items of `user`'s nodes it asks for and may read, once per availability.
     */
    async sendLastItemsToRemote(resource: RemoteResource, jid: Jid, user: string): Promise<void> {
      const wants = async (node: string) => (await resource.features)?.has(`${node}+notify`) ?? false;
      await sendLast({ jid, wants, sent: resource.sentLast }, user);
    },

    /** Forgets which last items a session got (it went unavailable). */
    resetLastItems(session: Session): void {
      session.state.delete(SENT_LAST);
    },
  };
}

/** The host's one PEP service (made at the first call; the pep module sets its limits with `setLimits`). */
export function pepService(ctx: PepContext): PepService {
  const byHost = ctx.perServer(SERVICES, () => new Map<string, PepService>());
  let service = byHost.get(ctx.host);
  if (!service) {
    service = makePepService(ctx);
    byHost.set(ctx.host, service);
  }
  return service;
}
