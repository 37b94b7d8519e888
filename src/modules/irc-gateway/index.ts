import { enforceDomainpart } from "../../core/jid.js";
import { defineModule, type ModuleContext } from "../../core/modules.js";
import { serveServiceDomain, serviceIqDispatcher } from "../../core/service-domain.js";
import { Element } from "../../core/xml/element.js";
import { NS_DISCO_INFO, NS_DISCO_ITEMS, NS_MUC } from "../../core/xml/ns.js";
import { type IrcGatewayOptions, ircGatewayOptions } from "./options.js";
import { IrcGateway } from "./xmpp-side.js";

export default defineModule<IrcGatewayOptions>({
  name: "irc-gateway",
  liveState: "IRC connections and the channels they are in",
  liveOptions: { except: ["domain"] },
  specs: [
    {
      xep: 45,
      version: "1.35",
      status: "partial",
      note: "IRC channels as rooms through the IRC gateway (no room configuration, no history)",
    },
  ],
  options: ircGatewayOptions,
  setup(ctx) {
    const { host } = ctx;
    const domain = enforceDomainpart(
      ctx.options.domain === "" ? `irc.${host}` : ctx.options.domain.replaceAll("{host}", host),
    );
    const gateway = new IrcGateway({
      host,
      domain,
      options: () => ctx.options,
      send: (stanza) => ctx.route(stanza),
      bounce: (stanza, error) => ctx.bounce(stanza, error),
      log: ctx.log,
    });
    const owner = `${ctx.name}@${host}`;
    const iq = serviceIqDispatcher(ctx as ModuleContext<unknown>, domain, owner, () => {
      const query = new Element("query", NS_DISCO_INFO);
      // The identities biboumi gives: a conference service that is an IRC gateway.
      query.c("identity", NS_DISCO_INFO, { category: "conference", type: "irc", name: "IRC gateway" });
      query.c("identity", NS_DISCO_INFO, { category: "gateway", type: "irc", name: "IRC gateway" });
      for (const ns of [NS_DISCO_INFO, NS_DISCO_ITEMS, NS_MUC]) query.c("feature", NS_DISCO_INFO, { var: ns });
      return query;
    });
    serveServiceDomain(ctx as ModuleContext<unknown>, host, domain, iq, (stanza, to) => gateway.handle(stanza, to));

    // A client gone without leaving: out of its rooms; its user's idle connections close with its last resource.
    ctx.hook("session.closed", ({ session }) => {
      gateway.forgetResource(session.jid.toString(), ctx.sessions.hasResources(session.jid.bare()));
    });
    ctx.hook("server.stopping", () => gateway.closeAll());
    ctx.onUnload(() => gateway.closeAll());
  },
});
