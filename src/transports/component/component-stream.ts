// One external component's stream (XEP-0114 §3, jabber:component:accept): the header names the component's
// domain, a <handshake/> proves the shared secret, then stanzas flow both ways. Nothing is routed before the
// handshake, and every stanza after it must come from the component's own domain.
import { InboundQueue } from "../../stream/inbound-queue.js";
import type { Logger } from "pino";
import { StanzaError, StreamError, errorReply } from "../../core/errors.js";
import { tryParseJid } from "../../core/jid.js";
import type { CoreServices } from "../../core/modules.js";
import { Element, InvalidXmlCharError, escapeAttr } from "../../core/xml/element.js";
import { NS_CLIENT, NS_COMPONENT, NS_STREAM } from "../../core/xml/ns.js";
import { type StreamParserLimits, XmppStreamParser } from "../../core/xml/stream-parser.js";
import type { ByteConnection } from "../../stream/connection.js";
import { InputThrottle, type RateLimitConfig } from "../../stream/input-throttle.js";
import { STREAM_CLOSE, newStreamId } from "../../stream/stream-header.js";
import { handshakeMatches } from "./handshake.js";
import { UNCOUNTED, type UnauthenticatedSlot } from "../unauthenticated-connections.js";

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

/** XEP-0114 §3 example 2: the reply header carries the component's name and the stream id; no version. */
function componentHeader(id: string, from: string | undefined): string {
  const fromAttr = from ? ` from='${escapeAttr(from)}'` : "";
  return `<?xml version='1.0'?><stream:stream xmlns='${NS_COMPONENT}' xmlns:stream='${NS_STREAM}' id='${id}'${fromAttr}>`;
}

/** Stanzas travel inside Natter in jabber:client; the component stream's default namespace maps onto it. */
function intoClientNamespace(el: Element): void {
  if (el.ns === NS_COMPONENT) el.ns = NS_CLIENT;
  for (const c of el.children) if (typeof c !== "string") intoClientNamespace(c);
}

export class ComponentStream {
  readonly id = newStreamId();
  private phase: Phase = "header";
  /** The domain named in the header (XEP-0114 §3: the 'to' of the component's header). */
  private domain = "";
  private attached = false;
  private headerSent = false;
  private parser: XmppStreamParser | undefined;
  private negotiationTimer: NodeJS.Timeout | undefined;
  private readonly log: Logger;
  private readonly input: InputThrottle;
  /** Output queued beyond this closes the stream (a component that does not read); the component's own once known. */
  private maxUnsentBytes = 1024 * 1024;

  constructor(
    private readonly conn: ByteConnection,
    private readonly core: CoreServices,
    private readonly directory: ComponentDirectory,
    private readonly opts: ComponentStreamOptions,
    /** Counts this connection among the unauthenticated ones until the handshake succeeds or it closes. */
    private readonly unauthenticatedSlot: UnauthenticatedSlot = UNCOUNTED,
  ) {
    this.log = core.log.child({ stream: this.id, ip: conn.remoteAddress });
    this.log.info("component connection opened");
    this.parser = new XmppStreamParser(
      {
        streamStart: (_name, _ns, contentNs, attrs) => this.onStreamStart(contentNs, attrs),
        stanza: (el) => this.enqueue(el),
        streamEnd: () => {
          this.log.info({ domain: this.domain }, "component closed the stream");
          this.close();
        },
        error: (err) => this.close(err),
      },
      opts.preAuthLimits,
    );
    this.input = new InputThrottle(conn, opts.preHandshakeRateLimit, () => this.log);
    conn.onData((chunk) => {
      this.input.received(chunk.length);
      this.parser?.write(chunk);
    });
    conn.onClose((reason) => this.onTransportClosed(reason));
    this.negotiationTimer = setTimeout(() => {
      this.close(new StreamError("connection-timeout", "no successful handshake in time"));
    }, opts.negotiationTimeoutMs);
    this.negotiationTimer.unref();
  }

  /** The component domain this stream authenticated for ("" before the handshake). */
  get authenticatedDomain(): string {
    return this.phase === "ready" ? this.domain : "";
  }

  private write(text: string): void {
    if (this.phase === "closed") return;
    this.conn.write(text);
    if (this.conn.pendingBytes > this.maxUnsentBytes) {
      this.log.warn({ domain: this.domain, pending: this.conn.pendingBytes }, "component is not reading; closing");
      this.phase = "closed";
      this.conn.destroy();
    }
  }

  /** Writes a stanza routed to the component's domain. */
  send(stanza: Element): void {
    if (this.phase !== "ready") return;
    let text: string;
    try {
      text = stanza.toString(NS_COMPONENT);
    } catch (err) {
      if (err instanceof InvalidXmlCharError) {
        this.log.warn({ name: stanza.name }, "dropped an outgoing stanza with characters XML cannot carry");
        return;
      }
      throw err;
    }
    this.write(text);
  }

  private writeHeader(from: string | undefined): void {
    if (this.headerSent) return;
    this.headerSent = true;
    this.conn.write(componentHeader(this.id, from));
  }

  private onStreamStart(contentNs: string, attrs: Record<string, string>): void {
    const to = tryParseJid(attrs.to);
    const domain = to?.isDomain ? to.domain : undefined;
    // XEP-0114 §3: errors about the header still come after an opening tag of ours (RFC 6120 §4.9.1.1).
    this.writeHeader(domain);
    // XEP-0114 §3: an unsupported stream namespace MUST get <invalid-namespace/>.
    if (contentNs !== NS_COMPONENT) return this.close(new StreamError("invalid-namespace", `the stream namespace must be ${NS_COMPONENT}`));
    // XEP-0114 §3: a component name the server will not service MUST get a stream error, e.g. <host-unknown/>…
    if (domain === undefined || this.directory.secretOf(domain) === undefined) {
      return this.close(new StreamError("host-unknown", "no component is configured for that domain"));
    }
    this.domain = domain;
    // …or <conflict/>: the stream already serving the domain keeps it, the newcomer is refused.
    if (this.directory.isConnected(domain)) return this.close(new StreamError("conflict", "a component is already connected for that domain"));
    this.phase = "handshake";
  }

  private readonly inbound = new InboundQueue({
    isClosed: () => this.phase === "closed",
    handle: (el) => this.handleElement(el),
    failed: (err) => {
      this.log.error({ err }, "component stream element handling failed");
      this.close(new StreamError("internal-server-error"));
    },
    pause: () => this.input.pauseForQueue(),
    resume: () => this.input.resumeForQueue(),
  }, MAX_QUEUED);

  private enqueue(el: Element): void {
    const notBefore = this.input.stanza();
    if (notBefore === "cut") return this.close(new StreamError("policy-violation", "far too many stanzas too fast"));
    this.inbound.push(el, notBefore);
  }

  private async handleElement(el: Element): Promise<void> {
    if (this.phase === "ready") return this.handleStanza(el);
    if (this.phase === "handshake" && el.name === "handshake" && el.ns === NS_COMPONENT) return this.handleHandshake(el);
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
    this.parser?.setLimits(this.opts.limits);
    this.unauthenticatedSlot.release();
    const limits = this.directory.limitsOf(this.domain);
    if (limits) {
      this.input.setLimits(limits.rateLimit);
      this.maxUnsentBytes = limits.maxUnsentBytes;
    }
    if (this.negotiationTimer) clearTimeout(this.negotiationTimer);
    // XEP-0114 §3: success is an empty <handshake/>.
    this.write(`<handshake/>`);
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

  /** Ends the stream, with a stream error when given (RFC 6120 §4.9.1). */
  close(error?: StreamError): void {
    if (this.phase === "closed") return;
    if (error) {
      this.writeHeader(this.domain || undefined);
      this.log.info({ domain: this.domain, condition: error.condition, text: error.text }, "stream error");
      this.conn.write(error.toElement().toString(NS_COMPONENT));
    }
    if (this.headerSent) this.conn.write(STREAM_CLOSE);
    this.phase = "closed";
    this.parser = undefined;
    this.conn.end();
    this.teardown(error ? error.condition : "closed");
  }

  private onTransportClosed(reason: string): void {
    this.phase = "closed";
    this.parser = undefined;
    this.teardown(reason);
  }

  private tornDown = false;
  private teardown(reason: string): void {
    if (this.tornDown) return;
    this.tornDown = true;
    this.unauthenticatedSlot.release();
    if (this.negotiationTimer) clearTimeout(this.negotiationTimer);
    this.input.stop();
    if (this.attached) this.directory.detach(this.domain, this);
    this.log.info({ domain: this.domain, reason }, "component connection closed");
  }
}
