// The skeleton every XML stream shares, whatever its kind (c2s, s2s, component) and whatever carries it (a
// StreamWire: TCP, TLS, WebSocket, BOSH): reading a new stream at each restart with nothing carried over,
// ordered handling with input flow control, writing with slow-reader protection, the header before any
// stream error, closing once, and the timers of a stream not yet authenticated.
import type { Logger } from "pino";
import type { ClientTransport } from "../admin/types.js";
import { StreamError } from "../core/errors.js";
import type { ServerCounters } from "../core/server-counters.js";
import { type Element, InvalidXmlCharError } from "../core/xml/element.js";
import type { StreamParserEvents, StreamParserLimits } from "../core/xml/stream-parser.js";
import { UNCOUNTED, type UnauthenticatedSlot } from "../transports/unauthenticated-connections.js";
import { InboundQueue, type InboundQueueOwner, MAX_QUEUED } from "./inbound-queue.js";
import { InputThrottle, type RateLimitConfig } from "./input-throttle.js";
import { newStreamId } from "./stream-id.js";
import { StreamTickers } from "./stream-ticker.js";
import type { Flushed, StreamHeaderFields, StreamWire } from "./stream-wire.js";

// RFC 6120 §4.6.1: a keepalive only when the stream has been quiet for a whole period.
const keepaliveTickers = new StreamTickers<XmlStream>((stream) => stream.keepaliveTick());
// A stream that read nothing for a whole period lets its wire drop its parser until the next input.
const parserReleaseTickers = new StreamTickers<XmlStream>((stream) => stream.parserReleaseTick());

/** What a kind of stream is; one object may serve every stream of a listener (nothing per connection in it). */
export interface XmlStreamSettings {
  /** Who is at the other end, for log lines ("client", "s2s peer", "component"). */
  peer: string;
  /** The content namespace stanzas are written in (jabber:client, jabber:server, jabber:component:accept). */
  contentNs: string;
  /** Input rate until authentication (then setInputRate). */
  rateLimit: RateLimitConfig;
  /** Output queued beyond this closes the stream (a peer that does not read). */
  maxPendingBytes: number;
  /** Elements waiting to be handled before reading pauses. */
  maxQueued?: number;
  /** Time from connection to authentication before the stream ends with connection-timeout (0 = none). */
  negotiationTimeoutMs?: number;
  /** Keepalive when nothing was written for this long (0 = off; RFC 6120 §4.6.1). */
  keepaliveMs?: number;
  /** The wire's parser is released after this long without input (0 = never); the next input gets a new one. */
  parserReleaseMs?: number;
  /** Stanzas read and written are counted here (metrics); absent in unit tests. */
  counters?: ServerCounters;
}

/**
 * The stream is its parser's events and its inbound queue's owner itself (no object of closures per stream:
 * these are the methods from streamStart to resumeQueue below).
 */
export abstract class XmlStream implements StreamParserEvents, InboundQueueOwner {
  readonly id = newStreamId();
  protected closed = false;
  protected headerSent = false;
  private readonly input: InputThrottle;
  private readonly inbound: InboundQueue;
  private maxPendingBytes: number;
  /** UNCOUNTED once released (authenticated or closed): the slot's closure is not kept for the stream's life. */
  private slot: UnauthenticatedSlot;
  private negotiationTimer: NodeJS.Timeout | undefined;
  private wroteSinceKeepalive = false;
  private readSinceTick = false;
  private tornDown = false;

  constructor(
    readonly wire: StreamWire,
    public log: Logger,
    private readonly settings: XmlStreamSettings,
    /** Counts the connection among the unauthenticated ones until authenticated or closed. */
    slot: UnauthenticatedSlot = UNCOUNTED,
  ) {
    this.maxPendingBytes = settings.maxPendingBytes;
    this.slot = slot;
    this.input = new InputThrottle(wire, settings.rateLimit, this);
    this.inbound = new InboundQueue(this, settings.maxQueued ?? MAX_QUEUED);
    wire.onInput(this);
    wire.onClose(this);
    if (settings.negotiationTimeoutMs) {
      this.negotiationTimer = setTimeout(() => {
        this.log.info("negotiation timed out");
        this.close(new StreamError("connection-timeout", "stream negotiation took too long"));
      }, settings.negotiationTimeoutMs);
      this.negotiationTimer.unref();
    }
    if (settings.keepaliveMs) keepaliveTickers.every(settings.keepaliveMs).add(this);
    if (settings.parserReleaseMs && wire.releaseParser) parserReleaseTickers.every(settings.parserReleaseMs).add(this);
  }

  /** The wire's input, in bytes (its InputListener). */
  wireInput(bytes: number): void {
    this.readSinceTick = true;
    this.input.received(bytes);
  }

  /** The wire closed under the stream (its close handler). */
  connectionClosed(reason: string): void {
    this.transportClosed(reason);
  }

  /** Once per keepalive period (shared ticker). */
  keepaliveTick(): void {
    if (!this.wroteSinceKeepalive && this.headerSent && !this.closed) this.wire.keepalive();
    this.wroteSinceKeepalive = false;
  }

  /** Once per parser-release period (shared ticker): no input during a whole period, the parser goes. */
  parserReleaseTick(): void {
    if (!this.readSinceTick && !this.closed) this.wire.releaseParser?.();
    this.readSinceTick = false;
  }

  // StreamParserEvents: what the wire reads of the peer's stream.
  streamStart(_name: string, _ns: string, contentNs: string, attrs: Record<string, string>): void {
    this.onHeader(contentNs, attrs);
  }
  stanza(el: Element): void {
    this.settings.counters?.stanzaIn(el.name);
    this.enqueue(el);
  }
  streamEnd(): void {
    this.onStreamEnd();
  }
  error(err: StreamError): void {
    this.close(err);
  }

  // InboundQueueOwner: the elements read, handled one at a time.
  queueClosed(): boolean {
    return this.closed;
  }
  handleQueued(el: Element): Promise<void> {
    return this.handleElement(el);
  }
  queueFailed(err: unknown): void {
    this.log.error({ err }, "stream element handling failed");
    this.close(new StreamError("internal-server-error"));
  }
  pauseQueue(): void {
    this.input.pauseForQueue();
  }
  resumeQueue(): void {
    this.input.resumeForQueue();
  }

  get remoteAddress(): string {
    return this.wire.remoteAddress;
  }

  get secure(): boolean {
    return this.wire.secure;
  }

  get transport(): ClientTransport {
    return this.wire.transport;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** The peer's stream header (RFC 6120 §4.7; <open/> on WebSocket; the BOSH session request). */
  protected abstract onHeader(contentNs: string, attrs: Record<string, string>): void;
  /** One top-level element, in arrival order, one at a time. */
  protected abstract handleElement(el: Element): Promise<void>;
  /** The header written before a stream error when none was sent yet (RFC 6120 §4.9.1.1). */
  protected abstract fallbackHeader(): StreamHeaderFields;
  /** The stream is over: closed by us (`error` when with a stream error) or lost (`lost`). Runs once. */
  protected abstract onClosed(reason: string, error: StreamError | undefined, lost: boolean): void;

  /** The peer closed its stream (RFC 6120 §4.4): ours closes too. */
  protected onStreamEnd(): void {
    this.log.info("peer closed the stream");
    this.close();
  }

  /**
   * Reads a new stream (at the start and at every restart, RFC 6120 §4.3.3). What the old stream delivered and
   * is not handled yet is dropped: RFC 6120 §5.4.3.3 (after STARTTLS) and §6.4.6 (after SASL) carry nothing over,
   * so plaintext injected behind <starttls/> never acts inside TLS.
   */
  protected readStream(limits: StreamParserLimits): void {
    this.inbound.discardPending();
    this.wire.readStream(this, limits);
  }

  /**
   * The peer authenticated: it no longer counts as a stranger, its negotiation timer stops, and its limits
   * (parser, when given: dialback and component handshakes do not restart the stream; input rate) become its own.
   */
  protected peerAuthenticated(
    rate: RateLimitConfig | undefined,
    parserLimits?: StreamParserLimits,
    maxPendingBytes?: number,
  ): void {
    this.releaseSlot();
    this.negotiationDone();
    if (parserLimits) this.wire.setLimits(parserLimits);
    if (rate) this.input.setLimits(rate);
    if (maxPendingBytes !== undefined) this.maxPendingBytes = maxPendingBytes;
  }

  /** New input rate limits with full buckets (a reload). */
  protected setInputRate(rate: RateLimitConfig): void {
    this.input.setLimits(rate);
  }

  private releaseSlot(): void {
    this.slot.release();
    this.slot = UNCOUNTED;
  }

  /** Negotiation is over (resource bound, session resumed): the connection-timeout no longer applies. */
  protected negotiationDone(): void {
    if (this.negotiationTimer) clearTimeout(this.negotiationTimer);
    this.negotiationTimer = undefined;
  }

  private enqueue(el: Element): void {
    const notBefore = this.input.stanza();
    if (notBefore === "cut") return this.close(new StreamError("policy-violation", "far too many stanzas too fast"));
    this.inbound.push(el, notBefore);
  }

  protected writeHeader(fields: StreamHeaderFields): void {
    if (this.closed || this.headerSent) return;
    this.headerSent = true;
    this.wire.writeHeader(fields);
  }

  /**
   * Writes a top-level element; returns its size in bytes, or undefined when it was not written (the stream is
   * closed, or the element holds characters XML cannot carry: logged and dropped, and `flushed` told it is done
   * with, so that nobody tries it again).
   */
  writeElement(el: Element, flushed?: Flushed): number | undefined {
    if (this.closed) {
      flushed?.(new Error("stream closed"));
      return undefined;
    }
    let bytes: number;
    try {
      bytes = this.wire.writeElement(el, this.settings.contentNs, flushed);
    } catch (err) {
      if (!(err instanceof InvalidXmlCharError)) throw err;
      this.log.warn({ name: el.name }, "dropped an outgoing stanza with characters XML cannot carry");
      flushed?.(null);
      return undefined;
    }
    this.settings.counters?.stanzaOut(el.name);
    this.wrote();
    return bytes;
  }

  /** Writes text already in the wire's format (a stanza serialised while the stream came up). */
  protected writeRaw(text: string, flushed?: Flushed): void {
    if (this.closed) return flushed?.(new Error("stream closed"));
    this.wire.writeRaw(text, flushed);
    this.wrote();
  }

  private wrote(): void {
    this.wroteSinceKeepalive = true;
    if (this.wire.pendingBytes > this.maxPendingBytes) {
      this.log.warn({ pending: this.wire.pendingBytes }, `${this.settings.peer} is not reading; closing`);
      this.closed = true;
      this.wire.destroy();
    }
  }

  /**
   * Ends the stream, with a stream error when given (RFC 6120 §4.9.1: the error, then the closing tag), and
   * `appCondition` inside the error (XEP-0198 <handled-count-too-high/>).
   */
  close(error?: StreamError, appCondition?: Element): void {
    if (this.closed) return;
    if (error) {
      if (!this.headerSent) this.writeHeader(this.fallbackHeader());
      this.log.info({ condition: error.condition, text: error.text }, "stream error");
      const el = error.toElement();
      if (appCondition) el.append(appCondition);
      this.wire.writeElement(el, this.settings.contentNs);
    }
    if (this.headerSent) this.wire.writeClose();
    this.closed = true;
    this.wire.end();
    this.teardown(error ? error.condition : "closed", error, false);
  }

  private transportClosed(reason: string): void {
    this.closed = true;
    this.teardown(reason, undefined, true);
  }

  private teardown(reason: string, error: StreamError | undefined, lost: boolean): void {
    if (this.tornDown) return;
    this.tornDown = true;
    this.releaseSlot();
    this.negotiationDone();
    if (this.settings.keepaliveMs) keepaliveTickers.every(this.settings.keepaliveMs).delete(this);
    if (this.settings.parserReleaseMs) parserReleaseTickers.every(this.settings.parserReleaseMs).delete(this);
    this.input.stop();
    this.onClosed(reason, error, lost);
  }
}
