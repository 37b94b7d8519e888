// What XMPP users send to the gateway, as IRC commands: room presence (join, nick change, leave), room messages
// and subject, private messages to nick%server (or nick!server), disco on rooms. Refusals carry the RFC 6120 / XEP-0045 errors.
import type { Logger } from "pino";
import { StanzaError } from "../../core/errors.js";
import { type Jid, tryParseJid } from "../../core/jid.js";
import { Element } from "../../core/xml/element.js";
import { NS_CLIENT, NS_DISCO_INFO, NS_MUC } from "../../core/xml/ns.js";
import type { IrcConnectionSettings } from "./irc-connection.js";
import { splitUtf8 } from "./irc-protocol.js";
import { IrcSession } from "./irc-session.js";
import { encodeIrcText } from "./irc-text.js";
import { ircLower, isNickname, parseChannelLocalpart, parseUserLocalpart } from "./jid-mapping.js";
import type { IrcGatewayOptions, IrcServerOption } from "./options.js";
import { joinError } from "./stanzas.js";

/** Bytes of text per PRIVMSG: 512 less the command, target and the prefix the server adds when relaying. */
const TEXT_BYTES = 400;

export interface GatewayDeps {
  host: string;
  domain: string;
  options(): IrcGatewayOptions;
  send(stanza: Element): void;
  bounce(stanza: Element, error: StanzaError): void;
  log: Logger;
}

export class IrcGateway {
  /** By bare JID, then by server host. */
  private readonly sessions = new Map<string, Map<string, IrcSession>>();
  private connections = 0;

  constructor(private readonly deps: GatewayDeps) {}

  private server(host: string): IrcServerOption | undefined {
    return this.deps.options().servers.find((s) => s.host === host);
  }

  private settings(): IrcConnectionSettings {
    const o = this.deps.options();
    return {
      maxLineBytes: o.max_line_bytes,
      reconnectMinMs: o.reconnect_min_seconds * 1000,
      reconnectMaxMs: o.reconnect_max_seconds * 1000,
      connectTimeoutMs: o.connect_timeout_seconds * 1000,
      pingIntervalMs: o.ping_interval_seconds * 1000,
      maxQueuedBytes: o.max_queued_bytes,
      realname: o.realname,
    };
  }

  /** The user's session with a server, created (connecting) when `nick` is given and the limits allow. */
  private session(user: string, server: IrcServerOption, nick: string): IrcSession {
    const mine = this.sessions.get(user) ?? new Map<string, IrcSession>();
    const existing = mine.get(server.host);
    if (existing) return existing;
    const o = this.deps.options();
    if (mine.size >= o.max_servers_per_user)
      throw this.refuse(user, "resource-constraint", `at most ${o.max_servers_per_user} IRC servers per user`);
    if (this.connections >= o.max_connections)
      throw this.refuse(user, "resource-constraint", "the gateway has too many IRC connections");
    const session = new IrcSession(user, server, nick, {
      domain: this.deps.domain,
      settings: this.settings(),
      maxMembers: o.max_members_per_channel,
      joinTimeoutMs: o.join_timeout_seconds * 1000,
      send: this.deps.send,
      log: this.deps.log,
      ended: (s) => this.ended(s),
    });
    mine.set(server.host, session);
    this.sessions.set(user, mine);
    this.connections++;
    return session;
  }

  private ended(s: IrcSession): void {
    const mine = this.sessions.get(s.user);
    if (mine?.get(s.server.host) !== s) return;
    mine.delete(s.server.host);
    this.connections--;
    if (mine.size === 0) this.sessions.delete(s.user);
  }

  private refuse(user: string, condition: StanzaError["condition"], text: string): StanzaError {
    this.deps.log.info({ user, condition }, `irc gateway: ${text}`);
    return new StanzaError(condition, text);
  }

  private channelCount(user: string): number {
    let n = 0;
    for (const s of this.sessions.get(user)?.values() ?? []) n += s.channels.size;
    return n;
  }

  /** Every stanza to the gateway's domain other than IQs to the bare domain. */
  async handle(stanza: Element, to: Jid): Promise<void> {
    const from = tryParseJid(stanza.attrs.from);
    // RFC 6120 §8.2.3: a result or error is never answered.
    if (stanza.name === "iq" && (stanza.attrs.type === "result" || stanza.attrs.type === "error")) return;
    if (!from || stanza.attrs.type === "error") {
      // A bounce of what we sent: treat a presence error as leaving (XEP-0045 §18.1 ghosts).
      if (from && stanza.name === "presence") this.forgetResource(from.toString());
      return;
    }
    try {
      if (this.deps.options().access === "local" && from.domain !== this.deps.host)
        throw this.refuse(from.toString(), "forbidden", `only users of ${this.deps.host} may use this gateway`);
      const channel = parseChannelLocalpart(to.local);
      if (channel) {
        const server = this.server(channel.server);
        if (!server)
          throw this.refuse(
            from.bareString(),
            stanza.name === "presence" ? "not-allowed" : "item-not-found",
            `this gateway does not connect to ${channel.server}`,
          );
        return this.toRoom(stanza, from, to, channel.channel, server);
      }
      const user = parseUserLocalpart(to.local);
      if (user) {
        const server = this.server(user.server);
        if (!server)
          throw this.refuse(from.bareString(), "item-not-found", `this gateway does not connect to ${user.server}`);
        if (stanza.name === "message" && stanza.attrs.type !== "groupchat")
          return this.privateMessage(stanza, from, user.nick, server);
        if (stanza.name === "presence") return;
        throw new StanzaError("service-unavailable");
      }
      if (stanza.name === "presence") return;
      throw new StanzaError(to.local === "" ? "service-unavailable" : "item-not-found");
    } catch (err) {
      if (!(err instanceof StanzaError)) {
        this.deps.log.error({ err }, "irc gateway: stanza failed");
        return this.reject(stanza, new StanzaError("internal-server-error"));
      }
      this.reject(stanza, err);
    }
  }

  private reject(stanza: Element, error: StanzaError): void {
    if (stanza.name === "presence") {
      if (stanza.attrs.type === undefined)
        this.deps.send(joinError(stanza.attrs.to ?? "", stanza.attrs.from ?? "", error));
      return;
    }
    this.deps.bounce(stanza, error);
  }

  private toRoom(stanza: Element, from: Jid, to: Jid, channel: string, server: IrcServerOption): void | Promise<void> {
    const user = from.bareString();
    const full = from.toString();
    if (stanza.name === "iq") {
      if (to.resource !== "" || stanza.attrs.type !== "get" || !stanza.getChild("query", NS_DISCO_INFO))
        throw new StanzaError("service-unavailable");
      return this.roomInfo(stanza, channel, server);
    }
    const existing = this.sessions.get(user)?.get(server.host);
    if (stanza.name === "presence") {
      const type = stanza.attrs.type;
      if (type === "unavailable") return existing?.leave(channel, full);
      if (type !== undefined) return;
      // §7.2.1: a nickname is needed.
      if (to.resource === "" || !isNickname(to.resource))
        throw new StanzaError("jid-malformed", "an IRC nickname is required (letters, digits, []\\`_^{|}-)");
      if (existing?.inChannel(channel, full)) {
        // §7.6: presence to a new nick from inside the room is a nick change.
        if (to.resource !== existing.conn.nick) existing.requestNick(full, channel, to.resource);
        return;
      }
      const o = this.deps.options();
      const already = existing?.channels.has(ircLower(channel)) ?? false;
      if (!already && this.channelCount(user) >= o.max_channels_per_user)
        throw this.refuse(user, "resource-constraint", `at most ${o.max_channels_per_user} IRC channels per user`);
      this.session(user, server, to.resource).join(channel, full, to.resource);
      return;
    }
    if (stanza.name !== "message") return;
    if (!existing?.inChannel(channel, full)) throw new StanzaError("not-acceptable", "join the room first");
    const type = stanza.attrs.type;
    const body = stanza.getChildText("body", NS_CLIENT);
    if (to.resource !== "") {
      // §7.5: a private message to an occupant is a private message to that nick.
      if (type === "groupchat") throw new StanzaError("bad-request");
      if (body) this.sendText(existing, to.resource, body);
      return;
    }
    if (type !== "groupchat") throw new StanzaError("bad-request", "messages to a room are of type groupchat");
    const subject = stanza.getChildText("subject", NS_CLIENT);
    if (subject !== undefined && body === undefined) {
      // §8.1: the subject is the channel topic.
      if (!existing.conn.send("TOPIC", channel, subject.replace(/\s+/g, " ").slice(0, 390)))
        throw new StanzaError("remote-server-timeout", "not connected to IRC right now", { type: "wait" });
      return;
    }
    if (!body) return;
    if (!existing.conn.registered)
      throw new StanzaError("remote-server-timeout", "not connected to IRC right now", { type: "wait" });
    this.sendText(existing, channel, body);
    existing.reflect(channel, body);
  }

  private sendText(session: IrcSession, target: string, body: string): void {
    for (const line of body.split(/\r?\n/)) {
      if (line === "") continue;
      const { action, text } = encodeIrcText(line);
      for (const piece of splitUtf8(text, TEXT_BYTES)) {
        const ok = session.privmsg(target, action ? `\x01ACTION ${piece}\x01` : piece);
        if (!ok) throw new StanzaError("remote-server-timeout", "not connected to IRC right now", { type: "wait" });
      }
    }
  }

  private privateMessage(stanza: Element, from: Jid, nick: string, server: IrcServerOption): void {
    const body = stanza.getChildText("body", NS_CLIENT);
    if (!body) return;
    // A private message alone opens a connection too, under the user's own name.
    const own = from.local.replace(/[^A-Za-z0-9_-]/g, "").replace(/^[\d-]+/, "") || "natter";
    this.sendText(this.session(from.bareString(), server, own.slice(0, 16)), nick, body);
  }

  private roomInfo(stanza: Element, channel: string, server: IrcServerOption): void {
    const query = new Element("query", NS_DISCO_INFO);
    query.c("identity", NS_DISCO_INFO, { category: "conference", type: "irc", name: `${channel} on ${server.host}` });
    for (const ns of [NS_DISCO_INFO, NS_MUC]) query.c("feature", NS_DISCO_INFO, { var: ns });
    const reply = new Element("iq", NS_CLIENT, {
      type: "result",
      from: stanza.attrs.to ?? "",
      to: stanza.attrs.from ?? "",
      id: stanza.attrs.id ?? "",
    });
    reply.append(query);
    this.deps.send(reply);
  }

  /** A resource went offline: out of its rooms; a connection left with no channel and no resource online closes. */
  forgetResource(full: string, userOnline = true): void {
    const bare = full.split("/")[0]!;
    for (const s of [...(this.sessions.get(bare)?.values() ?? [])]) {
      s.forget(full);
      if (s.channels.size === 0 && !userOnline) {
        s.close();
        this.ended(s);
      }
    }
  }

  closeAll(): void {
    for (const mine of this.sessions.values()) for (const s of mine.values()) s.close();
    this.sessions.clear();
    this.connections = 0;
  }
}
