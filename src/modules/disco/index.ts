// XEP-0030 Service Discovery for the server and for accounts: identities and features come from what
// every loaded module registered (IQ namespaces, declared features), plus the disco.info/items hooks.
import { StanzaError } from "../../core/errors.js";
import { defineModule } from "../../core/modules.js";
import { Element } from "../../core/xml/element.js";
import { NS_DISCO_INFO, NS_DISCO_ITEMS } from "../../core/xml/ns.js";
import { buildInfo, buildItems } from "./codec.js";

export default defineModule({
  name: "disco",
  specs: [{ xep: 30, version: "2.5rc3", status: "complete" }],
  setup(ctx) {
    const { host } = ctx;
    ctx.identity("server", "im", "Natter");

    ctx.iq("host", "get", NS_DISCO_INFO, "query", async ({ payload, from, to }) => {
      const node = payload.attrs.node;
      const parts = await ctx.fold("disco.info", { to, from, node });
      if (node !== undefined && parts.length === 0) throw new StanzaError("item-not-found");
      const base =
        node === undefined
          ? { identities: ctx.disco.identities(host), features: ctx.disco.features(host, "host") }
          : {};
      return buildInfo(node, [base, ...parts]);
    });

    ctx.iq("host", "get", NS_DISCO_ITEMS, "query", async ({ payload, from, to }) => {
      const node = payload.attrs.node;
      const items = await ctx.fold("disco.items", { to, from, node });
      // XEP-0030 §4: the server lists the services it hosts (conference.<host>, upload.<host> …).
      if (node === undefined) {
        for (const domain of ctx.componentDomains().sort()) {
          if (domain.endsWith(`.${host}`)) items.push(new Element("item", NS_DISCO_ITEMS, { jid: domain }));
        }
      }
      return buildItems(node, items);
    });

    // XEP-0030 §3.1 / RFC 6121: an account answers disco#info for itself (PEP, etc. add to it).
    ctx.iq("account", "get", NS_DISCO_INFO, "query", async ({ payload, from, to }) => {
      const node = payload.attrs.node;
      const parts = await ctx.fold("disco.info", { to, from, node });
      if (node !== undefined && parts.length === 0) throw new StanzaError("item-not-found");
      const base =
        node === undefined
          ? { identities: [{ category: "account", type: "registered" }], features: ctx.disco.features(host, "account") }
          : {};
      return buildInfo(node, [base, ...parts]);
    });

    ctx.iq("account", "get", NS_DISCO_ITEMS, "query", async ({ payload, from, to }) => {
      const node = payload.attrs.node;
      return buildItems(node, await ctx.fold("disco.items", { to, from, node }));
    });
  },
});
