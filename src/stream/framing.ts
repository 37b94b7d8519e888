// How a stream looks on a byte or message transport: how its input is read, how it is opened, how an
// element is written, how it ends. TCP (RFC 6120 §4: one long document) and WebSocket (RFC 7395: one element
// per message, <open/> and <close/>). FramedWire puts one over a ByteConnection.
import { Element } from "../core/xml/element.js";
import { NS_CLIENT, NS_FRAMING, NS_STREAM } from "../core/xml/ns.js";
import {
  FramedElementParser,
  type StreamParserEvents,
  type StreamParserLimits,
  XmppStreamParser,
} from "../core/xml/stream-parser.js";
import { StreamError } from "../core/errors.js";
import { escapeAttr } from "../core/xml/element.js";
import { decodeUtf8 } from "../core/xml/utf8-chunks.js";
import type { StreamHeaderFields } from "./stream-wire.js";

/** Reads one stream's input: a chunk of bytes (TCP) or one whole message (WebSocket). */
export interface FrameReader {
  write(chunk: Buffer): void;
  setLimits(limits: StreamParserLimits): void;
  /** Drops the parser between elements (idle stream); the next input gets a new one. */
  release(): void;
  /** The transport closed: nothing more is reported. */
  end(): void;
}

/** Which kind of transport carries a stream (what an admin sees of a session). */
export type WireTransport = "tcp" | "websocket" | "bosh";

export interface Framing {
  readonly transport: WireTransport;
  reader(events: StreamParserEvents, limits: StreamParserLimits): FrameReader;
  header(fields: StreamHeaderFields): string;
  element(el: Element, contentNs: string): string;
  readonly close: string;
  /** Text that keeps an idle stream alive, or undefined when the transport has its own (WebSocket ping). */
  readonly keepalive: string | undefined;
}

/** RFC 6120 §4.7: the TCP stream header. */
export function streamHeaderText(fields: StreamHeaderFields): string {
  let out = `<?xml version='1.0'?><stream:stream xmlns='${fields.contentNs}' xmlns:stream='${NS_STREAM}'`;
  for (const [prefix, ns] of Object.entries(fields.declarations ?? {})) out += ` xmlns:${prefix}='${escapeAttr(ns)}'`;
  if (fields.id) out += ` id='${fields.id}'`;
  if (fields.from) out += ` from='${escapeAttr(fields.from)}'`;
  if (fields.to) out += ` to='${escapeAttr(fields.to)}'`;
  if (fields.version !== false) out += " version='1.0'";
  return `${out} xml:lang='en'>`;
}

/**
 * One element that declares every namespace it uses, for framings whose elements do not sit inside a
 * <stream:stream> that declares them: RFC 7395 §3.4 (WebSocket) and XEP-0206 §2 (BOSH: jabber:client on each
 * stanza). Stream-level elements (features, errors) keep their prefix, declared on themselves.
 */
export function standaloneElementText(el: Element): string {
  if (el.ns === NS_STREAM) return new Element(el.name, el.ns, { ...el.attrs, "xmlns:stream": NS_STREAM }, el.children).toString("");
  return el.toString("");
}

/** RFC 6120: the stream is one XML document; elements take the stream's namespaces from its header. */
export const tcpFraming: Framing = {
  transport: "tcp",
  reader: (events, limits) => new XmppStreamParser(events, limits),
  header: streamHeaderText,
  element: (el, contentNs) => el.toString(contentNs),
  close: "</stream:stream>",
  keepalive: " ",
};

/**
 * RFC 7395 §3.3: every message is one complete element with its namespaces declared; the stream opens with
 * <open/> and ends with <close/> in urn:ietf:params:xml:ns:xmpp-framing.
 */
export const websocketFraming: Framing = {
  transport: "websocket",
  reader: (events, limits) => new WebSocketReader(events, limits),
  header(fields) {
    let out = `<open xmlns='${NS_FRAMING}'`;
    if (fields.id) out += ` id='${fields.id}'`;
    if (fields.from) out += ` from='${escapeAttr(fields.from)}'`;
    if (fields.to) out += ` to='${escapeAttr(fields.to)}'`;
    return `${out} version='1.0' xml:lang='en'/>`;
  },
  element: (el) => standaloneElementText(el),
  close: `<close xmlns='${NS_FRAMING}'/>`,
  keepalive: undefined,
};

/** RFC 7395 §3.3.3: one message, one element. <open/> starts the stream, <close/> ends it. */
class WebSocketReader implements FrameReader {
  private done = false;
  private opened = false;
  // One for the whole stream (a message is decoded whole: nothing carries over); its saxes parser is dropped by
  // release() on an idle stream and made again for the next message.
  private readonly parser = new FramedElementParser(NS_CLIENT);

  constructor(
    private readonly events: StreamParserEvents,
    private limits: StreamParserLimits,
  ) {}

  write(chunk: Buffer): void {
    if (this.done) return;
    let el: Element;
    try {
      // RFC 7395 §3.3.3: a message that declares no default namespace is jabber:client... only for stanzas;
      // the framing elements declare theirs.
      el = this.parser.parse(decodeUtf8(chunk), this.limits, chunk.length);
    } catch (err) {
      this.fail(err instanceof StreamError ? err : new StreamError("unsupported-encoding", "invalid UTF-8"));
      return;
    }
    if (el.ns === NS_FRAMING && el.name === "open") {
      if (this.opened) return this.fail(new StreamError("bad-format", "a second <open/> without a restart"));
      this.opened = true;
      const { xmlns: _ignored, ...attrs } = el.attrs;
      // The content namespace is implicit (RFC 7395 §3.3.2); the stream above checks it as for TCP.
      this.events.streamStart("open", NS_FRAMING, NS_CLIENT, attrs as Record<string, string>);
      return;
    }
    if (!this.opened) return this.fail(new StreamError("bad-format", "the stream must start with <open/>"));
    if (el.ns === NS_FRAMING && el.name === "close") {
      this.done = true;
      this.events.streamEnd();
      return;
    }
    this.events.stanza(el);
  }

  setLimits(limits: StreamParserLimits): void {
    this.limits = limits;
  }

  release(): void {
    this.parser.release();
  }

  end(): void {
    this.done = true;
  }

  private fail(err: StreamError): void {
    if (this.done) return;
    this.done = true;
    this.events.error(err);
  }
}
