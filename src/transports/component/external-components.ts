// External components (XEP-0114): the configured domains, the one stream serving each, and the TCP listener
// they connect to. Every configured domain is registered with the router for the server's whole life, so
// that while its component is away stanzas to it are answered with <service-unavailable/> (the domain is
// known, its service is down) rather than routed elsewhere or refused as an unknown server.
import { type Server, type Socket, createServer } from "node:net";
import type { Logger } from "pino";
import { StanzaError, StreamError } from "../../core/errors.js";
import type { CoreServices } from "../../core/modules.js";
import type { Element } from "../../core/xml/element.js";
import type { RateLimitConfig } from "../../stream/input-throttle.js";
import { TcpConnection } from "../tcp/tcp-connection.js";
import { type UnauthenticatedConnections, admitStream } from "../unauthenticated-connections.js";
import { type ComponentDirectory, ComponentStream, type ComponentStreamOptions } from "./component-stream.js";

export interface ComponentConfig {
  domain: string;
  secret: string;
  /** Input rate once the handshake succeeded. */
  rate_limit: RateLimitConfig;
  /** Output the component has not read beyond this closes its connection. */
  max_unsent_bytes: number;
}

export interface ComponentListenerConfig {
  enabled: boolean;
  port: number;
  bind: string[];
}

export class ExternalComponents implements ComponentDirectory {
  private readonly configs = new Map<string, ComponentConfig>();
  private readonly connected = new Map<string, ComponentStream>();
  /** Every open stream, authenticated or not (closed at shutdown). */
  private readonly streams = new Set<ComponentStream>();
  private readonly removers: (() => void)[] = [];
  private readonly servers: Server[] = [];
  private closed = false;

  constructor(
    components: readonly ComponentConfig[],
    private readonly core: CoreServices,
    private readonly unauthenticated: UnauthenticatedConnections | undefined,
    private readonly opts: ComponentStreamOptions,
  ) {
    for (const component of components) {
      const { domain } = component;
      this.configs.set(domain, component);
      try {
        this.removers.push(core.router.registerComponent(domain, (stanza) => this.deliver(domain, stanza)));
      } catch (err) {
        this.close();
        // A module's service (conference.<host>, upload.<host> …) already has that domain.
        throw new Error(`components: ${domain}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }

  secretOf(domain: string): string | undefined {
    return this.configs.get(domain)?.secret;
  }

  limitsOf(domain: string): { rateLimit: RateLimitConfig; maxUnsentBytes: number } | undefined {
    const config = this.configs.get(domain);
    return config && { rateLimit: config.rate_limit, maxUnsentBytes: config.max_unsent_bytes };
  }

  isConnected(domain: string): boolean {
    return this.connected.has(domain);
  }

  attach(domain: string, stream: ComponentStream): boolean {
    if (this.closed || this.connected.has(domain)) return false;
    this.connected.set(domain, stream);
    return true;
  }

  detach(domain: string, stream: ComponentStream): void {
    if (this.connected.get(domain) === stream) {
      this.connected.delete(domain);
      this.core.log.info({ domain }, "component disconnected; its domain answers service-unavailable until it returns");
    }
  }

  /** The router's handler for a configured domain. */
  private deliver(domain: string, stanza: Element): void {
    const stream = this.connected.get(domain);
    if (stream) return stream.send(stanza);
    // The component is away. Presence is dropped, as for an address with no entity behind it (RFC 6121
    // §8.5.1): an error per roster push or broadcast would only be noise. iq results and errors, and error
    // messages, are never answered (RFC 6120 §8.3.1); the rest is told the service is down for now.
    if (stanza.name === "presence") return;
    if (stanza.name === "iq" && stanza.attrs.type !== "get" && stanza.attrs.type !== "set") return;
    this.core.router.bounce(stanza, new StanzaError("service-unavailable", `${domain} is not connected`, { type: "wait" }));
  }

  /** Opens the listener (loopback by default: XEP-0114 has no TLS, the secret is all that guards it). */
  async listen(config: ComponentListenerConfig, log: Logger, accepting: () => boolean): Promise<Server[]> {
    const onConnection = (socket: Socket) => {
      const conn = new TcpConnection(socket, undefined);
      if (this.closed || !accepting()) return conn.destroy();
      const stream = admitStream(this.unauthenticated, conn.remoteAddress, (slot) => new ComponentStream(conn, this.core, this, this.opts, slot));
      this.streams.add(stream);
      conn.onClose(() => this.streams.delete(stream));
    };
    const hosts = config.bind.length > 0 ? config.bind : [undefined];
    for (const host of hosts) {
      const server = createServer({ noDelay: true }, onConnection);
      try {
        await new Promise<void>((resolve, reject) => {
          server.once("error", reject);
          server.listen({ port: config.port, host }, () => {
            server.off("error", reject);
            resolve();
          });
        });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        // A host without IPv6 has no ::1: the default ["127.0.0.1", "::1"] still works on 127.0.0.1.
        if ((code === "EADDRNOTAVAIL" || code === "EAFNOSUPPORT") && hosts.length > 1) {
          log.warn({ address: host, code }, "component listener: address not available; skipped");
          continue;
        }
        throw err;
      }
      server.on("error", (err) => log.error({ err }, "component listener error"));
      const a = server.address();
      log.info({ address: typeof a === "object" && a ? `${a.address}:${a.port}` : a }, "component listening");
      this.servers.push(server);
      // Port 0 (tests): every address gets the port the first one was given.
      if (config.port === 0 && typeof a === "object" && a) config = { ...config, port: a.port };
    }
    if (this.servers.length === 0) throw new Error("listeners.component: no address could be bound");
    return [...this.servers];
  }

  /** Closes every component stream and unregisters the domains (shutdown). */
  close(error: StreamError = new StreamError("system-shutdown")): void {
    this.closed = true;
    for (const s of this.servers) s.close();
    for (const stream of [...this.streams]) stream.close(error);
    this.connected.clear();
    for (const remove of this.removers.splice(0)) remove();
  }
}
