// XEP-0060 Publish-Subscribe as a service on its own domain (pubsub.<host>): nodes any local user may create
// (config `create`), owned through affiliations, with the five access models, publish models, pending
// subscriptions an owner approves, subscription options, persistent items and disco of nodes and items. The
// engine (./engine/) is the one PEP runs on; this module gives it the service's policy: owners are
// affiliations (and server admins), access "open" by default, notifications to the node's subscribers, all
// nodes under one storage key. Off by default.
import { z } from "zod";
import { StanzaError } from "../../core/errors.js";
import { type Jid, tryParseJid } from "../../core/jid.js";
import type { IqRequest } from "../../core/iq-dispatch.js";
import { defineModule, type ModuleContext } from "../../core/modules.js";
import { serveServiceDomain, serviceIqDispatcher } from "../../core/service-domain.js";
import {
  buildDataForm,
  findDataForm,
  formType,
  getField,
  parseDataForm,
  parseFormBoolean,
} from "../../core/xml/data-form.js";
import { Element } from "../../core/xml/element.js";
import {
  NS_DISCO_INFO,
  NS_DISCO_ITEMS,
  NS_PUBSUB,
  NS_PUBSUB_META_DATA,
  NS_PUBSUB_OWNER,
  NS_PUBSUB_SUBSCRIBE_AUTHORIZATION,
} from "../../core/xml/ns.js";
import { RosterStore } from "../roster/roster-store.js";
import { pubsubHandlers } from "./engine/iq-handlers.js";
import { type AccessModel, type ConfigRules, PEP_DEFAULT_CONFIG } from "./engine/node-config.js";
import type { PubsubNode } from "./engine/node-store.js";
import { createPubsubEngine, type ServicePolicy } from "./engine/service.js";

/** The storage key all nodes of the service live under: "@" is in no localpart, so no account's data meets it. */
const SERVICE_KEY = "@service";

const ACCESS_MODELS = ["open", "presence", "roster", "whitelist", "authorize"] as const;

const options = z
  .object({
    /** Hosts that get a service; [] = every host. */
    hosts: z.array(z.string()).default([]),
    /** The service's domain; "" = pubsub.<host>; "{host}" in it stands for the host. */
    domain: z.string().default(""),
    /** Who may create nodes: "local" = users of this server's hosts; "admins" = server admins only; "anyone" = any JID. */
    create: z.enum(["local", "admins", "anyone"]).default("local"),
    /** Access model of a node created without one (XEP-0060 §4.5). */
    default_access_model: z.enum(ACCESS_MODELS).default("open"),
    /** Items a node keeps when created without pubsub#max_items. */
    default_max_items: z.number().int().min(1).max(100_000).default(10),
    /** The most items one node keeps; `pubsub#max_items` "max" means this. */
    max_items_limit: z.number().int().min(1).max(100_000).default(1000),
    /** Nodes on the whole service; one more gets <not-allowed/> + <max-nodes-exceeded/>. */
    max_nodes: z.number().int().min(1).default(10_000),
    /** Nodes one user may own (admins excepted); one more gets <not-allowed/> + <max-nodes-exceeded/>. */
    max_nodes_per_user: z.number().int().min(1).default(100),
    /** Subscriptions (pending ones included) per node; one more gets <policy-violation/> + <too-many-subscriptions/>. */
    max_subscribers: z.number().int().min(1).default(1000),
    /** Affiliations per node; a change leaving more gets <resource-constraint/>. */
    max_affiliations: z.number().int().min(1).default(1000),
    /** Bytes of one item's payload XML; larger gets <not-acceptable/> + <payload-too-big/> (XEP-0060 §7.1.3.4). */
    max_item_size: z.number().int().min(1024).default(65_536),
    /** Bytes of all item payloads of the service; a publish going past it gets <resource-constraint/>. */
    max_service_bytes: z.number().int().min(1024).default(268_435_456),
  })
  .strict();

// XEP-0060 §10 features this service supports; the compliance table reads the same list.
export const PUBSUB_SERVICE_FEATURES = [
  "access-authorize",
  "access-open",
  "access-presence",
  "access-roster",
  "access-whitelist",
  "auto-create",
  "config-node",
  "create-and-configure",
  "create-nodes",
  "delete-items",
  "delete-nodes",
  "instant-nodes",
  "item-ids",
  "last-published",
  "manage-affiliations",
  "manage-subscriptions",
  "member-affiliation",
  "meta-data",
  "modify-affiliations",
  "outcast-affiliation",
  "persistent-items",
  "publish",
  "publish-options",
  "publish-only-affiliation",
  "publisher-affiliation",
  "purge-nodes",
  "retract-items",
  "retrieve-affiliations",
  "retrieve-default",
  "retrieve-default-sub",
  "retrieve-items",
  "retrieve-subscriptions",
  "subscribe",
  "subscription-notifications",
  "subscription-options",
].map((f) => `${NS_PUBSUB}#${f}`);

export default defineModule({
  name: "pubsub",
  // Every publish reads the node's configuration and subscribers.
  cachedStores: ["pubsub-nodes"],
  specs: [
    {
      xep: 60,
      version: "1.26.0",
      status: "partial",
      note: "service at pubsub.<host>: leaf nodes only (no collections), subscription option pubsub#deliver only, no get-pending command",
    },
  ],
  depends: ["roster"],
  options,
  setup(ctx) {
    const { host } = ctx;
    const o = ctx.options;
    const unknown = o.hosts.filter((h) => !ctx.hosts.has(h));
    if (unknown.length > 0 && [...ctx.hosts][0] === host)
      ctx.log.warn({ hosts: unknown }, "pubsub: hosts not served here");
    if (o.hosts.length > 0 && !o.hosts.includes(host)) return;
    const configured = o.domain.replaceAll("{host}", host);
    const domain = configured === "" ? `pubsub.${host}` : (tryParseJid(configured)?.domain ?? configured);
    const roster = new RosterStore(ctx);
    const isAdmin = (bare: string) => ctx.admins.has(bare);

    const rules: ConfigRules = {
      // XEP-0060 §4.5 / §16.4.3: a service node is open unless configured; the last item goes to new subscribers.
      defaults: {
        ...PEP_DEFAULT_CONFIG,
        access_model: o.default_access_model as AccessModel,
        max_items: Math.min(o.default_max_items, o.max_items_limit),
        send_last_published_item: "on_sub",
        publish_model: "publishers",
      },
      accessModels: ACCESS_MODELS,
      publishModels: ["publishers", "subscribers", "open"],
      limit: o.max_items_limit,
    };
    const ownersOf = (node: PubsubNode) =>
      Object.entries(node.affiliations)
        .filter(([, a]) => a === "owner")
        .map(([jid]) => jid);

    const policy: ServicePolicy = {
      prefix: "pubsub",
      label: "pubsub",
      rules,
      limits: {
        maxNodes: o.max_nodes,
        maxNodesPerOwner: o.max_nodes_per_user,
        maxSubscribers: o.max_subscribers,
        maxAffiliations: o.max_affiliations,
        maxItemBytes: o.max_item_size,
        maxKeyBytes: o.max_service_bytes,
      },
      address: () => domain,
      accountOwner: () => undefined,
      isAdmin,
      // Presence and roster access read the rosters of the node's owners that are users of this host.
      rosterOwners: (_key, node) =>
        ownersOf(node)
          .map((jid) => tryParseJid(jid))
          .filter((j): j is Jid => j !== undefined && j.domain === host && j.local !== "")
          .map((j) => j.local),
      // §7.1.2.1: every subscriber that asked for delivery (§6.3 pubsub#deliver) and may still read the node.
      async targets(_key, _name, node, mayRead) {
        const out: string[] = [];
        for (const jid of Object.keys(node.subscribers)) {
          const sub = tryParseJid(jid);
          if (!sub || node.subOptions?.[jid]?.deliver === false || !(await mayRead(sub))) continue;
          out.push(jid);
        }
        return out;
      },
    };
    const engine = createPubsubEngine(ctx, policy);

    const mayCreate = (from: Jid) => {
      if (isAdmin(from.bareString())) return true;
      switch (ctx.options.create) {
        case "anyone":
          return true;
        case "local":
          return from.local !== "" && ctx.hosts.has(from.domain);
        default:
          return false;
      }
    };
    const handlers = pubsubHandlers(engine, {
      keyOf: () => SERVICE_KEY,
      mayCreate: (iq) => mayCreate(iq.from),
      instantNodes: true,
      settableAffiliations: ["owner", "publisher", "publish-only", "member", "outcast", "none"],
      rosterGroups: async (iq) =>
        iq.from.domain === host && iq.from.local !== ""
          ? [...new Set((await roster.getAll(iq.from.local)).flatMap((i) => i.groups))].sort()
          : [],
      accountOwner: () => undefined,
    });

    const owner = `${ctx.name}@${host}`;
    const iq = serviceIqDispatcher(
      ctx as ModuleContext<unknown>,
      domain,
      owner,
      () => {
        const query = new Element("query", NS_DISCO_INFO);
        // XEP-0060 §5.1: identity pubsub/service and the features supported.
        query.c("identity", NS_DISCO_INFO, {
          category: "pubsub",
          type: "service",
          name: `Publish-subscribe of ${host}`,
        });
        for (const f of [NS_DISCO_INFO, NS_DISCO_ITEMS, NS_PUBSUB, NS_PUBSUB_OWNER, ...PUBSUB_SERVICE_FEATURES])
          query.c("feature", NS_DISCO_INFO, { var: f });
        return query;
      },
      {
        // §5.3 / §5.4: a node's identity (leaf) and its meta-data.
        async info(name) {
          const node = await engine.store.node(SERVICE_KEY, name);
          if (!node) return undefined;
          const meta = buildDataForm({
            type: "result",
            fields: [
              { var: "FORM_TYPE", type: "hidden", values: [NS_PUBSUB_META_DATA] },
              { var: "pubsub#access_model", values: [node.config.access_model] },
              { var: "pubsub#publish_model", values: [node.config.publish_model ?? "publishers"] },
              { var: "pubsub#owner", type: "jid-multi", values: ownersOf(node) },
              { var: "pubsub#title", values: [node.config.title] },
              { var: "pubsub#creation_date", values: [new Date(node.created).toISOString()] },
            ],
          });
          return [
            new Element("identity", NS_DISCO_INFO, { category: "pubsub", type: "leaf" }),
            new Element("feature", NS_DISCO_INFO, { var: NS_PUBSUB }),
            meta,
          ];
        },
        // §5.2: the nodes; §5.5: a node's items as disco items (for whoever may read them).
        async items(name, from) {
          if (name === undefined) {
            const out: Element[] = [];
            for (const [nodeName, node] of await engine.store.allNodes(SERVICE_KEY))
              out.push(
                new Element("item", NS_DISCO_ITEMS, {
                  jid: domain,
                  node: nodeName,
                  ...(node.config.title ? { name: node.config.title } : {}),
                }),
              );
            return out;
          }
          const node = await engine.store.node(SERVICE_KEY, name);
          if (!node) return undefined;
          const denied = await engine.accessError(SERVICE_KEY, node, from);
          if (denied) throw denied;
          return (await engine.store.getItems(SERVICE_KEY, name)).map(
            (i) => new Element("item", NS_DISCO_ITEMS, { jid: domain, name: i.id }),
          );
        },
      },
    );
    /** Each refusal gets a log line (the limits log their own at info). */
    const logged =
      (handler: (r: IqRequest) => Promise<Element | undefined>) =>
      async (r: IqRequest): Promise<Element | undefined> => {
        try {
          return await handler(r);
        } catch (err) {
          if (err instanceof StanzaError)
            ctx.log.debug(
              { from: r.from.toString(), request: r.payload.elements()[0]?.name, condition: err.condition },
              "pubsub request refused",
            );
          throw err;
        }
      };
    iq.register(domain, "host", "set", NS_PUBSUB, "pubsub", logged(handlers.set), owner);
    iq.register(domain, "host", "get", NS_PUBSUB, "pubsub", logged(handlers.get), owner);
    iq.register(domain, "host", "get", NS_PUBSUB_OWNER, "pubsub", logged(handlers.ownerGet), owner);
    iq.register(domain, "host", "set", NS_PUBSUB_OWNER, "pubsub", logged(handlers.ownerSet), owner);

    /** §8.6: an owner's submitted subscribe_authorization form, in a message to the service. */
    async function authorizationAnswer(stanza: Element, from: Jid): Promise<boolean> {
      const x = findDataForm(stanza);
      if (!x) return false;
      const form = parseDataForm(x);
      if (formType(form) !== NS_PUBSUB_SUBSCRIBE_AUTHORIZATION) return false;
      if (form.type === "cancel") return true;
      const nodeName = getField(form, "pubsub#node")?.values[0];
      const subscriber = tryParseJid(getField(form, "pubsub#subscriber_jid")?.values[0]);
      const allow = parseFormBoolean(getField(form, "pubsub#allow")?.values[0]);
      if (form.type !== "submit" || !nodeName || !subscriber || allow === undefined)
        throw new StanzaError(
          "bad-request",
          "a submitted subscribe_authorization form names the node, the subscriber and pubsub#allow",
        );
      const answered = await engine.authorize(SERVICE_KEY, nodeName, subscriber.toString(), allow, from);
      ctx.log.info(
        { node: nodeName, subscriber: subscriber.toString(), allow, by: from.bareString(), answered },
        "pubsub subscription request answered",
      );
      return true;
    }

    serveServiceDomain(ctx as ModuleContext<unknown>, host, domain, iq, async (stanza, to) => {
      const from = tryParseJid(stanza.attrs.from);
      if (!from || stanza.name === "presence" || stanza.attrs.type === "error") return;
      if (stanza.name === "message" && to.local === "" && to.resource === "") {
        try {
          if (await authorizationAnswer(stanza, from)) return;
        } catch (err) {
          if (!(err instanceof StanzaError)) throw err;
          ctx.log.debug({ from: from.toString(), condition: err.condition }, "pubsub: authorization answer refused");
          ctx.bounce(stanza, err);
          return;
        }
      }
      // RFC 6120 §8.3.3.19: nothing else here takes messages or IQs.
      ctx.bounce(stanza, new StanzaError("service-unavailable"));
    });

    // A deleted account's nodes go with it when it was their only owner (nobody could manage them, and a new
    // account with the same name is someone else); it loses its affiliations and subscriptions elsewhere.
    ctx.hook("account.deleted", async ({ host: h, user }) => {
      const bare = `${user}@${h}`;
      for (const [name, node] of await engine.store.allNodes(SERVICE_KEY)) {
        const owners = ownersOf(node);
        if (owners.length !== 1 || owners[0] !== bare) continue;
        await engine.deleteNode(SERVICE_KEY, name);
        ctx.log.info({ user: bare, node: name }, "pubsub node of a deleted account deleted");
      }
      const changed = await engine.forgetAddress(SERVICE_KEY, bare);
      if (changed > 0) ctx.log.info({ user: bare, nodes: changed }, "pubsub affiliations of a deleted account removed");
    });
  },
});
