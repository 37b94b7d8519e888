// XEP-0163 Personal Eventing Protocol: every account is a XEP-0060 pubsub service at its bare JID, with
// nodes auto-created on publish, presence-based and caps-filtered notifications (via the caps module),
// the last item sent to newly available interested resources, and the access models of XEP-0060 §4.5.
import { z } from "zod";
import { type Jid, tryParseJid } from "../../core/jid.js";
import { defineModule } from "../../core/modules.js";
import { createPerKeyQueue } from "../../core/per-key-queue.js";
import { buildDataForm } from "../../core/xml/data-form.js";
import { Element } from "../../core/xml/element.js";
import { NS_CAPS, NS_DISCO_ITEMS, NS_PUBSUB, NS_PUBSUB_META_DATA, NS_PUBSUB_OWNER } from "../../core/xml/ns.js";
import { capsResolver } from "../caps/caps-resolvers.js";
import { pubsubHandlers } from "../pubsub/engine/iq-handlers.js";
import { RosterStore } from "../roster/roster-store.js";
import { hasTo } from "../roster/subscription-state.js";
import type { RemoteResource } from "./remote-contacts.js";
import { pepService } from "./service.js";

const options = z
  .object({
    /** The most items one node keeps; `pubsub#max_items` "max" means this. */
    max_items_limit: z.number().int().min(1).max(100_000).default(1000),
    /** Nodes one account may have; creating (or auto-creating by publishing to) one more gets <not-allowed/> + <max-nodes-exceeded/>. */
    max_nodes: z.number().int().min(1).default(100),
    /** Explicit subscriptions per node; one more gets <policy-violation/> + <too-many-subscriptions/> (XEP-0060 §6.1.3.9). */
    max_subscribers: z.number().int().min(1).default(1000),
    /** Affiliations (members, outcasts) per node; a change leaving more gets <resource-constraint/>. */
    max_affiliations: z.number().int().min(1).default(1000),
    /** Bytes of one item's payload XML; larger gets <not-acceptable/> + <payload-too-big/> (XEP-0060 §7.1.3.4). */
    max_item_size: z.number().int().min(1024).default(262_144),
    /** Bytes of all item payloads of one account together; a publish going past it gets <resource-constraint/>. */
    max_account_bytes: z.number().int().min(1024).default(16_777_216),
    /**
     * Available resources of contacts on other servers remembered per account (from their presence, for
     * XEP-0163 §4.3 notifications); a presence from one more is not recorded (that resource gets no PEP events).
     */
    remote_resources_per_owner: z.number().int().min(1).default(1000),
    /** … of which one contact may have at most this many (one remote contact cannot take an account's share). */
    remote_resources_per_contact: z.number().int().min(1).default(10),
  })
  .strict();

// XEP-0060 §10 feature names this service supports (XEP-0163 §6.1: all supported pubsub features); the
// compliance table reads the same list (src/compliance/disco-features.ts).
export const PEP_FEATURES = [
  "access-open",
  "access-presence",
  "access-roster",
  "access-whitelist",
  "auto-create",
  "auto-subscribe",
  "config-node",
  "create-and-configure",
  "create-nodes",
  "delete-items",
  "delete-nodes",
  "filtered-notifications",
  "last-published",
  "manage-affiliations",
  "member-affiliation",
  "outcast-affiliation",
  "persistent-items",
  "presence-notifications",
  "publish",
  "publish-options",
  "purge-nodes",
  "retract-items",
  "retrieve-affiliations",
  "retrieve-default",
  "retrieve-items",
  "retrieve-subscriptions",
  "subscribe",
].map((f) => `${NS_PUBSUB}#${f}`);

export { type PepService, pepService } from "./service.js";

export default defineModule({
  name: "pep",
  // Every available presence reaching an owner reads its node configurations (XEP-0163 §4.3.3 last items).
  cachedStores: ["pep-nodes"],
  specs: [
    {
      xep: 163,
      version: "1.2.2",
      status: "complete",
      note: "contacts on every host of this server and on other servers (their presence and caps, §4.3)",
    },
    {
      xep: 60,
      version: "1.26.0",
      status: "partial",
      note: "PEP subset: no subscription options, no pending subscriptions, no collections",
    },
    { xep: 223, version: "1.1.1", status: "complete", note: "whitelist + persist_items via publish-options" },
  ],
  depends: ["roster", "caps"],
  options,
  setup(ctx) {
    const { host } = ctx;
    const o = ctx.options;
    // The host's one PEP service, shared with bookmarks, vCard4 and avatar conversion: this module's limits.
    const pep = pepService(ctx);
    const applyLimits = (opts: typeof o) =>
      pep.setLimits({
        maxItems: opts.max_items_limit,
        maxNodes: opts.max_nodes,
        maxSubscribers: opts.max_subscribers,
        maxAffiliations: opts.max_affiliations,
        maxItemBytes: opts.max_item_size,
        maxAccountBytes: opts.max_account_bytes,
        remoteResourcesPerOwner: opts.remote_resources_per_owner,
        remoteResourcesPerContact: opts.remote_resources_per_contact,
      });
    applyLimits(o);
    ctx.onOptionsChanged((next) => applyLimits(next));
    const roster = new RosterStore(ctx);
    const isAccount = (iq: { from: { bareString(): string }; to: { bareString(): string } }) =>
      iq.from.bareString() === iq.to.bareString();
    const handlers = pubsubHandlers(pep, {
      keyOf: (iq) => iq.to.local,
      // XEP-0163 §2.2: the account owns its nodes; only it creates them (by publishing, §3 auto-create).
      mayCreate: isAccount,
      instantNodes: false,
      // PEP has one owner and publisher (XEP-0163 §2.2): only member, outcast and none are set.
      settableAffiliations: ["member", "outcast", "none"],
      rosterGroups: async (iq) => [...new Set((await roster.getAll(iq.to.local)).flatMap((i) => i.groups))].sort(),
      accountOwner: (iq) => iq.to.bareString(),
    });

    ctx.iq("account", "set", NS_PUBSUB, "pubsub", (iq) => handlers.set(iq));
    ctx.iq("account", "get", NS_PUBSUB, "pubsub", (iq) => handlers.get(iq));
    ctx.iq("account", "get", NS_PUBSUB_OWNER, "pubsub", (iq) => handlers.ownerGet(iq));
    ctx.iq("account", "set", NS_PUBSUB_OWNER, "pubsub", (iq) => handlers.ownerSet(iq));
    for (const f of PEP_FEATURES) ctx.feature(f, "account");

    const detached = (p: Promise<void>) =>
      void p.catch((err: unknown) => ctx.log.error({ err }, "sending last PEP items failed"));

    // XEP-0163 §4.3.4: the owner's own newly available resources get the last items they ask for. Not awaited:
    // the caps of this session may need its own answer to a disco#info query.
    ctx.hook("presence.broadcast", ({ session, stanza }) => {
      if (session.jid.domain !== host) return;
      if (stanza.attrs.type === "unavailable") return pep.resetLastItems(session);
      detached(pep.sendLastItems(session, session.jid.local));
    });

    // §4.3.3 rule 2: available presence from a contact's resource reaching an owner's bare JID. A contact on any
    // host of this server is a session here (its caps known to its host's caps module); one on another server is
    // recorded from this presence (remote-contacts.ts), its caps resolved through the caps module's cache.
    ctx.hookFirst(
      "presence.inbound",
      ({ stanza, to }) => {
        const type = stanza.attrs.type;
        if (to.domain !== host || to.resource !== "" || (type !== undefined && type !== "unavailable"))
          return undefined;
        const from = tryParseJid(stanza.attrs.from);
        if (!from || from.resource === "" || from.bareString() === to.bareString()) return undefined;
        if (ctx.hosts.has(from.domain)) {
          const session = type === undefined ? ctx.sessions.get(from) : undefined;
          if (session?.available && session.priority >= 0) detached(pep.sendLastItems(session, to.local));
          return undefined;
        }
        // In arrival order per resource (an unavailable must not overtake the available before it), the last
        // items outside the queue: they may wait for the resource's disco#info answer.
        const key = `${to.local}\0${from.toString()}`;
        if (type === "unavailable")
          detached(
            presenceOrder(key, async () => pep.remote.unavailable(to.local, from.bareString(), from.toString())),
          );
        else
          detached(
            presenceOrder(key, () => recordRemote(to.local, from, stanza)).then((resource) =>
              resource && resource.priority >= 0 ? pep.sendLastItemsToRemote(resource, from, to.local) : undefined,
            ),
          );
        return undefined;
      },
      { priority: 50 },
    );

    const presenceOrder = createPerKeyQueue();

    /**
     * Available presence from a remote contact's resource `from` to `owner` (a localpart of this host): recorded
     * with its priority and caps (features resolved by the caps module); undefined when not recorded.
     */
    async function recordRemote(owner: string, from: Jid, stanza: Element): Promise<RemoteResource | undefined> {
      // §4 rule 2: a contact whose presence the owner receives (as for local contacts); anyone else's directed
      // presence is not recorded, so strangers take no room in the owner's record.
      const item = await roster.get(owner, from.bareString());
      if (!item || !hasTo(item.subscription)) return undefined;
      const recorded = pep.remote.available(owner, from.bareString(), from.toString());
      if (!recorded) {
        ctx.log.info(
          { owner: `${owner}@${host}`, contact: from.toString(), limits: pep.remote.limits },
          "remote contact resource not recorded for PEP: remote_resources_per_owner or _per_contact reached",
        );
        return undefined;
      }
      const { resource } = recorded;
      const priority = Number.parseInt(stanza.getChildText("priority") ?? "0", 10);
      resource.priority = Number.isFinite(priority) ? priority : 0;
      const c = stanza.getChild("c", NS_CAPS);
      const capsKey = c ? `${c.attrs.node ?? ""}\0${c.attrs.ver ?? ""}\0${c.attrs.hash ?? ""}` : "";
      if (capsKey !== resource.capsKey) {
        resource.capsKey = capsKey;
        const resolver = capsResolver(ctx, host);
        const { node, ver, hash } = c?.attrs ?? {};
        resource.features =
          resolver && node !== undefined && ver !== undefined
            ? resolver.resolve(from, node, ver, hash)
            : Promise.resolve(undefined);
      }
      // A presence update then sends only what did not go yet (new interests); unavailable starts over.
      return resource;
    }

    // The s2s link from a remote domain went down: its users' unavailable presence can no longer come, so what
    // was recorded of them is forgotten (they announce themselves again when their server reconnects).
    ctx.hook("s2s.inbound-closed", ({ local, remote }) => {
      if (local !== host) return;
      const dropped = pep.remote.dropDomain(remote);
      if (dropped > 0) ctx.log.debug({ remote, dropped }, "PEP: remote contact resources forgotten (s2s link closed)");
    });

    // A deleted account (of any host) loses its place on this host's users' whitelists and subscriber lists.
    // Every local owner is visited: account deletion is rare, and no index maps a JID to the nodes naming it.
    ctx.hook("account.deleted", async ({ host: deletedHost, user: deletedUser }) => {
      if (deletedHost === host) pep.remote.dropOwner(deletedUser);
      const bare = `${deletedUser}@${deletedHost}`;
      // A host whose accounts live elsewhere may not list them (HTTP, extauth) or not now (directory down).
      const owners = await ctx.accounts.listUsers(host).catch((err: Error) => {
        ctx.log.warn(
          { user: bare, error: err.message },
          "cannot list this host's accounts: PEP affiliations of a deleted account kept",
        );
        return [] as string[];
      });
      for (const owner of owners) {
        const changed = await pep.forgetAddress(owner, bare);
        if (changed > 0)
          ctx.log.info(
            { owner: `${owner}@${host}`, user: bare, nodes: changed },
            "PEP affiliations of a deleted account removed",
          );
      }
    });

    // §6.1: identity pubsub/pep on the account; §5.4-style node metadata for a node the requester may read.
    ctx.hookFold("disco.info", async ({ to, from, node }) => {
      if (to.domain !== host || to.local === "" || to.resource !== "") return undefined;
      if (node === undefined) return { identities: [{ category: "pubsub", type: "pep" }] };
      const stored = await pep.store.node(to.local, node);
      if (!stored || (await pep.accessError(to.local, stored, from))) return undefined;
      const meta = buildDataForm({
        type: "result",
        fields: [
          { var: "FORM_TYPE", type: "hidden", values: [NS_PUBSUB_META_DATA] },
          { var: "pubsub#access_model", values: [stored.config.access_model] },
          { var: "pubsub#owner", values: [to.bareString()] },
          ...(stored.config.title ? [{ var: "pubsub#title", values: [stored.config.title] }] : []),
        ],
      });
      return { identities: [{ category: "pubsub", type: "leaf" }], features: [NS_PUBSUB], forms: [meta] };
    });

    // XEP-0060 §5.2 / XEP-0163 §6.2: the nodes the requester may read; §5.5: the items of one node.
    ctx.hookFold("disco.items", async ({ to, from, node }) => {
      if (to.domain !== host || to.local === "" || to.resource !== "") return undefined;
      const out: Element[] = [];
      const owner = to.bareString();
      if (node === undefined) {
        for (const [name, stored] of await pep.store.allNodes(to.local)) {
          if (!(await pep.accessError(to.local, stored, from)))
            out.push(new Element("item", NS_DISCO_ITEMS, { jid: owner, node: name }));
        }
        return out;
      }
      const stored = await pep.store.node(to.local, node);
      if (!stored || (await pep.accessError(to.local, stored, from))) return undefined;
      for (const item of await pep.store.getItems(to.local, node))
        out.push(new Element("item", NS_DISCO_ITEMS, { jid: owner, name: item.id }));
      return out;
    });
  },
});
