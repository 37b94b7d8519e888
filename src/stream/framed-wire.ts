// A StreamWire made of a Framing (how the stream looks: TCP document, RFC 7395 messages) over a ByteConnection
// (what carries the bytes: a TCP or TLS socket, a WebSocket). Each onData chunk is handed to the current
// stream's reader; for a message transport each chunk is one whole message.
import type { ChannelBindingType } from "../auth/types.js";
import type { Element } from "../core/xml/element.js";
import type { StreamParserEvents, StreamParserLimits } from "../core/xml/stream-parser.js";
import type { ByteConnection, CloseHandler, ConnectionListener } from "./connection.js";
import type { FrameReader, Framing } from "./framing.js";
import type { Flushed, InputListener, StreamHeaderFields, StreamWire } from "./stream-wire.js";

/** The wire reads its connection and hears it close itself: no closures per connection (issue 13). */
export class FramedWire implements StreamWire, ConnectionListener {
  private reader: FrameReader | undefined;
  private inputListener: InputListener | undefined;

  constructor(
    readonly conn: ByteConnection,
    readonly framing: Framing,
  ) {
    conn.onData(this);
    conn.onClose(this);
  }

  connectionData(chunk: Buffer): void {
    this.inputListener?.wireInput(chunk.length);
    this.reader?.write(chunk);
  }

  connectionClosed(): void {
    this.reader?.end();
    this.reader = undefined;
  }

  get transport(): "tcp" | "websocket" {
    return this.framing.transport;
  }
  get remoteAddress(): string {
    return this.conn.remoteAddress;
  }
  get secure(): boolean {
    return this.conn.secure;
  }
  get canStartTls(): boolean {
    return this.conn.canStartTls;
  }
  get pendingBytes(): number {
    return this.conn.pendingBytes;
  }

  readStream(events: StreamParserEvents, limits: StreamParserLimits): void {
    this.reader?.end();
    this.reader = this.framing.reader(events, limits);
    this.conn.setMaxMessageBytes?.(limits.maxStanzaBytes);
  }

  /** Stops reading (a STARTTLS in progress, a closed stream): input until the next readStream is dropped. */
  stopReading(): void {
    this.reader?.end();
    this.reader = undefined;
  }

  setLimits(limits: StreamParserLimits): void {
    this.reader?.setLimits(limits);
    this.conn.setMaxMessageBytes?.(limits.maxStanzaBytes);
  }

  onInput(listener: InputListener): void {
    this.inputListener = listener;
  }

  writeHeader(fields: StreamHeaderFields): void {
    this.conn.write(this.framing.header(fields));
  }

  writeElement(el: Element, contentNs: string, flushed?: Flushed): number {
    const text = this.framing.element(el, contentNs);
    this.conn.write(text, flushed);
    return Buffer.byteLength(text);
  }

  writeRaw(text: string, flushed?: Flushed): void {
    this.conn.write(text, flushed);
  }

  writeClose(): void {
    this.conn.write(this.framing.close);
  }

  keepalive(): void {
    const text = this.framing.keepalive;
    if (text !== undefined) this.conn.write(text);
    else this.conn.ping?.();
  }

  releaseParser(): void {
    this.reader?.release();
  }

  startTls(): Promise<void> {
    this.stopReading();
    return this.conn.startTls();
  }
  channelBindings(): ChannelBindingType[] {
    return this.conn.channelBindings();
  }
  channelBinding(type: ChannelBindingType): Buffer | undefined {
    return this.conn.channelBinding(type);
  }
  pause(): void {
    this.conn.pause();
  }
  resume(): void {
    this.conn.resume();
  }
  end(): void {
    this.stopReading();
    this.conn.end();
  }
  destroy(): void {
    this.stopReading();
    this.conn.destroy();
  }
  onClose(handler: CloseHandler): void {
    this.conn.onClose(handler);
  }
}
