// The router: where every stanza goes (RFC 6120 §10, RFC 6121 §8.5). Transports hand stanzas here with
// `from` already stamped; the router decides between a local session, the server itself, an account
// handled on the user's behalf, or another domain (s2s, components) — and sends errors back to the sender.
import type { Logger } from "pino";
import { AccountBackendUnavailableError, type AccountProvider } from "../auth/types.js";
import { errorReply, StanzaError } from "./errors.js";
import type { Hooks } from "./hooks.js";
import type { IqDispatcher } from "./iq-dispatch.js";
import { type Jid, tryParseJid } from "./jid.js";
import type { ServerCounters } from "./server-counters.js";
import type { DeliveryReceipt, Session } from "./session.js";
import type { SessionRegistry } from "./session-registry.js";
import type { Element } from "./xml/element.js";

export interface RouterDeps {
  hosts: ReadonlySet<string>;
  sessions: SessionRegistry;
  iq: IqDispatcher;
  hooks: Hooks;
  accounts: AccountProvider;
  log: Logger;
  /**
   * `hide_account_existence`: a stranger cannot tell an unknown local address from a real, offline account
   * that does not answer (RFC 6121 §8.5.1 leaves the choice to the server); see noSuchUser().
   */
  hideAccountExistence?: boolean;
  /** Counts the error replies sent back (metrics); absent in unit tests. */
  counters?: ServerCounters;
}

/** Receives every stanza addressed to a component's domain (MUC service, upload service, XEP-0114 components). */
export type ComponentHandler = (stanza: Element, to: Jid) => void | Promise<void>;

const SUBSCRIPTION_TYPES = new Set(["subscribe", "subscribed", "unsubscribe", "unsubscribed"]);

export class Router {
  private readonly d: RouterDeps;

  constructor(deps: RouterDeps) {
    this.d = deps;
  }

  private readonly components = new Map<string, ComponentHandler>();

  isLocalHost(domain: string): boolean {
    return this.d.hosts.has(domain);
  }

  /** Routes every stanza for `domain` to a handler in this process; returns the remover. */
  registerComponent(domain: string, handler: ComponentHandler): () => void {
    if (this.d.hosts.has(domain)) throw new Error(`${domain} is a user host; a component needs a domain of its own`);
    if (this.components.has(domain)) throw new Error(`a component already serves ${domain}`);
    this.components.set(domain, handler);
    return () => {
      if (this.components.get(domain) === handler) this.components.delete(domain);
    };
  }

  /** Domains served by components in this process. */
  componentDomains(): string[] {
    return [...this.components.keys()];
  }

  /**
   * Routes a stanza whose `from` and `to` are set. Never throws: failures become error replies
   * to the sender (or a log line where the RFC says to ignore).
   */
  async route(stanza: Element, origin?: Session): Promise<void> {
    const to = tryParseJid(stanza.attrs.to);
    if (!to) {
      this.bounce(stanza, new StanzaError("jid-malformed"));
      return;
    }
    try {
      const blocked = this.filtered(stanza, to, "out", origin);
      if (blocked === true || (blocked !== false && (await blocked))) return;
      const component = this.components.get(to.domain);
      if (component) await component(stanza, to);
      else if (this.d.hosts.has(to.domain)) await this.routeLocal(stanza, to, origin);
      else if (!(await this.d.hooks.first("stanza.remote", { stanza, to }))) {
        // No s2s or component took it (RFC 6120 §8.3.3.13).
        this.bounce(stanza, new StanzaError("remote-server-not-found"));
      }
    } catch (err) {
      // An account directory that is down (logged by its provider): whether the recipient exists is unknown
      // now. RFC 6120 §8.3.3.6 with type wait: the sender may retry; nothing said about the account.
      if (err instanceof AccountBackendUnavailableError) {
        this.bounce(stanza, new StanzaError("internal-server-error", "try again later", { type: "wait" }));
        return;
      }
      this.d.log.error({ err, to: stanza.attrs.to, name: stanza.name }, "routing failed");
      this.bounce(stanza, new StanzaError("internal-server-error"));
    }
  }

  /**
   * RFC 6120 §10.3: a stanza a client sent without `to` is handled on its account's behalf: an iq by the server
   * for the account, a message as if addressed to the sender's bare JID (§10.3.1), and presence as the
   * resource's own broadcast presence (RFC 6121 §4.2, §4.4, §4.5), which the presence module keeps.
   */
  async routeFromAccount(stanza: Element, session: Session): Promise<void> {
    const bare = session.jid.bare();
    if (stanza.name === "iq") {
      if (stanza.attrs.type === "result" || stanza.attrs.type === "error") return;
      return this.d.iq.dispatch(stanza, session.jid, bare, "account", session, undefined);
    }
    if (stanza.name === "message") {
      stanza.attrs.to = bare.toString();
      return this.route(stanza, session);
    }
    const type = stanza.attrs.type;
    // Subscriptions and probes need a `to`; without one they mean nothing (RFC 6121 §3).
    if (type !== undefined && type !== "unavailable") return;
    await this.d.hooks.notify("presence.own", { session, stanza });
  }

  /** Sends the error reply for a stanza back to its sender (never for type="error" stanzas). */
  bounce(stanza: Element, error: StanzaError): void {
    this.d.counters?.routingError(error.condition);
    if (stanza.attrs.from === undefined) return;
    const reply = errorReply(stanza, error);
    if (reply) void this.route(reply);
  }

  /**
   * Hands a stanza to a local session, through the delivery hook (privacy, carbons, CSI). Resolves to false when a
   * delivery hook holds it back (CSI): its receipt stays unanswered, and its sender keeps it until the session ends.
   */
  async deliver(session: Session, stanza: Element, receipt?: DeliveryReceipt): Promise<boolean> {
    // A session on another cluster node: that node runs the delivery hooks on its own session (once); what must
    // happen once per message where it is routed (its archiving and stanza-id) runs here first.
    if (session.remote) {
      if (stanza.name === "message" && this.d.hooks.has("stanza.forward")) {
        // Privacy first, as for a local session (XEP-0016 §2.2): what the recipient refuses is not archived. Its
        // node asks again (same lists, shared in the session's view) and finds it allowed.
        const blocked = this.filtered(stanza, session.jid, "in", session);
        if (blocked === true || (blocked !== false && (await blocked))) {
          receipt?.(true);
          return true;
        }
        const taken = this.d.hooks.first("stanza.forward", { session, stanza });
        if (taken === true || (taken !== false && (await taken))) return true;
      }
      session.send(stanza, receipt);
      return true;
    }
    // A stanza privacy refuses is done with (the user chose not to get it).
    // Both checks answer without a promise when no handler waits on anything (a room's fan-out is one such
    // delivery per occupant).
    const blocked = this.filtered(stanza, session.jid, "in", session);
    if (blocked === true || (blocked !== false && (await blocked))) {
      receipt?.(true);
      return true;
    }
    if (this.d.hooks.has("stanza.deliver")) {
      const held = this.d.hooks.first("stanza.deliver", { session, stanza });
      if (held === true || (held !== false && (await held))) return false;
    }
    session.send(stanza, receipt);
    return true;
  }

  /**
   * The privacy hook (XEP-0016 §2.2 rule 4: the first delivery rule): `out` for what a local account sends,
   * `in` for what one receives. Stanzas without a `from`, or whose party on that side is no local account, pass.
   */
  private filtered(
    stanza: Element,
    to: Jid,
    direction: "in" | "out",
    session: Session | undefined,
  ): boolean | Promise<boolean> {
    if (!this.d.hooks.has("stanza.filter")) return false;
    const from = tryParseJid(stanza.attrs.from);
    if (!from) return false;
    const account = direction === "out" ? from : to;
    if (account.local === "" || !this.d.hosts.has(account.domain)) return false;
    return this.d.hooks.first("stanza.filter", { stanza, from, to, direction, session });
  }

  private async routeLocal(stanza: Element, to: Jid, origin: Session | undefined): Promise<void> {
    if (to.local === "") return this.routeToHost(stanza, to, origin);
    if (to.resource !== "") {
      const session = this.d.sessions.get(to);
      // RFC 6121 §8.5.3.1: a matching resource gets every stanza.
      if (session) {
        await this.deliver(session, stanza);
        return;
      }
      return this.routeToMissingResource(stanza, to, origin);
    }
    return this.routeToBareJid(stanza, to, origin);
  }

  /** RFC 6120 §10.3 / §10.4: stanzas for the server itself (or host/resource). */
  private async routeToHost(stanza: Element, to: Jid, origin: Session | undefined): Promise<void> {
    if (stanza.name === "iq" && to.resource === "") {
      const from = tryParseJid(stanza.attrs.from);
      if (!from) return;
      return this.d.iq.dispatch(stanza, from, to, "host", origin, to.toString());
    }
    if (await this.d.hooks.first("stanza.to-host", { stanza, to })) return;
    if (stanza.name === "presence") return; // nothing to do with presence to the server: ignore
    this.bounce(stanza, new StanzaError("service-unavailable"));
  }

  private async accountExists(to: Jid): Promise<boolean> {
    return this.d.sessions.hasResources(to) || (await this.d.accounts.userExists(to.domain, to.local));
  }

  /** RFC 6121 §8.5.2: localpart@domainpart. */
  async routeToBareJid(stanza: Element, to: Jid, origin?: Session): Promise<void> {
    const kind = stanza.name;
    const type = stanza.attrs.type;
    if (!(await this.accountExists(to))) return this.noSuchUser(stanza, to, origin);
    // Handled by the server on the account's behalf (iq, probes, subscriptions): privacy first. What is
    // delivered to sessions is filtered in deliver(), with each session's own list.
    if (
      (kind === "iq" || (kind === "presence" && type !== undefined && type !== "unavailable")) &&
      (await this.filtered(stanza, to, "in", undefined))
    )
      return;

    if (kind === "iq") {
      // RFC 6121 §8.5.2.1.3 / §8.5.2.2.3: the server answers on the user's behalf.
      const from = tryParseJid(stanza.attrs.from);
      if (!from) return;
      return this.d.iq.dispatch(stanza, from, to, "account", origin, to.toString());
    }

    if (kind === "presence") {
      // Probes and subscription stanzas are the presence/roster modules' (RFC 6121 §3, §4.3).
      if (type === "probe" || (type !== undefined && SUBSCRIPTION_TYPES.has(type))) {
        await this.d.hooks.first("presence.inbound", { stanza, to });
        return;
      }
      if (type === "error") return;
      // RFC 6121 §8.5.2.1.2: available/unavailable presence goes to every available resource.
      if (await this.d.hooks.first("presence.inbound", { stanza, to })) return;
      for (const s of this.d.sessions.resourcesOf(to)) if (s.available) await this.deliver(s, stanza);
      return;
    }

    if (kind === "message") return this.routeMessageToBareJid(stanza, to);
  }

  /** RFC 6121 §8.5.2.1.1 and §8.5.2.2.1. */
  private async routeMessageToBareJid(stanza: Element, to: Jid): Promise<void> {
    const type = stanza.attrs.type ?? "normal";
    if (type === "error") return; // MUST silently ignore
    if (type === "groupchat") return this.bounce(stanza, new StanzaError("service-unavailable"));
    const targets = this.messageTargets(to, type === "headline");
    if (targets.length > 0) {
      for (const s of targets) await this.deliver(s, stanza);
      return;
    }
    if (type === "headline") return; // §8.5.2.2.1: silently ignore
    if (await this.filtered(stanza, to, "in", undefined)) return; // privacy before offline storage
    if (await this.d.hooks.first("message.offline", { stanza, to })) return;
    this.bounce(stanza, new StanzaError("service-unavailable"));
  }

  /**
   * Available resources with non-negative priority (RFC 6121 §8.5.2.1.1). For normal and chat messages
   * only the highest priority (ties all get it); headlines go to all of them.
   */
  messageTargets(to: Jid, all: boolean): Session[] {
    const resources = this.d.sessions.resourcesOf(to);
    let best = -1;
    let out: Session[] = [];
    for (const s of resources) {
      if (!s.available || s.priority < 0) continue;
      if (all) out.push(s);
      else if (s.priority > best) {
        best = s.priority;
        out = [s];
      } else if (s.priority === best) out.push(s);
    }
    return out;
  }

  /** RFC 6121 §8.5.3.2: a full JID with no matching resource. */
  private async routeToMissingResource(stanza: Element, to: Jid, origin: Session | undefined): Promise<void> {
    const type = stanza.attrs.type;
    if (!(await this.accountExists(to))) return this.noSuchUser(stanza, to, origin);
    if (stanza.name === "message") {
      if (type === "error") return; // §8.5.3.2.1: silently ignore
      // §8.5.3.2.1: chat is treated as if sent to the bare JID; normal, groupchat, headline get an error.
      if (type === "chat") return this.routeMessageToBareJid(stanza, to.bare());
      return this.bounce(stanza, new StanzaError("service-unavailable"));
    }
    if (stanza.name === "presence") {
      // §8.5.3.2.2: subscription-related presence is handled as for the bare JID; the rest is ignored.
      if (type !== undefined && (SUBSCRIPTION_TYPES.has(type) || type === "probe"))
        return this.routeToBareJid(stanza, to.bare(), origin);
      return;
    }
    // §8.5.3.2.3: iq
    if (type === "get" || type === "set") this.bounce(stanza, new StanzaError("service-unavailable"));
  }

  /** RFC 6121 §8.5.1: no such user. */
  private async noSuchUser(stanza: Element, to: Jid, origin: Session | undefined): Promise<void> {
    if (this.d.hideAccountExistence) return this.asSilentAccount(stanza, to, origin);
    if (stanza.name === "presence") return; // silently ignore (subscriptions too, §3)
    if (stanza.name === "iq" && stanza.attrs.type !== "get" && stanza.attrs.type !== "set") return;
    this.bounce(stanza, new StanzaError("service-unavailable"));
  }

  /**
   * `hide_account_existence`: what a real account with no resource online and nothing to say would do, so
   * the answer does not tell a stranger whether the address exists. Nothing is stored for an address that
   * has no account (a stranger could otherwise fill the database under made-up names).
   */
  private async asSilentAccount(stanza: Element, to: Jid, origin: Session | undefined): Promise<void> {
    const type = stanza.attrs.type;
    if (stanza.name === "message") {
      // §8.5.2.2.1: to the bare JID normal and chat would be stored offline, headline and error ignored; to a
      // full JID (§8.5.3.2.1) only chat falls back to the bare JID and error is ignored; the rest bounces.
      const silentIfReal = type === "error" || (to.resource === "" ? type !== "groupchat" : type === "chat");
      if (silentIfReal) {
        this.d.log.debug(
          { to: stanza.attrs.to },
          "message to an unknown account dropped silently (hide_account_existence)",
        );
        return;
      }
      return this.bounce(stanza, new StanzaError("service-unavailable"));
    }
    if (stanza.name === "presence") {
      // RFC 6121 §4.3.2: a probe from someone without a subscription gets "unsubscribed" from a real account (the
      // presence module's answer); the account's roster is empty here, so it answers the same without writing.
      // §8.5.3.2.2: a probe to a full JID is handled as for the bare JID.
      if (type === "probe") await this.d.hooks.first("presence.inbound", { stanza, to: to.bare() });
      return; // subscription requests: a real account that never answers looks just like this
    }
    // RFC 6121 §8.5.2.1.3: a get to the bare JID is answered on the account's behalf as for an account with no
    // data (disco#info names an account, a vCard get finds none …): get handlers only read. A set could write
    // under a name nobody holds, so it gets service-unavailable, as a full JID with no resource does (§8.5.3.2.3).
    const from = tryParseJid(stanza.attrs.from);
    if (type === "get" && to.resource === "" && from)
      return this.d.iq.dispatch(stanza, from, to, "account", origin, to.toString());
    if (type === "get" || type === "set") this.bounce(stanza, new StanzaError("service-unavailable"));
  }
}
