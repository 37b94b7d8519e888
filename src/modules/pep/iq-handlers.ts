// The XEP-0060 requests a PEP service answers at a user's bare JID (XEP-0163 §5): the pubsub namespace
// (publish, retract, create, subscribe, unsubscribe, items, subscriptions, affiliations) and pubsub#owner
// (configure, default, delete, purge, affiliations, subscriptions). Each returns the result payload.
import { StanzaError } from "../../core/errors.js";
import { type Jid, tryParseJid } from "../../core/jid.js";
import type { IqRequest } from "../../core/iq-dispatch.js";
import { type DataForm, findDataForm, formType, parseDataForm } from "../../core/xml/data-form.js";
import { Element } from "../../core/xml/element.js";
import { NS_PUBSUB, NS_PUBSUB_NODE_CONFIG, NS_PUBSUB_OWNER, NS_PUBSUB_PUBLISH_OPTIONS } from "../../core/xml/ns.js";
import type { RosterStore } from "../roster/roster-store.js";
import { itemElement, pubsubError } from "./codec.js";
import { configForm, DEFAULT_CONFIG } from "./node-config.js";
import type { PepService } from "./service.js";

const isOwner = (iq: IqRequest) => iq.from.bareString() === iq.to.bareString();

function nodeOf(el: Element): string {
  const node = el.attrs.node;
  if (node === undefined || node === "") throw pubsubError("bad-request", "nodeid-required"); // §7.2.3.3 and alike
  return node;
}

function requireOwner(iq: IqRequest): void {
  if (!isOwner(iq)) throw pubsubError("forbidden", undefined); // §7.1.3.1, §8.1, §8.2.3.3 …
}

/** The one action element of a <pubsub/>, with its allowed companion (publish-options, configure). */
function action(payload: Element, companion?: string): { el: Element; extra: Element | undefined } {
  const children = payload.elements();
  const main = children.filter((c) => c.name !== companion);
  if (main.length !== 1) throw new StanzaError("bad-request", "one pubsub action per request");
  return { el: main[0] as Element, extra: companion ? children.find((c) => c.name === companion) : undefined };
}

/** A form inside publish-options / configure: a submitted form of the expected FORM_TYPE, or undefined. */
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

export function pubsubHandlers(pep: PepService, roster: RosterStore, limit: number) {
  const pubsub = (...children: Element[]) => new Element("pubsub", NS_PUBSUB, {}, children);
  const owner = (...children: Element[]) => new Element("pubsub", NS_PUBSUB_OWNER, {}, children);

  return {
    async set(iq: IqRequest): Promise<Element | undefined> {
      const user = iq.to.local;
      const { el, extra } = action(iq.payload, iq.payload.getChild("publish") ? "publish-options" : "configure");
      switch (el.name) {
        case "publish": {
          const node = nodeOf(el);
          requireOwner(iq);
          const items = el.getChildren("item");
          if (items.length !== 1) throw pubsubError("bad-request", items.length === 0 ? "item-required" : "invalid-payload"); // §7.1.3.6
          const item = items[0] as Element;
          const payloads = item.elements();
          if (payloads.length > 1) throw pubsubError("bad-request", "invalid-payload"); // §7.1.3.5
          if (payloads.length === 0) throw pubsubError("bad-request", "payload-required"); // §7.1.3.6
          const options = submittedForm(extra, NS_PUBSUB_PUBLISH_OPTIONS);
          const id = await pep.publish(user, node, {
            ...(item.attrs.id ? { id: item.attrs.id } : {}),
            payload: payloads[0],
            publisher: iq.from,
            ...(options ? { options } : {}),
          });
          // §7.1.2: the result names the item (its id is needed when the service generated it).
          return pubsub(new Element("publish", NS_PUBSUB, { node }, [new Element("item", NS_PUBSUB, { id })]));
        }
        case "retract": {
          const node = nodeOf(el);
          requireOwner(iq);
          const id = el.getChild("item")?.attrs.id;
          if (!id) throw pubsubError("bad-request", "item-required"); // §7.2.3.4
          const notify = el.attrs.notify === "true" || el.attrs.notify === "1";
          await pep.retract(user, node, id, notify);
          return undefined;
        }
        case "create": {
          // §8.1: instant nodes are not offered (one node per namespace, XEP-0163 §2.3).
          if (!el.attrs.node) throw pubsubError("not-acceptable", "nodeid-required");
          requireOwner(iq);
          await pep.create(user, el.attrs.node, submittedForm(extra, NS_PUBSUB_NODE_CONFIG));
          return undefined;
        }
        case "subscribe": {
          const node = nodeOf(el);
          const { subid } = await pep.subscribe(user, node, subscriberJid(el, iq));
          return pubsub(new Element("subscription", NS_PUBSUB, { node, jid: el.attrs.jid as string, subid, subscription: "subscribed" }));
        }
        case "unsubscribe": {
          const node = nodeOf(el);
          if (!(await pep.unsubscribe(user, node, subscriberJid(el, iq)))) throw pubsubError("unexpected-request", "not-subscribed"); // §6.2.3.2
          return undefined;
        }
        case "options":
          throw pubsubError("feature-not-implemented", "unsupported", { feature: "subscription-options" });
        default:
          throw new StanzaError("bad-request", `unknown pubsub request <${el.name}/>`);
      }
    },

    async get(iq: IqRequest): Promise<Element | undefined> {
      const user = iq.to.local;
      const { el } = action(iq.payload);
      switch (el.name) {
        case "items": {
          const node = nodeOf(el);
          const ids = el.getChildren("item").map((i) => i.attrs.id ?? "");
          const maxAttr = el.attrs.max_items;
          const max = maxAttr === undefined ? undefined : Number(maxAttr);
          if (max !== undefined && (!Number.isInteger(max) || max < 1)) throw new StanzaError("bad-request", "max_items must be a positive integer");
          const items = await pep.items(user, node, iq.from, { ...(ids.length > 0 ? { ids } : {}), ...(max !== undefined ? { max } : {}) });
          return pubsub(new Element("items", NS_PUBSUB, { node }, items.map((i) => itemElement(NS_PUBSUB, i))));
        }
        case "subscriptions": {
          // §5.6: the requester's own subscriptions at this service.
          const out = new Element("subscriptions", NS_PUBSUB, el.attrs.node ? { node: el.attrs.node } : {});
          for (const [name, node] of await pep.store.allNodes(user)) {
            if (el.attrs.node !== undefined && name !== el.attrs.node) continue;
            for (const [jid, subid] of Object.entries(node.subscribers)) {
              if (tryParseJid(jid)?.bareString() === iq.from.bareString()) out.c("subscription", NS_PUBSUB, { node: name, jid, subid, subscription: "subscribed" });
            }
          }
          return pubsub(out);
        }
        case "affiliations": {
          // §5.7: the requester's affiliations: owner of every node of its own account.
          const out = new Element("affiliations", NS_PUBSUB, el.attrs.node ? { node: el.attrs.node } : {});
          for (const [name, node] of await pep.store.allNodes(user)) {
            if (el.attrs.node !== undefined && name !== el.attrs.node) continue;
            const affiliation = isOwner(iq) ? "owner" : node.affiliations[iq.from.bareString()];
            if (affiliation) out.c("affiliation", NS_PUBSUB, { node: name, affiliation });
          }
          return pubsub(out);
        }
        default:
          throw new StanzaError("feature-not-implemented", `<${el.name}/> is not offered`);
      }
    },

    async ownerGet(iq: IqRequest): Promise<Element | undefined> {
      requireOwner(iq);
      const user = iq.to.local;
      const { el } = action(iq.payload);
      const groups = async () => [...new Set((await roster.getAll(user)).flatMap((i) => i.groups))].sort();
      switch (el.name) {
        case "configure": {
          const node = nodeOf(el);
          const stored = await pep.store.node(user, node);
          if (!stored) throw pubsubError("item-not-found", undefined);
          return owner(new Element("configure", NS_PUBSUB_OWNER, { node }, [configForm(stored.config, await groups(), limit)]));
        }
        case "default": // §8.3
          return owner(new Element("default", NS_PUBSUB_OWNER, {}, [configForm(DEFAULT_CONFIG, await groups(), limit)]));
        case "affiliations": {
          const node = nodeOf(el);
          const stored = await pep.store.node(user, node);
          if (!stored) throw pubsubError("item-not-found", undefined);
          const out = new Element("affiliations", NS_PUBSUB_OWNER, { node });
          out.c("affiliation", NS_PUBSUB_OWNER, { jid: iq.to.bareString(), affiliation: "owner" });
          for (const [jid, affiliation] of Object.entries(stored.affiliations)) out.c("affiliation", NS_PUBSUB_OWNER, { jid, affiliation });
          return owner(out);
        }
        case "subscriptions": {
          const node = nodeOf(el);
          const stored = await pep.store.node(user, node);
          if (!stored) throw pubsubError("item-not-found", undefined);
          const out = new Element("subscriptions", NS_PUBSUB_OWNER, { node });
          for (const [jid, subid] of Object.entries(stored.subscribers)) out.c("subscription", NS_PUBSUB_OWNER, { jid, subid, subscription: "subscribed" });
          return owner(out);
        }
        default:
          throw new StanzaError("feature-not-implemented", `<${el.name}/> is not offered`);
      }
    },

    async ownerSet(iq: IqRequest): Promise<Element | undefined> {
      requireOwner(iq);
      const user = iq.to.local;
      const { el } = action(iq.payload);
      switch (el.name) {
        case "configure": {
          const node = nodeOf(el);
          const form = submittedForm(el, NS_PUBSUB_NODE_CONFIG);
          if (!form) {
            if (!(await pep.store.node(user, node))) throw pubsubError("item-not-found", undefined);
            return undefined; // §8.2.6: cancelled
          }
          await pep.configure(user, node, form);
          return undefined;
        }
        case "delete":
          await pep.deleteNode(user, nodeOf(el));
          return undefined;
        case "purge":
          await pep.purge(user, nodeOf(el));
          return undefined;
        case "affiliations": {
          const node = nodeOf(el);
          const changes = el.getChildren("affiliation").map((a) => {
            const jid = tryParseJid(a.attrs.jid)?.bareString();
            const affiliation = a.attrs.affiliation ?? "";
            // PEP has one owner and publisher (XEP-0163 §2.2): only member, outcast and none are set here.
            if (!jid || !["member", "outcast", "none"].includes(affiliation) || jid === iq.to.bareString()) throw new StanzaError("not-acceptable");
            return { jid, affiliation };
          });
          await pep.setAffiliations(user, node, changes);
          return undefined;
        }
        default:
          throw new StanzaError("feature-not-implemented", `<${el.name}/> is not offered`);
      }
    },
  };
}
