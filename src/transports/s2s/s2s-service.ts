// Federation: owns the s2s listeners, the inbound streams and one outbound stream per (local, remote) domain
// pair, applies the operator's policy (s2s.secure, dialback, allow/deny lists) and takes the router's
// "stanza.remote" hook. Transports only: where a stanza goes is still the router's decision.
import { type UnauthenticatedConnections, admitStream } from "../unauthenticated-connections.js";
import { parserLimits } from "../../core/config/parser-limits.js";
import { createHmac } from "node:crypto";
import type { Logger } from "pino";
import type { Config } from "../../core/config/index.js";
import { StanzaError, StreamError } from "../../core/errors.js";
import type { FirstHooks } from "../../core/hooks.js";
import { tryParseJid } from "../../core/jid.js";
import type { CoreServices } from "../../core/modules.js";
import type { CertificateStore } from "../../core/tls/certificates.js";
import type { DialbackType } from "./dialback.js";
import { type ConnectTarget, S2sResolver, parseOverride } from "./resolver.js";
import type { S2sConnection } from "./s2s-connection.js";
import type { S2sEnv, S2sPolicy } from "./s2s-env.js";
import { S2sInbound } from "./s2s-inbound.js";
import { listenS2s, listenS2sDirectTls } from "./s2s-listener.js";
import { S2sOutbound } from "./s2s-outbound.js";
import { S2sTls } from "./trust.js";
import { ListenerGroup } from "../listener-group.js";
import { Server as TlsServer } from "node:tls";

/** `domain` is `listed` or a subdomain of it. */
function within(domain: string, listed: string): boolean {
  return domain === listed || domain.endsWith(`.${listed}`);
}

/** The settings an s2s stream reads when it is made (limits, rates, timeouts). */
type S2sStreamSettings = Pick<
  S2sEnv,
  "limits" | "preAuthLimits" | "rateLimit" | "maxUnsentBytes" | "negotiationTimeoutMs" | "idleTimeoutMs"
>;

function streamSettingsFrom(config: Config): S2sStreamSettings {
  const s2s = config.s2s;
  return {
    ...parserLimits(s2s, config.c2s.max_depth),
    rateLimit: s2s.rate_limit,
    maxUnsentBytes: s2s.max_unsent_bytes,
    negotiationTimeoutMs: s2s.negotiation_timeout * 1000,
    idleTimeoutMs: s2s.idle_timeout * 1000,
  };
}

/** s2s.resolve: fixed addresses for some domains, before DNS. */
function resolverFrom(s2s: Config["s2s"]): S2sResolver {
  const overrides = new Map<string, ConnectTarget>();
  for (const [domain, value] of Object.entries(s2s.resolve)) {
    const target = parseOverride(value);
    if (target) overrides.set(domain, target);
  }
  return new S2sResolver(overrides);
}

export function makePolicy(s2s: Config["s2s"]): S2sPolicy {
  return {
    secure: s2s.secure,
    dialback: s2s.dialback,
    requireEncryption: s2s.require_encryption,
    allows(domain) {
      if (s2s.deny_domains.some((d) => within(domain, d))) return false;
      return s2s.allow_domains.length === 0 || s2s.allow_domains.some((d) => within(domain, d));
    },
  };
}

export class S2sService {
  private readonly outbound = new Map<string, S2sOutbound>();
  private readonly inbound = new Set<S2sInbound>();
  /** The s2s listeners (STARTTLS and direct TLS), which a reload can open, close and move. */
  readonly listenerGroups: ListenerGroup[] = [];

  /** Ports actually bound (differ from the config when it asks for port 0). */
  get ports(): { s2s?: number; s2s_direct_tls?: number } {
    return { s2s: this.listenerGroups[0]?.port, s2s_direct_tls: this.listenerGroups[1]?.port };
  }
  private readonly env: S2sEnv;
  private resolver: S2sResolver;
  private stopping = false;
  private removeHook: (() => void) | undefined;

  private constructor(
    private config: Config,
    private readonly core: CoreServices,
    tls: S2sTls,
    serverSecret: Buffer,
    private readonly log: Logger,
    private readonly unauthenticated: UnauthenticatedConnections | undefined,
  ) {
    this.resolver = resolverFrom(config.s2s);
    this.env = {
      core,
      log,
      policy: makePolicy(config.s2s),
      tls,
      dialbackSecret: createHmac("sha256", serverSecret).update("natter s2s dialback").digest(),
      ...streamSettingsFrom(config),
      isLocalDomain: (domain) => core.hosts.has(domain) || core.router.componentDomains().includes(domain),
      verifyDialback: (local, remote, id, key) => this.verifyDialback(local, remote, id, key),
    };
  }

  static async start(
    config: Config,
    core: CoreServices,
    certs: CertificateStore,
    serverSecret: Buffer,
    log: Logger,
    unauthenticated?: UnauthenticatedConnections,
  ): Promise<S2sService> {
    const s2sLog = log.child({ component: "s2s" });
    const tls = new S2sTls(certs, config.s2s.trust, config.data_dir);
    const service = new S2sService(config, core, tls, serverSecret, s2sLog, unauthenticated);
    const { s2s, s2s_direct_tls } = config.listeners;
    const accept = (conn: S2sConnection) => service.accept(conn);
    const plain = new ListenerGroup("s2s", (addr) => listenS2s(addr, tls, s2sLog, accept));
    const direct = new ListenerGroup("s2s_direct_tls", (addr) =>
      listenS2sDirectTls(addr, tls, s2sLog, accept, unauthenticated),
    );
    service.listenerGroups.push(plain, direct);
    await plain.start(s2s);
    await direct.start(s2s_direct_tls);
    const handler = (payload: FirstHooks["stanza.remote"]) => service.route(payload);
    service.removeHook = core.hooks.add("stanza.remote", handler as (p: never) => unknown, "s2s");
    s2sLog.info(
      { secure: config.s2s.secure, dialback: config.s2s.dialback, overrides: Object.keys(config.s2s.resolve).length },
      config.s2s.secure
        ? "federation on: peers need a valid certificate (s2s.secure)"
        : "federation on: certificates not required (s2s.secure is off)",
    );
    return service;
  }

  private accept(conn: S2sConnection): void {
    if (this.stopping) return conn.destroy();
    const stream = admitStream(
      this.unauthenticated,
      conn.remoteAddress,
      (slot) => new S2sInbound(conn, this.env, (s) => this.inboundEnded(s), slot),
    );
    if (!stream.isClosed) this.inbound.add(stream);
  }

  /** An inbound stream ended: each domain pair no other inbound stream still carries is announced to modules. */
  private inboundEnded(stream: S2sInbound): void {
    this.inbound.delete(stream);
    const open = new Set([...this.inbound].flatMap((s) => s.authenticatedPairs().map((p) => `${p.local} ${p.remote}`)));
    for (const { local, remote } of stream.authenticatedPairs()) {
      if (open.has(`${local} ${remote}`)) continue;
      void this.core.hooks
        .notify("s2s.inbound-closed", { local, remote })
        .catch((err: unknown) => this.log.error({ err }, "s2s.inbound-closed handlers failed"));
    }
  }

  /** The router's "stanza.remote": to a domain that is neither a local host nor a component. */
  private route({ stanza, to }: FirstHooks["stanza.remote"]): "handled" {
    const from = tryParseJid(stanza.attrs.from);
    if (!from || !this.env.isLocalDomain(from.domain)) {
      this.log.warn(
        { from: stanza.attrs.from, to: stanza.attrs.to },
        "dropped a stanza for another server whose sender is not local",
      );
      return "handled";
    }
    if (!this.env.policy.allows(to.domain)) {
      this.log.info({ from: from.domain, to: to.domain }, "stanza to a domain blocked by s2s policy refused");
      this.core.router.bounce(
        stanza,
        new StanzaError("not-allowed", `federation with ${to.domain} is not allowed here`),
      );
      return "handled";
    }
    if (this.stopping) {
      this.core.router.bounce(stanza, new StanzaError("remote-server-timeout", "the server is shutting down"));
      return "handled";
    }
    this.outboundFor(from.domain, to.domain).send(stanza);
    return "handled";
  }

  private outboundFor(local: string, remote: string): S2sOutbound {
    const key = `${local} ${remote}`;
    let out = this.outbound.get(key);
    if (!out || out.isClosed) {
      out = new S2sOutbound(
        local,
        remote,
        this.env,
        this.resolver,
        this.config.s2s.connect_timeout * 1000,
        { stanzas: this.config.s2s.max_queue, bytes: this.config.s2s.max_queue_bytes },
        (ended) => {
          if (this.outbound.get(key) === ended) this.outbound.delete(key);
        },
      );
      this.outbound.set(key, out);
    }
    return out;
  }

  private async verifyDialback(local: string, remote: string, id: string, key: string): Promise<DialbackType> {
    if (this.stopping) return "error";
    const out = this.outboundFor(local, remote);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<DialbackType>((resolve) => {
      timer = setTimeout(() => resolve("error"), this.env.negotiationTimeoutMs);
      timer.unref();
    });
    try {
      return await Promise.race([out.verify(id, key), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** A reload swapped the certificates: the direct-TLS servers' default (no SNI) becomes the new first one. */
  certificatesChanged(): void {
    const { cert, key, ca } = this.env.tls.serverOptions();
    for (const group of this.listenerGroups) {
      for (const server of group.all) if (server instanceof TlsServer) server.setSecureContext({ cert, key, ca });
    }
  }

  /**
   * A reload's policy (allow/deny lists, secure, dialback, encryption): new streams and stanzas follow it, and
   * links with domains it no longer allows end now with <policy-violation/>. Returns how many ended.
   */
  setPolicy(s2s: Config["s2s"]): number {
    const policy = makePolicy(s2s);
    this.env.policy = policy;
    let ended = 0;
    const blocked = (domain: string) => !policy.allows(domain);
    for (const out of [...this.outbound.values()]) {
      if (!blocked(out.remote)) continue;
      out.close(new StreamError("policy-violation", `federation with ${out.remote} is no longer allowed`));
      ended++;
    }
    for (const s of [...this.inbound]) {
      const domain = s.remoteDomains.find(blocked);
      if (domain === undefined) continue;
      s.close(new StreamError("policy-violation", `federation with ${domain} is no longer allowed`));
      ended++;
    }
    return ended;
  }

  /**
   * A reload's limits, timeouts and resolve overrides: links opened from now on take them (an inbound stream
   * also takes the new parser limits when it next restarts or authenticates a domain); open links keep theirs.
   */
  setStreamSettings(config: Config): void {
    Object.assign(this.env, streamSettingsFrom(config));
    this.resolver = resolverFrom(config.s2s);
    this.config = config;
  }

  /** Outbound streams by "local remote" key and whether each is authenticated (tests, admin). */
  connections(): { outbound: { local: string; remote: string; ready: boolean }[]; inbound: number } {
    return {
      outbound: [...this.outbound.values()].map((o) => ({ local: o.local, remote: o.remote, ready: o.isReady })),
      inbound: this.inbound.size,
    };
  }

  /** Every link for administration: outbound streams, and the domain pairs authenticated on inbound ones. */
  links(): { local: string; remote: string; direction: "in" | "out"; ready: boolean }[] {
    const out = [...this.outbound.values()].map((o) => ({
      local: o.local,
      remote: o.remote,
      direction: "out" as const,
      ready: o.isReady,
    }));
    const inbound = [...this.inbound].flatMap((s) =>
      s.authenticatedPairs().map((p) => ({ ...p, direction: "in" as const, ready: true })),
    );
    return [...out, ...inbound];
  }

  /** Authenticated links by direction: what metrics, the stats history and the admin status count. */
  linkCounts(): { inbound: number; outbound: number } {
    let inbound = 0;
    let outbound = 0;
    for (const l of this.links()) {
      if (!l.ready) continue;
      if (l.direction === "in") inbound++;
      else outbound++;
    }
    return { inbound, outbound };
  }

  async close(): Promise<void> {
    this.stopping = true;
    this.removeHook?.();
    for (const l of this.listenerGroups) l.close();
    for (const out of [...this.outbound.values()]) out.close(new StreamError("system-shutdown"));
    for (const s of [...this.inbound]) s.close(new StreamError("system-shutdown"));
  }
}
