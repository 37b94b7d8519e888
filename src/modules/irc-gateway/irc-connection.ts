// One IRC client connection (RFC 2812 §3.1 registration) to one allowed server, over TCP or TLS (certificate
// verified unless the server's entry says otherwise), with reconnection after a drop: exponential backoff with
// jitter, the channels joined before joined again. It knows nothing of XMPP: its owner gets parsed lines.
import { readFileSync } from "node:fs";
import { connect as netConnect, type Socket } from "node:net";
import { type ConnectionOptions, connect as tlsConnect } from "node:tls";
import type { Logger } from "pino";
import { IrcLineReader, type IrcMessage, parseIrcLine, serialiseIrcLine } from "./irc-protocol.js";

export interface IrcServerEntry {
  host: string;
  port: number;
  tls: boolean;
  /** Check the server's certificate against the system CAs and its host name. */
  tls_verify: boolean;
  /** PEM file of the CAs to trust for this server instead of the system's. */
  ca_file?: string | undefined;
}

export interface IrcConnectionSettings {
  maxLineBytes: number;
  reconnectMinMs: number;
  reconnectMaxMs: number;
  connectTimeoutMs: number;
  /** Quiet time after which we PING the server; twice that without a byte and the connection is dropped. */
  pingIntervalMs: number;
  /** Bytes waiting to be written (a server that stops reading) beyond which send() refuses. */
  maxQueuedBytes: number;
  realname: string;
}

export interface IrcConnectionEvents {
  /** Welcome (001) received: registration is over, with the nick the server gave us. */
  registered(nick: string): void;
  message(msg: IrcMessage): void;
  /** The socket closed; `willRetry` says whether a reconnection is scheduled. */
  disconnected(reason: string, willRetry: boolean): void;
}

/** TLS options for a server entry: SNI and host-name checking on the entry's host, its own CAs when it names them. */
export function tlsOptionsFor(server: IrcServerEntry): ConnectionOptions {
  return {
    ...(server.ca_file !== undefined ? { ca: readFileSync(server.ca_file, "utf8") } : {}),
    host: server.host,
    port: server.port,
    servername: /^[\d.]+$|:/.test(server.host) ? undefined : server.host,
    rejectUnauthorized: server.tls_verify,
  };
}

export class IrcConnection {
  private socket: Socket | undefined;
  private closedByUs = false;
  private attempts = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private nickTries = 0;
  private lastData = 0;
  private keepalive: NodeJS.Timeout | undefined;
  /** Whether registration ever succeeded: only then is a drop retried (a first failure is reported). */
  private everRegistered = false;
  registered = false;
  nick: string;

  constructor(
    readonly server: IrcServerEntry,
    wantedNick: string,
    private readonly settings: IrcConnectionSettings,
    private readonly events: IrcConnectionEvents,
    private readonly log: Logger,
  ) {
    this.nick = wantedNick;
  }

  start(): void {
    this.closedByUs = false;
    this.open();
  }

  private open(): void {
    const { host, port } = this.server;
    let socket: Socket;
    try {
      socket = this.server.tls ? tlsConnect(tlsOptionsFor(this.server)) : netConnect({ host, port });
    } catch (err) {
      // An unreadable ca_file: reported like a failed connection.
      this.log.error({ err, server: host }, "irc: cannot connect");
      this.events.disconnected((err as Error).message, false);
      return;
    }
    this.socket = socket;
    this.registered = false;
    this.nickTries = 0;
    socket.setTimeout(this.settings.connectTimeoutMs);
    socket.on("timeout", () => {
      if (!this.registered) socket.destroy(new Error("connect/registration timed out"));
    });
    const reader = new IrcLineReader(
      this.settings.maxLineBytes,
      (line) => this.onLine(line),
      () => this.log.warn({ server: host }, "irc: over-long line from server dropped"),
    );
    socket.on(this.server.tls ? "secureConnect" : "connect", () => {
      this.sendRaw(serialiseIrcLine("NICK", this.nick));
      this.sendRaw(serialiseIrcLine("USER", this.nick.slice(0, 10), "0", "*", this.settings.realname));
    });
    socket.on("data", (chunk: Buffer) => {
      this.lastData = Date.now();
      reader.push(chunk);
    });
    let reason = "closed";
    socket.on("error", (err) => {
      reason = err.message;
    });
    socket.on("close", () => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      clearInterval(this.keepalive);
      this.registered = false;
      const retry = !this.closedByUs && this.everRegistered;
      this.events.disconnected(reason, retry);
      if (retry) this.scheduleReconnect();
    });
  }

  private scheduleReconnect(): void {
    const { reconnectMinMs, reconnectMaxMs } = this.settings;
    const delay = Math.min(reconnectMaxMs, reconnectMinMs * 2 ** this.attempts) * (0.75 + Math.random() * 0.5);
    this.attempts = Math.min(this.attempts + 1, 30);
    this.log.info({ server: this.server.host, delayMs: Math.round(delay) }, "irc: reconnecting");
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.closedByUs) this.open();
    }, delay);
    this.retryTimer.unref();
  }

  private onLine(line: string): void {
    const msg = parseIrcLine(line);
    if (!msg) return;
    try {
      this.handle(msg);
    } catch (err) {
      // Never let one line from the server take the gateway down.
      this.log.error({ err, server: this.server.host, command: msg.command }, "irc: line handling failed");
    }
  }

  private handle(msg: IrcMessage): void {
    switch (msg.command) {
      case "PING":
        this.sendRaw(serialiseIrcLine("PONG", msg.params[0] ?? ""));
        return;
      case "001":
        this.registered = true;
        this.everRegistered = true;
        this.attempts = 0;
        this.socket?.setTimeout(0);
        this.startKeepalive();
        if (msg.params[0]) this.nick = msg.params[0];
        this.events.registered(this.nick);
        return;
      case "433": // ERR_NICKNAMEINUSE during registration: try another (RFC 2812 §3.1.2)
      case "432":
        if (!this.registered) {
          if (++this.nickTries > 5 || msg.command === "432") {
            this.socket?.destroy(new Error(`nickname refused (${msg.command})`));
            return;
          }
          this.nick = `${this.nick}_`;
          this.sendRaw(serialiseIrcLine("NICK", this.nick));
          return;
        }
        break;
      case "NICK":
        if (msg.prefix.split("!")[0] === this.nick && msg.params[0]) this.nick = msg.params[0];
        break;
    }
    this.events.message(msg);
  }

  /** A server gone silent (no FIN, e.g. a dead route) is noticed: PING when quiet, drop when still quiet. */
  private startKeepalive(): void {
    clearInterval(this.keepalive);
    const every = this.settings.pingIntervalMs;
    this.lastData = Date.now();
    this.keepalive = setInterval(
      () => {
        const quiet = Date.now() - this.lastData;
        if (quiet >= 2 * every) this.socket?.destroy(new Error("ping timeout"));
        else if (quiet >= every) this.sendRaw(serialiseIrcLine("PING", "natter"));
      },
      Math.max(250, every / 2),
    );
    this.keepalive.unref();
  }

  /** Sends a command; false when not connected and registered, or the server is not reading (the caller reports it). */
  send(command: string, ...params: string[]): boolean {
    if (!this.registered) return false;
    if ((this.socket?.writableLength ?? 0) > this.settings.maxQueuedBytes) return false;
    this.sendRaw(serialiseIrcLine(command, ...params));
    return true;
  }

  private sendRaw(line: string): void {
    this.socket?.write(line);
  }

  /** Leaves for good: QUIT, close, no reconnection. */
  close(message = "Leaving"): void {
    this.closedByUs = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    clearInterval(this.keepalive);
    const socket = this.socket;
    if (!socket) return;
    if (this.registered) socket.end(serialiseIrcLine("QUIT", message));
    else socket.destroy();
    setTimeout(() => socket.destroy(), 2000).unref();
  }
}
