// One external component's stream (XEP-0114 §3, jabber:component:accept): the header names the component's
// domain, a <handshake/> proves the shared secret, then stanzas flow both ways. Nothing is routed before the
// handshake, and every stanza after it must come from the component's own domain.
import { StanzaError, StreamError, errorReply } from "../../core/errors.js";
import { tryParseJid } from "../../core/jid.js";
import type { CoreServices } from "../../core/modules.js";
import type { Element } from "../../core/xml/element.js";
import { NS_CLIENT, NS_COMPONENT } from "../../core/xml/ns.js";
import type { StreamParserLimits } from "../../core/xml/stream-parser.js";
import type { ByteConnection } from "../../stream/connection.js";
import { FramedWire } from "../../stream/framed-wire.js";
import { tcpFraming } from "../../stream/framing.js";
import type { RateLimitConfig } from "../../stream/input-throttle.js";
import type { StreamHeaderFields } from "../../stream/stream-wire.js";
import { XmlStream } from "../../stream/xml-stream.js";
import { UNCOUNTED, type UnauthenticatedSlot } from "../unauthenticated-connections.js";
import { handshakeMatches } from "./handshake.js";

export interface ComponentStreamOptions {
  /** Parser limits once the handshake succeeded. */
  limits: StreamParserLimits;
  /** Until then (c2s.pre_auth): anyone who reaches the port can send this much. */
  preAuthLimits: StreamParserLimits;
  /** Time allowed from connection to a successful handshake. */
  negotiationTimeoutMs: number;
  /** Input rate until the handshake succeeds (then the component's own, from the directory). */
  preHandshakeRateLimit: RateLimitConfig;
}

/** What a stream needs from the registry of configured components. */
export interface ComponentDirectory {
  /** The shared secret of a configured component domain, or undefined when none is configured. */
  secretOf(domain: string): string | undefined;
  /** The configured limits of a component domain. */
  limitsOf(domain: string): { rateLimit: RateLimitConfig; maxUnsentBytes: number } | undefined;
  /** The domain already has an authenticated stream. */
  isConnected(domain: string): boolean;
  /** Makes this stream the one serving `domain`; false when another took it first. */
  attach(domain: string, stream: ComponentStream): boolean;
  /** Forgets this stream (a no-op when it is not the one serving `domain`). */
  detach(domain: string, stream: ComponentStream): void;
}

type Phase = "header" | "handshake" | "ready" | "closed";
const STANZA_NAMES = new Set(["message", "presence", "iq"]);
const IQ_TYPES = new Set(["get", "set", "result", "error"]);
/** Stanzas processed concurrently per stream before reading pauses (flood control, order kept). */
const MAX_QUEUED = 256;

/** Stanzas travel inside Natter in jabber:client; the component stream's default namespace maps onto it. */
function intoClientNamespace(el: Element): void {
  if (el.ns === NS_COMPONENT) el.ns = NS_CLIENT;
  for (const c of el.children) if (typeof c !== "string") intoClientNamespace(c);
}

export class ComponentStream extends XmlStream {
  private phase: Phase = "header";
  /** The domain named in the header (XEP-0114 §3: the 'to' of the component's header). */
  private domain = "";
  private attached = false;

  constructor(
    conn: ByteConnection,
    private readonly core: CoreServices,
    private readonly directory: ComponentDirectory,
    private readonly opts: ComponentStreamOptions,
    /** Counts this connection among the unauthenticated ones until the handshake succeeds or it closes. */
    unauthenticatedSlot: UnauthenticatedSlot = UNCOUNTED,
  ) {
    super(
      new FramedWire(conn, tcpFraming),
      core.log,
      {
        peer: "component",
        contentNs: NS_COMPONENT,
        rateLimit: opts.preHandshakeRateLimit,
        // The component's own limit once it is known (its handshake).
        maxPendingBytes: 1024 * 1024,
        maxQueued: MAX_QUEUED,
        negotiationTimeoutMs: opts.negotiationTimeoutMs,
        counters: core.counters,
      },
      unauthenticatedSlot,
    );
    this.log = core.log.child({ stream: this.id, ip: conn.remoteAddress });
    this.log.info("component connection opened");
    this.readStream(opts.preAuthLimits);
  }

  /** The component domain this stream authenticated for ("" before the handshake). */
  get authenticatedDomain(): string {
    return this.phase === "ready" ? this.domain : "";
  }

  /** Writes a stanza routed to the component's domain. */
  send(stanza: Element): void {
    if (this.phase === "ready") this.writeElement(stanza);
  }

  /** XEP-0114 §3 example 2: the reply header carries the component's name and the stream id; no version. */
  protected fallbackHeader(): StreamHeaderFields {
    return { contentNs: NS_COMPONENT, id: this.id, ...(this.domain ? { from: this.domain } : {}), version: false };
  }

  protected override onStreamEnd(): void {
    this.log.info({ domain: this.domain }, "component closed the stream");
    this.close();
  }

  protected onHeader(contentNs: string, attrs: Record<string, string>): void {
    const to = tryParseJid(attrs.to);
    const domain = to?.isDomain ? to.domain : undefined;
    // XEP-0114 §3: errors about the header still come after an opening tag of ours (RFC 6120 §4.9.1.1).
    this.writeHeader({ contentNs: NS_COMPONENT, id: this.id, ...(domain ? { from: domain } : {}), version: false });
    // XEP-0114 §3: an unsupported stream namespace MUST get <invalid-namespace/>.
    if (contentNs !== NS_COMPONENT)
      return this.close(new StreamError("invalid-namespace", `the stream namespace must be ${NS_COMPONENT}`));
    // XEP-0114 §3: a component name the server will not service MUST get a stream error, e.g. <host-unknown/>…
    if (domain === undefined || this.directory.secretOf(domain) === undefined) {
      return this.close(new StreamError("host-unknown", "no component is configured for that domain"));
    }
    this.domain = domain;
    // …or <conflict/>: the stream already serving the domain keeps it, the newcomer is refused.
    if (this.directory.isConnected(domain))
      return this.close(new StreamError("conflict", "a component is already connected for that domain"));
    this.phase = "handshake";
  }

  protected async handleElement(el: Element): Promise<void> {
    if (this.phase === "ready") return this.handleStanza(el);
    if (this.phase === "handshake" && el.name === "handshake" && el.ns === NS_COMPONENT)
      return this.handleHandshake(el);
    // RFC 6120 §4.9.3.12: anything but the handshake before authentication; nothing of it is routed.
    this.close(new StreamError("not-authorized", "send the handshake first"));
  }

  private handleHandshake(el: Element): void {
    const secret = this.directory.secretOf(this.domain);
    // XEP-0114 §3: invalid credentials: the receiver MUST close the stream and SHOULD say <not-authorized/>.
    if (secret === undefined || !handshakeMatches(el.text(), this.id, secret)) {
      this.log.warn({ domain: this.domain }, "component handshake failed");
      return this.close(new StreamError("not-authorized", "wrong handshake"));
    }
    // Two streams may both have passed the header check; the first handshake wins (XEP-0114 §3 <conflict/>).
    if (!this.directory.attach(this.domain, this)) {
      return this.close(new StreamError("conflict", "a component is already connected for that domain"));
    }
    this.attached = true;
    this.phase = "ready";
    // The handshake authenticates without a stream restart: the normal limits apply from the next byte on.
    const limits = this.directory.limitsOf(this.domain);
    this.peerAuthenticated(limits?.rateLimit, this.opts.limits, limits?.maxUnsentBytes);
    // XEP-0114 §3: success is an empty <handshake/>.
    this.writeRaw("<handshake/>");
    this.log.info({ domain: this.domain }, "component authenticated");
  }

  private stanzaError(stanza: Element, error: StanzaError): void {
    const reply = errorReply(stanza, error);
    if (reply) this.send(reply);
  }

  private async handleStanza(el: Element): Promise<void> {
    if (el.ns !== NS_COMPONENT || !STANZA_NAMES.has(el.name)) {
      return this.close(new StreamError("unsupported-stanza-type", `<${el.name}/> is not a stanza`));
    }
    // XEP-0114 §3: every stanza MUST carry 'from' and 'to', as on jabber:server streams; RFC 6120 §4.9.3.7.
    const { from: fromAttr, to: toAttr } = el.attrs;
    if (fromAttr === undefined || toAttr === undefined) {
      return this.close(new StreamError("improper-addressing", "stanzas from a component need both 'from' and 'to'"));
    }
    const from = tryParseJid(fromAttr);
    const to = tryParseJid(toAttr);
    if (!from || !to) return this.close(new StreamError("improper-addressing", "'from' or 'to' is not a valid JID"));
    // XEP-0114 §3: the domain of 'from' MUST be the component's (any local part or resource at it is fine);
    // RFC 6120 §4.9.3.9 names the error.
    if (from.domain !== this.domain) {
      return this.close(new StreamError("invalid-from", `stanzas must come from ${this.domain} or an address at it`));
    }
    intoClientNamespace(el);
    el.attrs.from = from.toString();
    el.attrs.to = to.toString();
    // RFC 6120 §8.2.3: an iq needs an id and one of the four types.
    const type = el.attrs.type;
    if (el.name === "iq" && (el.attrs.id === undefined || type === undefined || !IQ_TYPES.has(type))) {
      return this.stanzaError(el, new StanzaError("bad-request", "iq needs an id and a valid type"));
    }
    await this.core.router.route(el);
  }

  protected onClosed(reason: string): void {
    if (this.attached) this.directory.detach(this.domain, this);
    this.log.info({ domain: this.domain, reason }, "component connection closed");
  }
}
