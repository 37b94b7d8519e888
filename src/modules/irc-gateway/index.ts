// An IRC gateway at irc.<host> (biboumi's addressing): IRC channels as XEP-0045 rooms
// (#channel%irc.example.net@irc.<host>), IRC users as occupants and as nick%irc.example.net@irc.<host> for
// one-to-one chat. One IRC connection per XMPP user per server, shared by the user's resources and rooms, to the
// servers the admin allows only. Off unless listed under `modules:`.
import { StanzaError } from "../../core/errors.js";
import { IqDispatcher } from "../../core/iq-dispatch.js";
import { enforceDomainpart } from "../../core/jid.js";
import { defineModule, type ModuleContext } from "../../core/modules.js";
import { serveServiceDomain } from "../../core/service-domain.js";
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
    const iq = new IqDispatcher({ log: ctx.log, send: (stanza) => ctx.route(stanza) });
    const owner = `${ctx.name}@${host}`;
    iq.register(
      domain,
      "host",
      "get",
      NS_DISCO_INFO,
      "query",
      ({ payload }) => {
        if (payload.attrs.node !== undefined) throw new StanzaError("item-not-found");
        const query = new Element("query", NS_DISCO_INFO);
        // The identities biboumi gives: a conference service that is an IRC gateway.
        query.c("identity", NS_DISCO_INFO, { category: "conference", type: "irc", name: "IRC gateway" });
        query.c("identity", NS_DISCO_INFO, { category: "gateway", type: "irc", name: "IRC gateway" });
        for (const ns of [NS_DISCO_INFO, NS_DISCO_ITEMS, NS_MUC]) query.c("feature", NS_DISCO_INFO, { var: ns });
        return query;
      },
      owner,
    );
    iq.register(domain, "host", "get", NS_DISCO_ITEMS, "query", () => new Element("query", NS_DISCO_ITEMS), owner);
    serveServiceDomain(ctx as ModuleContext<unknown>, host, domain, iq, (stanza, to) => gateway.handle(stanza, to));

    // A client gone without leaving: out of its rooms; its user's idle connections close with its last resource.
    ctx.hook("session.closed", ({ session }) => {
      gateway.forgetResource(session.jid.toString(), ctx.sessions.hasResources(session.jid.bare()));
    });
    ctx.hook("server.stopping", () => gateway.closeAll());
    ctx.onUnload(() => gateway.closeAll());
  },
});
