// What inbound and outbound s2s streams share: the parser (a new one per stream restart, RFC 6120 §4.3.3),
// the header with the dialback prefix declared, ordered processing with input flow control, writing,
// stream errors and closing.
import { InboundQueue } from "../../stream/inbound-queue.js";
import { InputThrottle, type RateLimitConfig } from "../../stream/input-throttle.js";
import type { Logger } from "pino";
import { StreamError } from "../../core/errors.js";
import { Element, InvalidXmlCharError } from "../../core/xml/element.js";
import { NS_CLIENT, NS_SERVER } from "../../core/xml/ns.js";
import { type StreamParserLimits, XmppStreamParser } from "../../core/xml/stream-parser.js";
import { STREAM_CLOSE, newStreamId, streamHeader } from "../../stream/stream-header.js";
import { NS_DIALBACK } from "./dialback.js";
import type { S2sConnection } from "./s2s-connection.js";

/** Stanzas handled concurrently per stream before reading pauses (order is kept). */
const MAX_QUEUED = 256;

/** The s2s header: jabber:server plus the db prefix for dialback (XEP-0220 §2.1.1). */
export function s2sHeader(opts: { id: string; from: string; to?: string; version?: boolean }): string {
  let header = streamHeader({ contentNs: NS_SERVER, ...opts }).replace(
    "<stream:stream ",
    `<stream:stream xmlns:db='${NS_DIALBACK}' `,
  );
  // RFC 6120 §4.7.5: a peer that sent no version speaks the pre-RFC protocol: answer without one.
  if (opts.version === false) header = header.replace(" version='1.0'", "");
  return header;
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

export abstract class S2sStream {
  /** Our stream id (inbound: the id dialback keys are computed over). */
  readonly id = newStreamId();
  protected parser: XmppStreamParser | undefined;
  protected closed = false;
  protected headerSent = false;
  private idleTimer: NodeJS.Timeout | undefined;
  private lastActivity = Date.now();
  private readonly input: InputThrottle;

  constructor(
    readonly conn: S2sConnection,
    protected readonly limits: StreamParserLimits,
    protected log: Logger,
    private readonly idleTimeoutMs: number,
    rateLimit: RateLimitConfig,
    /** Output queued beyond this closes the stream (a peer that does not read). */
    private readonly maxUnsentBytes: number,
  ) {
    this.input = new InputThrottle(conn, rateLimit, () => this.log);
    conn.onData((chunk) => {
      this.input.received(chunk.length);
      this.parser?.write(chunk);
    });
    conn.onClose((reason) => this.onTransportClosed(reason));
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

  // A new parser per stream (re)start; what the old stream parsed and has not been handled yet is dropped
  // (RFC 6120 §5.4.3.3 after STARTTLS, §6.4.6 after SASL): a peer's plaintext behind <starttls/> or <proceed/>
  // never acts inside TLS.
  protected newParser(): void {
    this.inbound.discardPending();
    this.parser = new XmppStreamParser(
      {
        streamStart: (_name, _ns, contentNs, attrs) => this.onHeader(contentNs, attrs),
        stanza: (el) => this.enqueue(el),
        streamEnd: () => {
          this.log.info("peer closed the stream");
          this.close();
        },
        error: (err) => this.close(err),
      },
      this.parserLimits(),
    );
  }

  protected abstract onHeader(contentNs: string, attrs: Record<string, string>): void;
  protected abstract handleElement(el: Element): Promise<void>;
  protected abstract onClosed(reason: string, error: StreamError | undefined): void;
  /** The header to write before a stream error when none was sent yet. */
  protected abstract fallbackHeader(): string;

  private readonly inbound = new InboundQueue({
    isClosed: () => this.closed,
    handle: (el) => this.handleElement(el),
    failed: (err) => {
      this.log.error({ err }, "s2s element handling failed");
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

  write(text: string): void {
    if (this.closed) return;
    this.conn.write(text);
    if (this.conn.pendingBytes > this.maxUnsentBytes) {
      this.log.warn({ pending: this.conn.pendingBytes }, "s2s peer is not reading; closing");
      this.conn.destroy();
    }
  }

  /** Writes a stanza in jabber:server; false when it cannot be written (closed, or characters XML cannot carry). */
  writeStanza(el: Element): boolean {
    if (this.closed) return false;
    const text = serialiseForServer(el, this.log);
    if (text === undefined) return false;
    this.writeSerialised(text);
    return true;
  }

  /** Writes a stanza serialised earlier (queued while the stream came up). */
  writeSerialised(text: string): boolean {
    if (this.closed) return false;
    this.touch();
    this.write(text);
    return true;
  }

  writeElement(el: Element): void {
    this.write(el.toString(NS_SERVER));
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Ends the stream, with a stream error when given (RFC 6120 §4.9.1). */
  close(error?: StreamError): void {
    if (this.closed) return;
    if (error) {
      if (!this.headerSent) {
        this.conn.write(this.fallbackHeader());
        this.headerSent = true;
      }
      this.log.info({ condition: error.condition, text: error.text }, "s2s stream error");
      this.conn.write(error.toElement().toString(NS_SERVER));
    }
    if (this.headerSent) this.conn.write(STREAM_CLOSE);
    this.closed = true;
    this.parser = undefined;
    this.conn.end();
    this.teardown(error ? error.condition : "closed", error);
  }

  private onTransportClosed(reason: string): void {
    this.closed = true;
    this.parser = undefined;
    this.teardown(reason, undefined);
  }

  private tornDown = false;
  private teardown(reason: string, error: StreamError | undefined): void {
    if (this.tornDown) return;
    this.tornDown = true;
    if (this.idleTimer) clearInterval(this.idleTimer);
    this.input.stop();
    this.onClosed(reason, error);
  }
}

export { Element };
