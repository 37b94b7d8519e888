// A service a module runs on its own domain (upload.<host>, search.<host>): IQs to the bare domain go through the
// module's IQ dispatcher (RFC 6120 §8.2.3 rules, disco from its registrations), and the host lists the domain in
// its disco#items (XEP-0030) when the disco module would not (a domain that is not a subdomain of the host).
import { StanzaError } from "./errors.js";
import { IqDispatcher } from "./iq-dispatch.js";
import { tryParseJid } from "./jid.js";
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

/**
 * The IQ dispatcher of a service domain, with its XEP-0030 disco: `info` answers disco#info at the domain; the
 * service has no items and no nodes (a node gets item-not-found). The module registers its own IQs on it.
 */
export function serviceIqDispatcher(
  ctx: ModuleContext<unknown>,
  domain: string,
  owner: string,
  info: () => Element,
): IqDispatcher {
  const iq = new IqDispatcher({ log: ctx.log, send: (stanza) => ctx.route(stanza) });
  const withoutNode =
    (answer: () => Element) =>
    ({ payload }: { payload: Element }) => {
      if (payload.attrs.node !== undefined) throw new StanzaError("item-not-found");
      return answer();
    };
  iq.register(domain, "host", "get", NS_DISCO_INFO, "query", withoutNode(info), owner);
  iq.register(
    domain,
    "host",
    "get",
    NS_DISCO_ITEMS,
    "query",
    withoutNode(() => new Element("query", NS_DISCO_ITEMS)),
    owner,
  );
  return iq;
}
