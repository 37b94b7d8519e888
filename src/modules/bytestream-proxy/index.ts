// XEP-0065 SOCKS5 Bytestreams proxy at proxy.<host>: clients that cannot reach each other directly (NAT,
// firewalls) both connect to the proxy's own TCP port, and the requester activates the pair over XMPP.
// Off by default: it opens a port of its own to the internet and relays other people's bytes, which an
// operator should choose (firewall, the address advertised, bandwidth). One host runs the listener; users of
// every host find it in their host's disco#items.
import { StanzaError } from "../../core/errors.js";
import { type Jid, tryParseJid } from "../../core/jid.js";
import { defineModule, type ModuleContext } from "../../core/modules.js";
import { serveServiceDomain, serviceIqDispatcher } from "../../core/service-domain.js";
import { Element } from "../../core/xml/element.js";
import { NS_BYTESTREAMS, NS_DISCO_ITEMS } from "../../core/xml/ns.js";
import { buildProxyInfo, buildStreamhost, bytestreamHash, parseActivation } from "./codec.js";
import { limitsOf, type Options, options } from "./options.js";
import { type ActivationOutcome, Socks5Listener } from "./socks5-listener.js";

export default defineModule({
  name: "bytestream-proxy",
  specs: [{ xep: 65, version: "1.8.2", status: "partial", note: "mediated connections (proxy) over TCP; no UDP mode" }],
  options,
  async setup(ctx) {
    const opts: Options = ctx.options;
    const proxyHost = opts.host === "" ? ([...ctx.hosts][0] as string) : opts.host;
    const domain = opts.domain === "" ? `proxy.${proxyHost}` : (tryParseJid(opts.domain)?.domain ?? opts.domain);
    if (!ctx.hosts.has(proxyHost)) {
      throw new Error(`modules.bytestream-proxy.host: "${proxyHost}" is not one of hosts`);
    }
    // The other hosts only list the service, so their users find it (XEP-0065 §4, XEP-0030).
    if (ctx.host !== proxyHost) {
      ctx.hookFold("disco.items", ({ to, node }) =>
        to.local === "" && to.domain === ctx.host && node === undefined
          ? [new Element("item", NS_DISCO_ITEMS, { jid: domain })]
          : [],
      );
      return;
    }

    const listener = new Socks5Listener(limitsOf(opts), ctx.log);
    const boundPort = await listener.listen(opts.port, opts.bind);
    ctx.onUnload(() => listener.close());
    const streamhost = () =>
      buildStreamhost(domain, opts.public_host === "" ? proxyHost : opts.public_host, opts.public_port || boundPort);

    // XEP-0065 §4: a stranger gets forbidden, for the address as for an activation.
    const checkAccess = (from: Jid) => {
      if (opts.access === "everyone" || (from.local !== "" && ctx.hosts.has(from.domain))) return;
      ctx.log.debug({ from: from.toString() }, "bytestream proxy: refused a stranger");
      throw new StanzaError("forbidden", "only users of this server may use this proxy");
    };

    const owner = `${ctx.name}@${ctx.host}`;
    const iq = serviceIqDispatcher(ctx as ModuleContext<unknown>, domain, owner, buildProxyInfo);
    // XEP-0065 §4: the proxy's network address.
    iq.register(
      domain,
      "host",
      "get",
      NS_BYTESTREAMS,
      "query",
      ({ from }) => {
        checkAccess(from);
        return streamhost();
      },
      owner,
    );
    // XEP-0065 §6.3.5: activation by the requester; the hash ties it to the iq's from (the requester's full JID).
    iq.register(
      domain,
      "host",
      "set",
      NS_BYTESTREAMS,
      "query",
      ({ from, payload }) => {
        checkAccess(from);
        const { sid, target } = parseActivation(payload);
        const hash = bytestreamHash(sid, from, target);
        const outcome = listener.activate(hash, from.bareString());
        if (outcome !== "activated") {
          ctx.log.debug({ from: from.toString(), target: target.toString(), outcome }, "bytestream activation refused");
          throw activationError(outcome);
        }
        return undefined;
      },
      owner,
    );

    serveServiceDomain(ctx as ModuleContext<unknown>, ctx.host, domain, iq);
  },
});

/** XEP-0065 §6.3.5's error conditions, and resource-constraint for our limits. */
function activationError(outcome: Exclude<ActivationOutcome, "activated">): StanzaError {
  switch (outcome) {
    case "no-such-stream":
      return new StanzaError("item-not-found", "no connections for this sid, requester and target");
    case "one-side-only":
      return new StanzaError("not-allowed", "only one party is connected to the proxy");
    case "user-limit":
      return new StanzaError("resource-constraint", "too many bytestreams of yours are open");
    case "server-limit":
      return new StanzaError("resource-constraint", "the proxy is busy");
  }
}
