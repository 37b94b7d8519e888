// What inbound and outbound s2s streams add to the shared XmlStream skeleton: the TCP framing over an
// S2sConnection, the header with the dialback prefix declared, the jabber:server namespace, and closing a
// connection that stays idle.
import type { Logger } from "pino";
import type { StreamError } from "../../core/errors.js";
import type { ServerCounters } from "../../core/server-counters.js";
import { Element, InvalidXmlCharError } from "../../core/xml/element.js";
import { NS_CLIENT, NS_SERVER } from "../../core/xml/ns.js";
import type { StreamParserLimits } from "../../core/xml/stream-parser.js";
import { FramedWire } from "../../stream/framed-wire.js";
import { tcpFraming } from "../../stream/framing.js";
import type { RateLimitConfig } from "../../stream/input-throttle.js";
import type { StreamHeaderFields } from "../../stream/stream-wire.js";
import { XmlStream } from "../../stream/xml-stream.js";
import type { UnauthenticatedSlot } from "../unauthenticated-connections.js";
import { NS_DIALBACK } from "./dialback.js";
import type { S2sConnection } from "./s2s-connection.js";

/** Stanzas handled concurrently per stream before reading pauses (order is kept). */
const MAX_QUEUED = 256;

/** The s2s header fields: jabber:server plus the db prefix for dialback (XEP-0220 §2.1.1). */
export function s2sHeader(opts: { id?: string; from: string; to?: string; version?: boolean }): StreamHeaderFields {
  return { contentNs: NS_SERVER, declarations: { db: NS_DIALBACK }, ...opts };
}

/** Stanzas travel as jabber:server between servers and as jabber:client inside Natter (modules compare with NS_CLIENT). */
export function toContentNs(el: Element, from: string, to: string): Element {
  if (el.ns === from) el.ns = to;
  for (const c of el.children) if (typeof c !== "string") toContentNs(c, from, to);
  return el;
}

/** A stanza as jabber:server text, or undefined (logged) when it holds characters XML cannot carry. */
export function serialiseForServer(el: Element, log: Logger): string | undefined {
  try {
    return el.toString(NS_SERVER);
  } catch (err) {
    if (err instanceof InvalidXmlCharError) {
      log.warn({ name: el.name }, "dropped an outgoing stanza with characters XML cannot carry");
      return undefined;
    }
    throw err;
  }
}

export const fromServerNs = (el: Element) => toContentNs(el, NS_SERVER, NS_CLIENT);

export interface S2sStreamSettings {
  limits: StreamParserLimits;
  idleTimeoutMs: number;
  rateLimit: RateLimitConfig;
  /** Output queued beyond this closes the stream (a peer that does not read). */
  maxUnsentBytes: number;
  negotiationTimeoutMs?: number;
  unauthenticatedSlot?: UnauthenticatedSlot;
  counters?: ServerCounters;
}

export abstract class S2sStream extends XmlStream {
  private readonly idleTimer: NodeJS.Timeout;
  private lastActivity = Date.now();
  protected readonly limits: StreamParserLimits;
  private readonly counters: ServerCounters | undefined;

  constructor(
    readonly conn: S2sConnection,
    log: Logger,
    private readonly idleTimeoutMs: number,
    settings: S2sStreamSettings,
  ) {
    super(
      new FramedWire(conn, tcpFraming),
      log,
      {
        peer: "s2s peer",
        contentNs: NS_SERVER,
        rateLimit: settings.rateLimit,
        maxPendingBytes: settings.maxUnsentBytes,
        maxQueued: MAX_QUEUED,
        ...(settings.negotiationTimeoutMs ? { negotiationTimeoutMs: settings.negotiationTimeoutMs } : {}),
        ...(settings.counters ? { counters: settings.counters } : {}),
      },
      settings.unauthenticatedSlot,
    );
    this.limits = settings.limits;
    this.counters = settings.counters;
    const check = Math.max(1000, Math.min(idleTimeoutMs / 4, 60_000));
    this.idleTimer = setInterval(() => {
      if (Date.now() - this.lastActivity >= this.idleTimeoutMs) {
        this.log.info("closing idle s2s connection");
        this.close();
      }
    }, check);
    this.idleTimer.unref();
  }

  /** A stanza went through: the connection is not idle. */
  protected touch(): void {
    this.lastActivity = Date.now();
  }

  /** The parser limits for a new stream; an inbound stream uses smaller ones until it authenticates. */
  protected parserLimits(): StreamParserLimits {
    return this.limits;
  }

  /** Reads a new stream (at the start, and after STARTTLS or SASL: RFC 6120 §4.3.3). */
  protected newParser(): void {
    this.readStream(this.parserLimits());
  }

  /** Writes text in the stream's format (dialback and negotiation elements written as text). */
  write(text: string): void {
    this.writeRaw(text);
  }

  /** Writes a stanza in jabber:server; false when it cannot be written (closed, or characters XML cannot carry). */
  writeStanza(el: Element): boolean {
    if (this.closed) return false;
    const written = this.writeElement(el) !== undefined;
    if (written) this.touch();
    return written;
  }

  /** Writes a stanza serialised earlier (queued while the stream came up); `name` is its element name (counted). */
  writeSerialised(text: string, name: string): boolean {
    if (this.closed) return false;
    this.touch();
    this.writeRaw(text);
    this.counters?.stanzaOut(name);
    return true;
  }

  protected onClosed(reason: string, error: StreamError | undefined): void {
    clearInterval(this.idleTimer);
    this.s2sClosed(reason, error);
  }

  protected abstract s2sClosed(reason: string, error: StreamError | undefined): void;
}

export { Element };
