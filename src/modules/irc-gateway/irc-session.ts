// One XMPP user's connection to one IRC server, shared by all the user's resources and rooms: the channels it is
// in, their members and topics, and what each IRC event means to the XMPP resources in those rooms (XEP-0045).
import type { Logger } from "pino";
import { StanzaError } from "../../core/errors.js";
import type { Element } from "../../core/xml/element.js";
import { IrcConnection, type IrcConnectionSettings, type IrcServerEntry } from "./irc-connection.js";
import { type IrcMessage, nickOf } from "./irc-protocol.js";
import { decodeIrcText } from "./irc-text.js";
import { channelLocalpart, ircLower, isSafeNick, userLocalpart } from "./jid-mapping.js";
import { chat, groupchat, joinError, occupantPresence, roleOf, subjectMessage } from "./stanzas.js";

interface Member {
  nick: string;
  modes: Set<string>;
}

export interface Channel {
  name: string;
  /** XMPP full JIDs in the room, and whether each has had its self-presence (entered). */
  resources: Map<string, boolean>;
  /** The nick each resource asked for when joining (§7.2.3: 210 when the room nick differs). */
  requested: Map<string, string>;
  members: Map<string, Member>;
  topic: string;
  /** NAMES finished since the last (re)join. */
  synced: boolean;
}

/** Join refusals (RFC 2812 §5.2) as XEP-0045 §7.2 presence errors. */
const JOIN_ERRORS: Record<string, StanzaError["condition"]> = {
  "403": "item-not-found",
  "405": "resource-constraint",
  "471": "service-unavailable",
  "473": "registration-required",
  "474": "forbidden",
  "475": "not-authorized",
  "476": "jid-malformed",
  "477": "registration-required",
};

export interface IrcSessionDeps {
  domain: string;
  settings: IrcConnectionSettings;
  maxMembers: number;
  /** How long a join may wait for the server's end of NAMES. */
  joinTimeoutMs: number;
  send(stanza: Element): void;
  log: Logger;
  /** The connection is gone for good (closed, or never registered). */
  ended(session: IrcSession): void;
}

export class IrcSession {
  readonly conn: IrcConnection;
  readonly channels = new Map<string, Channel>();
  /** PREFIX from ISUPPORT (RFC 2812 default: o → @, v → +). */
  private prefixes: [string, string][] = [
    ["o", "@"],
    ["v", "+"],
  ];
  /** CHANMODES from ISUPPORT: modes that always take a parameter (A, B) and those that do when set (C). */
  private paramModes = { always: "beIkq", whenSet: "lfjJ" };
  /** Private messages waiting for registration (capped). */
  private pending: [string, string][] = [];
  /** Who asked for a nick change last: the answer (433 or NICK) goes to them. */
  private nickRequest: { jid: string; room: string; nick: string } | undefined;

  constructor(
    readonly user: string,
    readonly server: IrcServerEntry,
    nick: string,
    private readonly deps: IrcSessionDeps,
  ) {
    this.conn = new IrcConnection(
      server,
      nick,
      deps.settings,
      {
        registered: () => this.onRegistered(),
        message: (msg) => this.onMessage(msg),
        disconnected: (reason, retry) => this.onDisconnected(reason, retry),
      },
      deps.log,
    );
    this.conn.start();
  }

  roomJid(channel: string): string {
    return `${channelLocalpart(channel, this.server.host)}@${this.deps.domain}`;
  }

  private occupant(channel: string, nick: string): string {
    return `${this.roomJid(channel)}/${nick}`;
  }

  private isMe(nick: string): boolean {
    return ircLower(nick) === ircLower(this.conn.nick);
  }

  /** Adds a resource to a channel: joins on IRC, or (already joined) gives it the room's state at once. */
  join(channelName: string, jid: string, nick: string): void {
    const key = ircLower(channelName);
    let ch = this.channels.get(key);
    if (!ch) {
      ch = {
        name: channelName,
        resources: new Map(),
        requested: new Map(),
        members: new Map(),
        topic: "",
        synced: false,
      };
      this.channels.set(key, ch);
      ch.resources.set(jid, false);
      ch.requested.set(jid, nick);
      this.conn.send("JOIN", channelName);
      this.watchJoin(key, ch);
      return;
    }
    if (ch.resources.get(jid) === true) return;
    ch.resources.set(jid, false);
    ch.requested.set(jid, nick);
    if (ch.synced) this.enter(ch, jid);
  }

  /** A server that never finishes the join (no 366, no refusal) must not leave the user waiting forever. */
  private watchJoin(key: string, ch: Channel): void {
    setTimeout(() => {
      if (this.channels.get(key) !== ch || ch.synced) return;
      const waiting = [...ch.resources].filter(([, entered]) => !entered).map(([jid]) => jid);
      for (const jid of waiting) {
        ch.resources.delete(jid);
        ch.requested.delete(jid);
        const error = new StanzaError("remote-server-timeout", `${this.server.host} did not complete the join`);
        this.deps.send(joinError(this.occupant(ch.name, this.conn.nick), jid, error));
      }
      this.deps.log.info({ user: this.user, server: this.server.host, channel: ch.name }, "irc: join timed out");
      if (ch.resources.size > 0) return;
      this.channels.delete(key);
      this.conn.send("PART", ch.name);
    }, this.deps.joinTimeoutMs).unref();
  }

  /** A resource leaves the room; the last one out parts the channel. */
  leave(channelName: string, jid: string): void {
    const ch = this.channels.get(ircLower(channelName));
    if (!ch?.resources.has(jid)) return;
    ch.resources.delete(jid);
    ch.requested.delete(jid);
    this.deps.send(this.selfPresence(ch, jid, { unavailable: true }));
    if (ch.resources.size === 0) {
      this.channels.delete(ircLower(channelName));
      this.conn.send("PART", ch.name);
    }
  }

  /** A resource went offline without leaving: out of every room, no presence sent to it. */
  forget(jid: string): void {
    for (const [key, ch] of this.channels) {
      ch.requested.delete(jid);
      if (!ch.resources.delete(jid) || ch.resources.size > 0) continue;
      this.channels.delete(key);
      this.conn.send("PART", ch.name);
    }
  }

  inChannel(channelName: string, jid: string): boolean {
    return this.channels.get(ircLower(channelName))?.resources.get(jid) === true;
  }

  requestNick(jid: string, channelName: string, nick: string): void {
    this.nickRequest = { jid, room: this.roomJid(channelName), nick };
    this.conn.send("NICK", nick);
  }

  /** Sends a PRIVMSG now, or after registration (up to 20 waiting). False when it cannot be sent. */
  privmsg(target: string, text: string): boolean {
    if (this.conn.registered) return this.conn.send("PRIVMSG", target, text);
    if (this.pending.length >= 20) return false;
    this.pending.push([target, text]);
    return true;
  }

  /** Reflects a message the user sent to a room to all the user's resources in it (§7.4: IRC does not echo). */
  reflect(channelName: string, body: string): void {
    const ch = this.channels.get(ircLower(channelName));
    if (!ch) return;
    for (const [jid, entered] of ch.resources)
      if (entered) this.deps.send(groupchat(this.occupant(ch.name, this.conn.nick), jid, body));
  }

  close(): void {
    this.conn.close();
  }

  private selfPresence(
    ch: Channel,
    jid: string,
    extra: { unavailable?: boolean; statuses?: number[]; newNick?: string },
  ) {
    const me = ch.members.get(ircLower(this.conn.nick));
    return occupantPresence({
      from: this.occupant(ch.name, this.conn.nick),
      to: jid,
      ...roleOf(me?.modes ?? new Set()),
      ...extra,
      statuses: [...(extra.statuses ?? []), 110],
    });
  }

  /** §7.2.3: the others' presence, then the self-presence (110), then the subject. */
  private enter(ch: Channel, jid: string): void {
    for (const m of ch.members.values()) {
      if (this.isMe(m.nick)) continue;
      this.deps.send(occupantPresence({ from: this.occupant(ch.name, m.nick), to: jid, ...roleOf(m.modes) }));
    }
    // §7.2.3: the service changed the nick (the IRC nick is shared by all the user's rooms): status 210.
    const renamed = ch.requested.get(jid) !== this.conn.nick;
    this.deps.send(this.selfPresence(ch, jid, renamed ? { statuses: [210] } : {}));
    this.deps.send(subjectMessage(this.roomJid(ch.name), jid, ch.topic));
    ch.resources.set(jid, true);
  }

  private toEntered(ch: Channel, build: (jid: string) => Element): void {
    for (const [jid, entered] of ch.resources) if (entered) this.deps.send(build(jid));
  }

  private onRegistered(): void {
    this.deps.log.info({ user: this.user, server: this.server.host, nick: this.conn.nick }, "irc: registered");
    for (const ch of this.channels.values()) this.conn.send("JOIN", ch.name);
    for (const [target, text] of this.pending.splice(0)) this.conn.send("PRIVMSG", target, text);
  }

  private onDisconnected(reason: string, retry: boolean): void {
    this.deps.log.info({ user: this.user, server: this.server.host, reason, retry }, "irc: disconnected");
    for (const [key, ch] of this.channels) {
      // The other occupants are gone until the rejoin lists them again.
      for (const m of ch.members.values()) {
        if (this.isMe(m.nick)) continue;
        this.toEntered(ch, (jid) =>
          occupantPresence({ from: this.occupant(ch.name, m.nick), to: jid, unavailable: true, ...roleOf(m.modes) }),
        );
      }
      ch.members.clear();
      ch.synced = false;
      if (retry) continue;
      for (const [jid, entered] of ch.resources) {
        // §7.2.6 ff. for a join still waiting; status 333 (removed for a technical reason) for those inside.
        this.deps.send(
          entered
            ? this.selfPresence(ch, jid, { unavailable: true, statuses: [333] })
            : joinError(
                this.occupant(ch.name, this.conn.nick),
                jid,
                new StanzaError("remote-server-not-found", `cannot reach ${this.server.host}: ${reason}`),
              ),
        );
      }
      this.channels.delete(key);
    }
    if (!retry) this.deps.ended(this);
  }

  private onMessage(msg: IrcMessage): void {
    const p = msg.params;
    const from = nickOf(msg.prefix);
    // Nicks that become JID resources must be safe (the sender's, a new nick, a kicked one).
    const nicks = [
      msg.prefix.includes("!") ? from : "x",
      msg.command === "NICK" ? (p[0] ?? "") : "x",
      msg.command === "KICK" ? (p[1] ?? "") : "x",
    ];
    if (!nicks.every(isSafeNick)) {
      this.deps.log.debug(
        { server: this.server.host, command: msg.command },
        "irc: line with an unusable nick dropped",
      );
      return;
    }
    switch (msg.command) {
      case "005":
        this.onIsupport(p.slice(1, -1));
        return;
      case "JOIN":
        this.onJoin(from, p[0] ?? "");
        return;
      case "353": // RPL_NAMREPLY: me, type, channel, names
        this.onNames(p[2] ?? "", p[3] ?? "");
        return;
      case "366": // RPL_ENDOFNAMES
        this.onEndOfNames(p[1] ?? "");
        return;
      case "332": {
        // RPL_TOPIC
        const ch = this.channels.get(ircLower(p[1] ?? ""));
        if (ch)
          ch.topic =
            decodeIrcText(p[2] ?? "").kind === "text" ? (decodeIrcText(p[2] ?? "") as { body: string }).body : "";
        return;
      }
      case "TOPIC":
        this.onTopic(from, p[0] ?? "", p[1] ?? "");
        return;
      case "PART":
        this.onGone(p[0] ?? "", from, [], p[1]);
        return;
      case "KICK":
        this.onGone(p[0] ?? "", p[1] ?? "", [307], p[2]);
        return;
      case "QUIT":
        for (const ch of this.channels.values())
          if (ch.members.has(ircLower(from))) this.onGone(ch.name, from, [], p[0]);
        return;
      case "NICK":
        this.onNick(from, p[0] ?? "");
        return;
      case "MODE":
        this.onMode(p[0] ?? "", p[1] ?? "", p.slice(2));
        return;
      case "PRIVMSG":
      case "NOTICE":
        this.onText(msg.prefix, p[0] ?? "", p[1] ?? "");
        return;
      case "433":
      case "432":
      case "436":
      case "437":
        this.onNickRefused(msg.command);
        return;
      default:
        if (JOIN_ERRORS[msg.command]) this.onJoinRefused(p[1] ?? "", JOIN_ERRORS[msg.command]!, p[2] ?? "");
    }
  }

  private onIsupport(tokens: string[]): void {
    for (const t of tokens) {
      const prefix = /^PREFIX=\(([a-zA-Z]+)\)(\S+)$/.exec(t);
      if (prefix && prefix[1]!.length === prefix[2]!.length && prefix[1]!.length <= 10)
        this.prefixes = [...prefix[1]!].map((m, i) => [m, prefix[2]![i]!]);
      const modes = /^CHANMODES=([^,]*),([^,]*),([^,]*)/.exec(t);
      if (modes) this.paramModes = { always: (modes[1]! + modes[2]!).slice(0, 60), whenSet: modes[3]!.slice(0, 60) };
    }
  }

  private onJoin(nick: string, channelName: string): void {
    const ch = this.channels.get(ircLower(channelName));
    if (!ch) return;
    if (this.isMe(nick)) {
      ch.name = channelName;
      ch.members.clear();
      ch.synced = false;
    }
    if (ch.members.size >= this.deps.maxMembers) return;
    const member = { nick, modes: new Set<string>() };
    ch.members.set(ircLower(nick), member);
    if (!this.isMe(nick) && ch.synced)
      this.toEntered(ch, (jid) =>
        occupantPresence({ from: this.occupant(ch.name, nick), to: jid, ...roleOf(member.modes) }),
      );
  }

  private onNames(channelName: string, names: string): void {
    const ch = this.channels.get(ircLower(channelName));
    if (!ch || ch.synced) return;
    for (const entry of names.split(" ")) {
      if (entry === "" || ch.members.size >= this.deps.maxMembers) continue;
      let i = 0;
      const modes = new Set<string>();
      for (; i < entry.length; i++) {
        const mode = this.prefixes.find(([, sym]) => sym === entry[i]);
        if (!mode) break;
        modes.add(mode[0]);
      }
      const nick = entry.slice(i).split("!")[0]!;
      if (isSafeNick(nick)) ch.members.set(ircLower(nick), { nick, modes });
    }
  }

  private onEndOfNames(channelName: string): void {
    const ch = this.channels.get(ircLower(channelName));
    if (!ch || ch.synced) return;
    ch.synced = true;
    for (const [jid, entered] of ch.resources) {
      if (!entered) this.enter(ch, jid);
      // Back after a reconnection: the occupants again.
      else
        for (const m of ch.members.values())
          if (!this.isMe(m.nick))
            this.deps.send(occupantPresence({ from: this.occupant(ch.name, m.nick), to: jid, ...roleOf(m.modes) }));
    }
  }

  private onTopic(nick: string, channelName: string, raw: string): void {
    const ch = this.channels.get(ircLower(channelName));
    if (!ch) return;
    const text = decodeIrcText(raw);
    ch.topic = text.kind === "ctcp" ? "" : text.body;
    this.toEntered(ch, (jid) => subjectMessage(this.occupant(ch.name, nick), jid, ch.topic));
  }

  /** PART, KICK (307) or QUIT of someone: unavailable presence; when it is us, the room is left for every resource. */
  private onGone(channelName: string, nick: string, statuses: number[], reason?: string): void {
    const key = ircLower(channelName);
    const ch = this.channels.get(key);
    if (!ch) return;
    const cleanReason =
      reason === undefined
        ? undefined
        : decodeIrcText(reason).kind === "text"
          ? (decodeIrcText(reason) as { body: string }).body
          : undefined;
    if (this.isMe(nick)) {
      this.toEntered(ch, (jid) => this.selfPresence(ch, jid, { unavailable: true, statuses }));
      this.channels.delete(key);
      return;
    }
    const member = ch.members.get(ircLower(nick));
    if (!member) return;
    ch.members.delete(ircLower(nick));
    this.toEntered(ch, (jid) =>
      occupantPresence({
        from: this.occupant(ch.name, member.nick),
        to: jid,
        unavailable: true,
        ...roleOf(member.modes),
        statuses,
        ...(cleanReason ? { reason: cleanReason } : {}),
      }),
    );
  }

  /** §7.6: 303 unavailable with the new nick, then available under it (110 for ourselves). */
  private onNick(oldNick: string, newNick: string): void {
    if (newNick === "") return;
    // IrcConnection already took our new nick: compare with the request or the new one.
    const self = ircLower(newNick) === ircLower(this.conn.nick) && ircLower(oldNick) !== ircLower(newNick);
    if (self) this.nickRequest = undefined;
    for (const ch of this.channels.values()) {
      const member = ch.members.get(ircLower(oldNick));
      if (!member) continue;
      ch.members.delete(ircLower(oldNick));
      member.nick = newNick;
      ch.members.set(ircLower(newNick), member);
      const role = roleOf(member.modes);
      this.toEntered(ch, (jid) =>
        occupantPresence({
          from: this.occupant(ch.name, oldNick),
          to: jid,
          unavailable: true,
          ...role,
          newNick,
          statuses: self ? [303, 110] : [303],
        }),
      );
      this.toEntered(ch, (jid) =>
        occupantPresence({ from: this.occupant(ch.name, newNick), to: jid, ...role, statuses: self ? [110] : [] }),
      );
    }
  }

  private onNickRefused(code: string): void {
    const req = this.nickRequest;
    if (!req) return;
    this.nickRequest = undefined;
    // §7.6: the nick is taken (conflict) or not acceptable to the IRC server.
    const error =
      code === "433" || code === "436"
        ? new StanzaError("conflict", "that nick is in use on IRC")
        : new StanzaError("not-acceptable", "IRC refused that nick");
    this.deps.send(joinError(`${req.room}/${req.nick}`, req.jid, error));
  }

  /** MODE on a channel: prefix modes change roles (§9 / §10: a new presence for the occupant). */
  private onMode(channelName: string, modeString: string, args: string[]): void {
    const ch = this.channels.get(ircLower(channelName));
    if (!ch) return;
    let adding = true;
    let argIndex = 0;
    const changed = new Set<Member>();
    for (const c of modeString) {
      if (c === "+" || c === "-") {
        adding = c === "+";
        continue;
      }
      if (this.prefixes.some(([m]) => m === c)) {
        const member = ch.members.get(ircLower(args[argIndex++] ?? ""));
        if (!member) continue;
        if (adding) member.modes.add(c);
        else member.modes.delete(c);
        changed.add(member);
      } else if (this.paramModes.always.includes(c) || (adding && this.paramModes.whenSet.includes(c))) {
        argIndex++;
      }
    }
    for (const member of changed) {
      const self = this.isMe(member.nick);
      this.toEntered(ch, (jid) =>
        occupantPresence({
          from: this.occupant(ch.name, member.nick),
          to: jid,
          ...roleOf(member.modes),
          statuses: self ? [110] : [],
        }),
      );
    }
  }

  private onText(prefix: string, target: string, raw: string): void {
    const nick = nickOf(prefix);
    const text = decodeIrcText(raw);
    if (text.kind === "ctcp") return; // CTCP requests and replies other than ACTION are not passed on
    const body = text.kind === "action" ? `/me ${text.body}` : text.body;
    if (body === "") return;
    const ch = this.channels.get(ircLower(target));
    if (ch) {
      // A server's notice to the channel comes from the room itself.
      const from = prefix.includes("!") && nick !== "" ? this.occupant(ch.name, nick) : this.roomJid(ch.name);
      this.toEntered(ch, (jid) => groupchat(from, jid, body));
      return;
    }
    if (this.isMe(target) && prefix.includes("!") && nick !== "") {
      // A private message: from nick%server@gateway to the user's bare JID (every resource by the usual rules).
      this.deps.send(chat(`${userLocalpart(nick, this.server.host)}@${this.deps.domain}`, this.user, body));
    }
  }

  private onJoinRefused(channelName: string, condition: StanzaError["condition"], text: string): void {
    const key = ircLower(channelName);
    const ch = this.channels.get(key);
    if (!ch || ch.synced) return;
    for (const [jid, entered] of ch.resources)
      if (!entered)
        this.deps.send(
          joinError(this.occupant(ch.name, this.conn.nick), jid, new StanzaError(condition, text.slice(0, 200))),
        );
    this.channels.delete(key);
  }
}
