// What an XML stream (stream/xml-stream.ts) needs from whatever carries it: a way to hear the peer's stream
// (its header, each element, its end) and to write ours. TCP and WebSocket are a Framing over a ByteConnection
// (framed-wire.ts); BOSH carries streams in HTTP request and response bodies and is a StreamWire of its own
// (transports/bosh/). A new transport is a StreamWire plus a listener; the stream above it does not change.
import type { ClientTransport } from "../admin/types.js";
import type { ChannelBindingType } from "../auth/types.js";
import type { Element } from "../core/xml/element.js";
import type { StreamParserEvents, StreamParserLimits } from "../core/xml/stream-parser.js";
import type { CloseHandler } from "./connection.js";

/** Told of each piece of input as it arrives (the stream itself: no closure kept per stream, issue 13). */
export interface InputListener {
  wireInput(bytes: number): void;
}

/** The header fields of a stream we open or answer (RFC 6120 §4.7; RFC 7395 §3.3.2 <open/>; XEP-0206 §3). */
export interface StreamHeaderFields {
  /** The stream's content namespace (jabber:client, jabber:server, jabber:component:accept). */
  contentNs: string;
  /** Absent on a stream we initiate (RFC 6120 §4.7.3: the receiving entity sets the id). */
  id?: string;
  /** Absent only where the peer named no domain we serve (a component header naming none). */
  from?: string;
  to?: string;
  /** false: answer a pre-RFC peer without `version` (RFC 6120 §4.7.5). Default true. */
  version?: boolean;
  /** Extra namespace declarations on the header (s2s: xmlns:db for dialback). */
  declarations?: Record<string, string>;
}

export type Flushed = (err?: Error | null) => void;

export interface StreamWire {
  /** The wire format (s2s and component streams run on "tcp" too). */
  readonly transport: ClientTransport;
  readonly remoteAddress: string;
  /** TLS is in place (direct TLS, after STARTTLS, or HTTPS underneath). */
  readonly secure: boolean;
  /** STARTTLS can be offered on this wire. */
  readonly canStartTls: boolean;
  /** Output queued and not yet taken by the peer (slow-reader protection). */
  readonly pendingBytes: number;

  /**
   * Starts reading a new stream: its header, elements and end go to `events` (RFC 6120 §4.3.3, a new stream at
   * every restart). Input the previous stream delivered to the wire and not yet reported is dropped.
   */
  readStream(events: StreamParserEvents, limits: StreamParserLimits): void;
  /** New limits for the stream being read, from the next input on (authentication without restart). */
  setLimits(limits: StreamParserLimits): void;
  /** Reports each piece of input as it arrives, in bytes (input rate limits). */
  onInput(listener: InputListener): void;

  /** Writes our stream header. */
  writeHeader(fields: StreamHeaderFields): void;
  /**
   * Writes one top-level element (a stanza, features, a stream error, a negotiation element) of a stream whose
   * content namespace is `contentNs`; returns its size in bytes. Throws InvalidXmlCharError when the element
   * holds characters XML cannot carry (nothing is written then). `flushed` runs once the bytes left the process
   * (null) or with an error when they never will.
   */
  writeElement(el: Element, contentNs: string, flushed?: Flushed): number;
  /** Writes raw text already in this wire's format (a stanza serialised by writeElement's rules earlier). */
  writeRaw(text: string, flushed?: Flushed): void;
  /** Writes our end of the stream (</stream:stream>, <close/>, a terminating BOSH body). */
  writeClose(): void;
  /** Keeps an idle stream alive (whitespace on TCP, a ping frame on WebSocket; nothing on BOSH). */
  keepalive(): void;
  /**
   * The peer has sent nothing for a while: drop the parser's memory if it is between elements (the next input
   * gets a new parser in the same state). Absent where there is nothing to drop.
   */
  releaseParser?(): void;

  /** Upgrades in place after <proceed/> (RFC 6120 §5.4.3.3); resolves once the TLS handshake is done. */
  startTls(): Promise<void>;
  channelBindings(): ChannelBindingType[];
  channelBinding(type: ChannelBindingType): Buffer | undefined;
  /** Input flow control: stop and restart taking the peer's input. */
  pause(): void;
  resume(): void;
  /** Flushes what was written, then closes. */
  end(): void;
  /** Closes at once. */
  destroy(): void;
  /** Adds a close handler (several may be added; each runs once). */
  onClose(handler: CloseHandler): void;
}
