// A service a module runs on its own domain (upload.<host>, search.<host>): IQs to the bare domain go through the
// module's IQ dispatcher (RFC 6120 §8.2.3 rules, disco from its registrations), and the host lists the domain in
// its disco#items (XEP-0030) when the disco module would not (a domain that is not a subdomain of the host).
import { StanzaError } from "./errors.js";
import { IqDispatcher } from "./iq-dispatch.js";
import { type Jid, tryParseJid } from "./jid.js";
import type { ModuleContext } from "./modules.js";
import type { ComponentHandler } from "./router.js";
import { Element } from "./xml/element.js";
import { NS_DISCO_INFO, NS_DISCO_ITEMS } from "./xml/ns.js";

/** `others`: a service with addresses of its own under the domain (rooms of a gateway) takes every other stanza. */
export function serveServiceDomain(
  ctx: ModuleContext<unknown>,
  host: string,
  domain: string,
  iq: IqDispatcher,
  others?: ComponentHandler,
): void {
  ctx.component(domain, async (stanza, to) => {
    const from = tryParseJid(stanza.attrs.from);
    if (!from) return;
    if (stanza.name === "iq" && to.local === "" && to.resource === "") {
      return iq.dispatch(stanza, from, to, "host", undefined, to.toString());
    }
    if (others) return others(stanza, to);
    // RFC 6120 §8.3.3.19: nothing here takes messages or IQs for other addresses; presence is ignored.
    if (stanza.name !== "presence") ctx.bounce(stanza, new StanzaError("service-unavailable"));
  });
  // The disco module lists components under the host's name; a service domain elsewhere is added here.
  if (!domain.endsWith(`.${host}`)) {
    ctx.hookFold("disco.items", ({ to, node }) =>
      to.local === "" && to.domain === host && node === undefined
        ? [new Element("item", NS_DISCO_ITEMS, { jid: domain })]
        : [],
    );
  }
}

/** A service with nodes (pubsub): what disco#info and disco#items answer for them (XEP-0030 §3.2, §4.2). */
export interface ServiceDiscoNodes {
  /** disco#info of a node (its <query/> children), or undefined: item-not-found. */
  info(node: string, from: Jid): Promise<Element[] | undefined>;
  /** disco#items at the domain (node undefined) or of a node; undefined: item-not-found. */
  items(node: string | undefined, from: Jid): Promise<Element[] | undefined>;
}

/**
 * The IQ dispatcher of a service domain, with its XEP-0030 disco: `info` answers disco#info at the domain; the
 * service has no items and no nodes (a node gets item-not-found) unless `nodes` says otherwise. The module
 * registers its own IQs on it.
 */
export function serviceIqDispatcher(
  ctx: ModuleContext<unknown>,
  domain: string,
  owner: string,
  info: () => Element,
  nodes?: ServiceDiscoNodes,
): IqDispatcher {
  const iq = new IqDispatcher({ log: ctx.log, send: (stanza) => ctx.route(stanza) });
  iq.register(
    domain,
    "host",
    "get",
    NS_DISCO_INFO,
    "query",
    async ({ payload, from }) => {
      const node = payload.attrs.node;
      if (node === undefined) return info();
      const children = nodes ? await nodes.info(node, from) : undefined;
      if (!children) throw new StanzaError("item-not-found");
      return new Element("query", NS_DISCO_INFO, { node }, children);
    },
    owner,
  );
  iq.register(
    domain,
    "host",
    "get",
    NS_DISCO_ITEMS,
    "query",
    async ({ payload, from }) => {
      const node = payload.attrs.node;
      if (!nodes) {
        if (node !== undefined) throw new StanzaError("item-not-found");
        return new Element("query", NS_DISCO_ITEMS);
      }
      const children = await nodes.items(node, from);
      if (!children) throw new StanzaError("item-not-found");
      return new Element("query", NS_DISCO_ITEMS, node === undefined ? {} : { node }, children);
    },
    owner,
  );
  return iq;
}
