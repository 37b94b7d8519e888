// The XEP-0060 requests a pubsub service answers, PEP at a user's bare JID (XEP-0163 §5) and the pubsub.<host>
// service alike: the pubsub namespace (publish, retract, create, subscribe, unsubscribe, options, items,
// subscriptions, affiliations) and pubsub#owner (configure, default, delete, purge, affiliations,
// subscriptions). Each returns the result payload. HandlerPolicy says where the two services differ.
import { StanzaError } from "../../../core/errors.js";
import type { IqRequest } from "../../../core/iq-dispatch.js";
import { type Jid, tryParseJid } from "../../../core/jid.js";
import {
  buildDataForm,
  type DataForm,
  findDataForm,
  formType,
  getField,
  parseDataForm,
  parseFormBoolean,
} from "../../../core/xml/data-form.js";
import { Element } from "../../../core/xml/element.js";
import {
  NS_PUBSUB,
  NS_PUBSUB_NODE_CONFIG,
  NS_PUBSUB_OWNER,
  NS_PUBSUB_PUBLISH_OPTIONS,
  NS_PUBSUB_SUBSCRIBE_OPTIONS,
} from "../../../core/xml/ns.js";
import { itemElement, newItemId, pubsubError } from "./codec.js";
import { configForm } from "./node-config.js";
import type { SubscriptionOptions } from "./node-store.js";
import type { PubsubEngine } from "./service.js";

export interface HandlerPolicy {
  /** The key of the nodes this request addresses (PEP: the account's localpart). */
  keyOf(iq: IqRequest): string;
  /** Whether the requester may create nodes here (§8.1.3.1), auto-create on publish included. */
  mayCreate(iq: IqRequest): boolean;
  /** §8.1.2 instant nodes (a create without a node name gets one made up). */
  instantNodes: boolean;
  /** Affiliations an owner may set (§8.9.2); PEP: member, outcast and none (XEP-0163 §2.2). */
  settableAffiliations: readonly string[];
  /** Roster groups offered in the configuration form's roster_groups_allowed. */
  rosterGroups(iq: IqRequest): Promise<string[]>;
  /** The JID listed as owner besides the node's affiliations (PEP: the account). */
  accountOwner(iq: IqRequest): string | undefined;
}

function nodeOf(el: Element): string {
  const node = el.attrs.node;
  if (node === undefined || node === "") throw pubsubError("bad-request", "nodeid-required"); // §7.2.3.3 and alike
  return node;
}

/** The one action element of a <pubsub/>, with its allowed companion (publish-options, configure, options). */
function action(payload: Element, companion?: string): { el: Element; extra: Element | undefined } {
  const children = payload.elements();
  const main = children.filter((c) => c.name !== companion);
  if (main.length !== 1) throw new StanzaError("bad-request", "one pubsub action per request");
  return { el: main[0] as Element, extra: companion ? children.find((c) => c.name === companion) : undefined };
}

/** A form inside publish-options / configure / options: a submitted form of the expected FORM_TYPE, or undefined. */
function submittedForm(parent: Element | undefined, expected: string): DataForm | undefined {
  const x = parent && findDataForm(parent);
  if (!x) return undefined;
  const form = parseDataForm(x);
  if (form.type === "cancel") return undefined;
  if (form.type !== "submit") throw new StanzaError("bad-request", "a submitted data form is expected");
  const ft = formType(form);
  if (ft !== undefined && ft !== expected) throw new StanzaError("bad-request", `FORM_TYPE must be ${expected}`);
  return form;
}

function subscriberJid(el: Element, iq: IqRequest): Jid {
  const jid = tryParseJid(el.attrs.jid);
  // §6.1.3.1 / §6.2.3.3: the JID must be the requester's own (bare or full).
  if (!jid || jid.bareString() !== iq.from.bareString()) throw pubsubError("bad-request", "invalid-jid");
  return jid;
}

/** §6.3: subscription options from a submitted pubsub#subscribe_options form (pubsub#deliver is kept). */
function optionsFrom(form: DataForm): SubscriptionOptions {
  const deliver = getField(form, "pubsub#deliver");
  if (deliver === undefined) return { deliver: true };
  const value = parseFormBoolean(deliver.values[0]);
  if (value === undefined) throw pubsubError("bad-request", "invalid-options"); // §6.3.6.? invalid options
  return { deliver: value };
}

function optionsForm(options: SubscriptionOptions): Element {
  return buildDataForm({
    type: "form",
    fields: [
      { var: "FORM_TYPE", type: "hidden", values: [NS_PUBSUB_SUBSCRIBE_OPTIONS] },
      {
        var: "pubsub#deliver",
        type: "boolean",
        label: "Enable delivery?",
        values: [options.deliver ? "1" : "0"],
      },
    ],
  });
}

export function pubsubHandlers(engine: PubsubEngine, hp: HandlerPolicy) {
  const pubsub = (...children: Element[]) => new Element("pubsub", NS_PUBSUB, {}, children);
  const owner = (...children: Element[]) => new Element("pubsub", NS_PUBSUB_OWNER, {}, children);
  const { store } = engine;

  /** The node for an owner request: forbidden for a non-owner (§8.2.3.3 …), item-not-found when absent. */
  async function ownedNode(iq: IqRequest, name: string) {
    const key = hp.keyOf(iq);
    const account = hp.accountOwner(iq);
    // PEP: only the account acts as owner, whether or not the node exists.
    if (account !== undefined && engine.affiliation(key, undefined, iq.from) !== "owner")
      throw pubsubError("forbidden", undefined);
    const node = await store.node(key, name);
    if (!node) throw pubsubError("item-not-found", undefined);
    if (engine.affiliation(key, node, iq.from) !== "owner") throw pubsubError("forbidden", undefined);
    return node;
  }

  /** PEP: only the account publishes, retracts and creates (XEP-0163 §2.2); forbidden for anyone else (§7.1.3.1). */
  function requireAccount(iq: IqRequest): void {
    const account = hp.accountOwner(iq);
    if (account !== undefined && engine.affiliation(hp.keyOf(iq), undefined, iq.from) !== "owner")
      throw pubsubError("forbidden", undefined);
  }

  const optionsElement = (node: string, jid: string, opts: SubscriptionOptions) =>
    new Element("options", NS_PUBSUB, { node, jid }, [optionsForm(opts)]);

  return {
    async set(iq: IqRequest): Promise<Element | undefined> {
      const key = hp.keyOf(iq);
      const companion = iq.payload.getChild("publish")
        ? "publish-options"
        : iq.payload.getChild("subscribe")
          ? "options"
          : "configure";
      const { el, extra } = action(iq.payload, companion);
      switch (el.name) {
        case "publish": {
          const node = nodeOf(el);
          requireAccount(iq);
          const items = el.getChildren("item");
          if (items.length !== 1)
            throw pubsubError("bad-request", items.length === 0 ? "item-required" : "invalid-payload"); // §7.1.3.6
          const item = items[0] as Element;
          const payloads = item.elements();
          if (payloads.length > 1) throw pubsubError("bad-request", "invalid-payload"); // §7.1.3.5
          if (payloads.length === 0) throw pubsubError("bad-request", "payload-required"); // §7.1.3.6
          const options = submittedForm(extra, NS_PUBSUB_PUBLISH_OPTIONS);
          const id = await engine.publish(
            key,
            node,
            {
              ...(item.attrs.id ? { id: item.attrs.id } : {}),
              payload: payloads[0],
              publisher: iq.from,
              ...(options ? { options } : {}),
            },
            hp.mayCreate(iq),
          );
          // §7.1.2: the result names the item (its id is needed when the service generated it).
          return pubsub(new Element("publish", NS_PUBSUB, { node }, [new Element("item", NS_PUBSUB, { id })]));
        }
        case "retract": {
          const node = nodeOf(el);
          requireAccount(iq);
          const id = el.getChild("item")?.attrs.id;
          if (!id) throw pubsubError("bad-request", "item-required"); // §7.2.3.4
          const notify = el.attrs.notify === "true" || el.attrs.notify === "1";
          await engine.retract(key, node, id, notify, iq.from);
          return undefined;
        }
        case "create": {
          if (!hp.mayCreate(iq)) throw pubsubError("forbidden", undefined); // §8.1.3.1
          const given = el.attrs.node;
          // §8.1.3.? PEP offers no instant nodes (one node per namespace, XEP-0163 §2.3).
          if (!given && !hp.instantNodes) throw pubsubError("not-acceptable", "nodeid-required");
          const node = given || newItemId(); // §8.1.2 instant node
          await engine.create(key, node, submittedForm(extra, NS_PUBSUB_NODE_CONFIG), iq.from);
          // §8.1.2: the name of an instant node is returned; otherwise the result may be empty.
          return given ? undefined : pubsub(new Element("create", NS_PUBSUB, { node }));
        }
        case "subscribe": {
          const node = nodeOf(el);
          const form = submittedForm(extra, NS_PUBSUB_SUBSCRIBE_OPTIONS);
          const { subid, state } = await engine.subscribe(
            key,
            node,
            subscriberJid(el, iq),
            form ? optionsFrom(form) : undefined,
          );
          return pubsub(
            new Element("subscription", NS_PUBSUB, { node, jid: el.attrs.jid as string, subid, subscription: state }),
          );
        }
        case "unsubscribe": {
          const node = nodeOf(el);
          if (!(await engine.unsubscribe(key, node, subscriberJid(el, iq))))
            throw pubsubError("unexpected-request", "not-subscribed"); // §6.2.3.2
          return undefined;
        }
        case "options": {
          // §6.3.5: submitting subscription options.
          const node = nodeOf(el);
          const form = submittedForm(el, NS_PUBSUB_SUBSCRIBE_OPTIONS);
          if (!form) throw pubsubError("bad-request", "invalid-options");
          await engine.setSubscriptionOptions(key, node, subscriberJid(el, iq), optionsFrom(form));
          return undefined;
        }
        default:
          throw new StanzaError("bad-request", `unknown pubsub request <${el.name}/>`);
      }
    },

    async get(iq: IqRequest): Promise<Element | undefined> {
      const key = hp.keyOf(iq);
      const { el } = action(iq.payload);
      switch (el.name) {
        case "items": {
          const node = nodeOf(el);
          const ids = el.getChildren("item").map((i) => i.attrs.id ?? "");
          const maxAttr = el.attrs.max_items;
          const max = maxAttr === undefined ? undefined : Number(maxAttr);
          if (max !== undefined && (!Number.isInteger(max) || max < 1))
            throw new StanzaError("bad-request", "max_items must be a positive integer");
          const items = await engine.items(key, node, iq.from, {
            ...(ids.length > 0 ? { ids } : {}),
            ...(max !== undefined ? { max } : {}),
          });
          return pubsub(
            new Element(
              "items",
              NS_PUBSUB,
              { node },
              items.map((i) => itemElement(NS_PUBSUB, i)),
            ),
          );
        }
        case "options": {
          // §6.3.2: the options form of the requester's subscription.
          const node = nodeOf(el);
          const jid = subscriberJid(el, iq);
          return pubsub(optionsElement(node, jid.toString(), await engine.subscriptionOptions(key, node, jid)));
        }
        case "default": {
          // §6.4: the default subscription options.
          return pubsub(
            new Element("default", NS_PUBSUB, el.attrs.node ? { node: el.attrs.node } : {}, [
              optionsForm({ deliver: true }),
            ]),
          );
        }
        case "subscriptions": {
          // §5.6: the requester's own subscriptions at this service.
          const out = new Element("subscriptions", NS_PUBSUB, el.attrs.node ? { node: el.attrs.node } : {});
          const mine = (jid: string) => tryParseJid(jid)?.bareString() === iq.from.bareString();
          for (const [name, node] of await store.allNodes(key)) {
            if (el.attrs.node !== undefined && name !== el.attrs.node) continue;
            for (const [jid, subid] of Object.entries(node.subscribers))
              if (mine(jid)) out.c("subscription", NS_PUBSUB, { node: name, jid, subid, subscription: "subscribed" });
            for (const [jid, subid] of Object.entries(node.pending ?? {}))
              if (mine(jid)) out.c("subscription", NS_PUBSUB, { node: name, jid, subid, subscription: "pending" });
          }
          return pubsub(out);
        }
        case "affiliations": {
          // §5.7: the requester's affiliations.
          const out = new Element("affiliations", NS_PUBSUB, el.attrs.node ? { node: el.attrs.node } : {});
          for (const [name, node] of await store.allNodes(key)) {
            if (el.attrs.node !== undefined && name !== el.attrs.node) continue;
            const affiliation = engine.affiliation(key, node, iq.from);
            if (affiliation !== "none") out.c("affiliation", NS_PUBSUB, { node: name, affiliation });
          }
          return pubsub(out);
        }
        default:
          throw new StanzaError("feature-not-implemented", `<${el.name}/> is not offered`);
      }
    },

    async ownerGet(iq: IqRequest): Promise<Element | undefined> {
      const { el } = action(iq.payload);
      switch (el.name) {
        case "configure": {
          const node = nodeOf(el);
          const stored = await ownedNode(iq, node);
          return owner(
            new Element("configure", NS_PUBSUB_OWNER, { node }, [
              configForm(stored.config, await hp.rosterGroups(iq), engine.rules),
            ]),
          );
        }
        case "default": // §8.3
          if (!hp.mayCreate(iq)) throw pubsubError("forbidden", undefined);
          return owner(
            new Element("default", NS_PUBSUB_OWNER, {}, [
              configForm(engine.rules.defaults, await hp.rosterGroups(iq), engine.rules),
            ]),
          );
        case "affiliations": {
          // §8.9.1
          const node = nodeOf(el);
          const stored = await ownedNode(iq, node);
          const out = new Element("affiliations", NS_PUBSUB_OWNER, { node });
          const account = hp.accountOwner(iq);
          if (account) out.c("affiliation", NS_PUBSUB_OWNER, { jid: account, affiliation: "owner" });
          for (const [jid, affiliation] of Object.entries(stored.affiliations))
            out.c("affiliation", NS_PUBSUB_OWNER, { jid, affiliation });
          return owner(out);
        }
        case "subscriptions": {
          // §8.8.1
          const node = nodeOf(el);
          const stored = await ownedNode(iq, node);
          const out = new Element("subscriptions", NS_PUBSUB_OWNER, { node });
          for (const [jid, subid] of Object.entries(stored.subscribers))
            out.c("subscription", NS_PUBSUB_OWNER, { jid, subid, subscription: "subscribed" });
          for (const [jid, subid] of Object.entries(stored.pending ?? {}))
            out.c("subscription", NS_PUBSUB_OWNER, { jid, subid, subscription: "pending" });
          return owner(out);
        }
        default:
          throw new StanzaError("feature-not-implemented", `<${el.name}/> is not offered`);
      }
    },

    async ownerSet(iq: IqRequest): Promise<Element | undefined> {
      const key = hp.keyOf(iq);
      const { el } = action(iq.payload);
      switch (el.name) {
        case "configure": {
          const node = nodeOf(el);
          await ownedNode(iq, node);
          const form = submittedForm(el, NS_PUBSUB_NODE_CONFIG);
          if (!form) return undefined; // §8.2.6: cancelled
          await engine.configure(key, node, form, iq.from);
          return undefined;
        }
        case "delete":
          await ownedNode(iq, nodeOf(el));
          await engine.deleteNode(key, nodeOf(el), iq.from);
          return undefined;
        case "purge": {
          const node = nodeOf(el);
          if (hp.accountOwner(iq) !== undefined) await ownedNode(iq, node);
          await engine.purge(key, node, iq.from);
          return undefined;
        }
        case "affiliations": {
          const node = nodeOf(el);
          await ownedNode(iq, node);
          const account = hp.accountOwner(iq);
          const changes = el.getChildren("affiliation").map((a) => {
            const jid = tryParseJid(a.attrs.jid)?.bareString();
            const affiliation = a.attrs.affiliation ?? "";
            if (!jid || !hp.settableAffiliations.includes(affiliation) || jid === account)
              throw new StanzaError("not-acceptable");
            return { jid, affiliation };
          });
          await engine.setAffiliations(key, node, changes, iq.from);
          return undefined;
        }
        case "subscriptions": {
          // §8.8.2
          const node = nodeOf(el);
          await ownedNode(iq, node);
          const changes = el.getChildren("subscription").map((s) => {
            const jid = tryParseJid(s.attrs.jid);
            if (!jid) throw pubsubError("bad-request", "invalid-jid");
            return { jid: jid.toString(), subscription: s.attrs.subscription ?? "" };
          });
          await engine.setSubscriptions(key, node, changes, iq.from);
          return undefined;
        }
        default:
          throw new StanzaError("feature-not-implemented", `<${el.name}/> is not offered`);
      }
    },
  };
}
