// One client-to-server stream (RFC 6120) on any client transport (a StreamWire: TCP, WebSocket, BOSH): the
// header, then negotiation (client-negotiation.ts) until a resource is bound or a session resumed, then the
// client's stanzas checked and handed to the router with `from` stamped. The client's Session is a
// ClientSession, which this stream is attached to and which may outlive it (XEP-0198).
import type { LoginThrottle } from "../auth/login-throttle.js";
import { StanzaError, StreamError, errorReply } from "../core/errors.js";
import { type Jid, makeJid, tryParseJid } from "../core/jid.js";
import type { CoreServices } from "../core/modules.js";
import { Element } from "../core/xml/element.js";
import { NS_CLIENT, NS_SESSION, NS_SM } from "../core/xml/ns.js";
import type { StreamParserLimits } from "../core/xml/stream-parser.js";
import { UNCOUNTED, type UnauthenticatedSlot } from "../transports/unauthenticated-connections.js";
import { ClientNegotiation, type NegotiationOptions } from "./client-negotiation.js";
import { ClientSession, type SessionStream } from "./client-session.js";
import type { RateLimitConfig } from "./input-throttle.js";
import type { ResumptionRegistry } from "./resumption-registry.js";
import { type StreamManagementOptions, StreamManagementProtocol } from "./stream-management-protocol.js";
import type { Flushed, StreamHeaderFields, StreamWire } from "./stream-wire.js";
import { XmlStream, type XmlStreamSettings } from "./xml-stream.js";

export interface C2sOptions extends NegotiationOptions {
  /** Parser limits once authenticated. */
  limits: StreamParserLimits;
  /** Smaller limits until SASL succeeds: a stranger's unfinished stanza costs little memory. */
  preAuthLimits: StreamParserLimits;
  negotiationTimeoutMs: number;
  /** Keepalive when nothing was written for this long (0 = off). */
  keepaliveMs: number;
  /** The parser is dropped after this long without input (0 = never; c2s.parser_release_after). */
  parserReleaseMs?: number;
  /** Output queued beyond this closes the stream (a client that does not read). */
  maxPendingBytes: number;
  /** Input rates before and after authentication. */
  rateLimits: { unauthenticated: RateLimitConfig; authenticated: RateLimitConfig };
  /** XEP-0198; undefined = not offered. */
  streamManagement: StreamManagementOptions | undefined;
  resumption: ResumptionRegistry;
}

const PRESENCE_TYPES = new Set([
  "unavailable",
  "subscribe",
  "subscribed",
  "unsubscribe",
  "unsubscribed",
  "probe",
  "error",
]);
const IQ_TYPES = new Set(["get", "set", "result", "error"]);

/**
 * One settings object for every stream of a listener (per options object, replaced on reload), not one per
 * connection: 96 bytes an idle session less (issue 13).
 */
const settingsByOptions = new WeakMap<C2sOptions, { core: CoreServices; settings: XmlStreamSettings }>();

function c2sStreamSettings(opts: C2sOptions, core: CoreServices): XmlStreamSettings {
  const known = settingsByOptions.get(opts);
  if (known?.core === core) return known.settings;
  const settings: XmlStreamSettings = {
    peer: "client",
    contentNs: NS_CLIENT,
    rateLimit: opts.rateLimits.unauthenticated,
    maxPendingBytes: opts.maxPendingBytes,
    negotiationTimeoutMs: opts.negotiationTimeoutMs,
    keepaliveMs: opts.keepaliveMs,
    parserReleaseMs: opts.parserReleaseMs ?? 0,
    counters: core.counters,
  };
  settingsByOptions.set(opts, { core, settings });
  return settings;
}

export class C2sStream extends XmlStream implements SessionStream {
  /** The session, from authentication on; bound (in the registry) once `bound`. */
  session: ClientSession | undefined;
  /** The virtual host the client named in its header. */
  host = "";
  private isBound = false;
  /** Our header and features for the current stream, until they are written (see onHeader). */
  private featuresPending: Promise<void> | undefined;
  /** Until the stream is bound (then dropped with its SASL and pre-authentication state). */
  private negotiation: ClientNegotiation | undefined;
  private readonly sm: StreamManagementProtocol;

  constructor(
    wire: StreamWire,
    private readonly core: CoreServices,
    throttle: LoginThrottle,
    private readonly opts: C2sOptions,
    unauthenticatedSlot: UnauthenticatedSlot = UNCOUNTED,
  ) {
    super(wire, core.log, c2sStreamSettings(opts, core), unauthenticatedSlot);
    this.log = core.log.child({ stream: this.id, ip: wire.remoteAddress });
    this.log.info({ secure: wire.secure }, "c2s connection opened");
    this.sm = new StreamManagementProtocol(this, opts.streamManagement, opts.resumption, core);
    this.negotiation = new ClientNegotiation(this, core, throttle, opts, this.sm);
    this.readStream(opts.preAuthLimits);
  }

  /** Writes a stanza of the attached session to the client; returns its size in bytes (0: not written). */
  writeStanza(stanza: Element, flushed?: Flushed): number {
    if (!this.isBound) {
      flushed?.(new Error("stream not bound"));
      return 0;
    }
    return this.writeElement(stanza, flushed) ?? 0;
  }

  /** The reloaded rate limits: this stream's input from now on is held to them. */
  setRateLimits(limits: C2sOptions["rateLimits"]): void {
    this.setInputRate(this.session ? limits.authenticated : limits.unauthenticated);
  }

  requestAck(): void {
    this.writeRaw(`<r xmlns='${NS_SM}'/>`);
  }

  private defaultHost(): string {
    return this.core.hosts.values().next().value as string;
  }

  protected fallbackHeader(): StreamHeaderFields {
    return { contentNs: NS_CLIENT, id: this.id, from: this.host || this.defaultHost() };
  }

  protected onHeader(contentNs: string, attrs: Record<string, string>): void {
    const to = tryParseJid(attrs.to);
    const host = to && to.local === "" && to.resource === "" ? to.domain : "";
    const from = tryParseJid(attrs.from);
    const header: StreamHeaderFields = {
      contentNs: NS_CLIENT,
      id: this.id,
      from: host || this.defaultHost(),
      ...(from ? { to: from.toString() } : {}),
    };
    const refusal = this.headerRefusal(contentNs, attrs.version, host);
    if (refusal) {
      // RFC 6120 §4.7.1: answer with our own header before any error.
      this.writeHeader(header);
      return this.close(refusal);
    }
    this.host = host;
    const negotiation = this.negotiation;
    if (!negotiation) {
      this.writeHeader(header);
      return this.close(new StreamError("policy-violation", "no stream restart once bound"));
    }
    // Our header waits for the features (modules add to them through async hooks) so that both leave in one
    // write: a write each cost a syscall and a TCP segment, twice per login. Elements the client sends before
    // they are written wait for them (handleElement), so no answer can overtake the header.
    const written = negotiation.features().then(
      (features) => {
        this.writeHeader(header);
        this.writeElement(features);
      },
      (err: unknown) => {
        this.log.error({ err }, "stream features failed");
        this.writeHeader(header);
        this.close(new StreamError("internal-server-error"));
      },
    );
    this.featuresPending = written;
    void written.then(() => {
      if (this.featuresPending === written) this.featuresPending = undefined;
    });
  }

  /** Why the client's stream header is refused (RFC 6120 §4.7), or undefined when it is not. */
  private headerRefusal(contentNs: string, version: string | undefined, host: string): StreamError | undefined {
    if (contentNs !== NS_CLIENT) return new StreamError("invalid-namespace", "content namespace must be jabber:client");
    // RFC 6120 §4.7.5: we speak version 1.0 only.
    if (version === undefined || !/^1\.\d+$/.test(version)) return new StreamError("unsupported-version");
    if (!host || !this.core.hosts.has(host)) return new StreamError("host-unknown");
    if (this.host !== "" && host !== this.host) return new StreamError("host-unknown", "the host changed on restart");
    return undefined;
  }

  protected async handleElement(el: Element): Promise<void> {
    const negotiation = this.negotiation;
    if (this.isBound || !negotiation) return this.handleStanza(el);
    if (this.featuresPending) await this.featuresPending;
    return negotiation.handle(el);
  }

  // NegotiatingStream and SmStream: what negotiation and XEP-0198 do to this stream.

  restart(): void {
    this.headerSent = false;
    this.readStream(this.session ? this.opts.limits : this.opts.preAuthLimits);
  }

  authenticatedAs(username: string): void {
    this.session = new ClientSession(
      this.id,
      this,
      makeJid(username, this.host),
      this.core,
      this.opts.resumption,
      this.opts.streamManagement?.maxUnacked ?? Number.POSITIVE_INFINITY,
      this.opts.streamManagement?.maxUnackedBytes ?? Number.POSITIVE_INFINITY,
      this.log,
    );
    // Parser limits too: a SASL2 login (XEP-0388) has no stream restart to apply them.
    this.peerAuthenticated(this.opts.rateLimits.authenticated, this.opts.limits);
  }

  bound(): void {
    this.isBound = true;
    this.negotiation = undefined;
    this.negotiationDone();
  }

  resumed(session: ClientSession): void {
    const previous = session.attach(this);
    this.session = session;
    this.bound();
    // The old connection may still look open (a half-dead TCP link): it is dropped without ending the session.
    if (previous && previous !== this) previous.close(new StreamError("conflict", "the session was resumed elsewhere"));
  }

  private stanzaError(session: ClientSession, stanza: Element, error: StanzaError): void {
    const reply = errorReply(stanza, error);
    if (!reply) return;
    delete reply.attrs.to; // to the client itself
    session.send(reply);
  }

  private async handleStanza(el: Element): Promise<void> {
    const session = this.session!;
    const kind = el.name;
    if (el.ns === NS_SM) return this.sm.handleBound(session, el);
    if (el.ns !== NS_CLIENT || (kind !== "message" && kind !== "presence" && kind !== "iq")) {
      if (await this.core.hooks.first("stream.element", { session, element: el })) return;
      if (el.ns === NS_CLIENT && kind === "iq") return;
      return this.close(new StreamError("unsupported-stanza-type", `<${el.name}/> is not a stanza`));
    }
    try {
      await this.handleClientStanza(session, el);
    } finally {
      // XEP-0198 §4: every stanza the client sent counts as handled once processed (errors included).
      this.sm.handled(session);
    }
  }

  private async handleClientStanza(session: ClientSession, el: Element): Promise<void> {
    const kind = el.name;
    // draft-cridland-xmpp-session: a no-op answered at once.
    if (kind === "iq" && el.getChild("session", NS_SESSION) && el.attrs.to === undefined) {
      session.send(
        new Element("iq", NS_CLIENT, { type: "result", ...(el.attrs.id !== undefined ? { id: el.attrs.id } : {}) }),
      );
      return;
    }
    // RFC 6120 §8.1.2.1: the server stamps `from`; any other address than the client's own is refused.
    const claimed = el.attrs.from;
    if (claimed !== undefined) {
      const jid = tryParseJid(claimed);
      if (!jid || (jid.toString() !== session.jid.toString() && jid.toString() !== session.jid.bareString())) {
        return this.close(new StreamError("invalid-from", "the from address is not yours"));
      }
    }
    el.attrs.from = session.jid.toString();
    const type = el.attrs.type;
    // RFC 6120 §8.2.3: iq needs id and a known type; presence and message types are checked too.
    if (kind === "iq" && (el.attrs.id === undefined || type === undefined || !IQ_TYPES.has(type))) {
      return this.stanzaError(session, el, new StanzaError("bad-request", "iq needs an id and a valid type"));
    }
    if (kind === "presence" && type !== undefined && !PRESENCE_TYPES.has(type)) {
      return this.stanzaError(session, el, new StanzaError("bad-request", "unknown presence type"));
    }
    let to: Jid | undefined;
    if (el.attrs.to !== undefined) {
      to = tryParseJid(el.attrs.to);
      if (!to) return this.stanzaError(session, el, new StanzaError("jid-malformed"));
      el.attrs.to = to.toString();
    }
    if (await this.core.hooks.first("stanza.outbound", { session, stanza: el })) return;
    // RFC 6120 §10.3: without `to`, the router handles it on the account's behalf.
    if (!to) return this.core.router.routeFromAccount(el, session);
    await this.core.router.route(el, session);
  }

  protected onClosed(reason: string, error: StreamError | undefined, lost: boolean): void {
    const session = this.session;
    if (lost) session?.connectionLost(this, reason);
    // A stream replaced by a resuming one does not end the session it no longer holds. Only a lost
    // connection leaves a session waiting for resumption.
    else if (session?.stream === this) void session.end(error ? error.condition : "closed");
    this.log.info({ reason, jid: session?.jid.toString() }, "c2s connection closed");
  }
}
