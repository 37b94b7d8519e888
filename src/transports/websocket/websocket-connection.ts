// A ByteConnection over one WebSocket (RFC 7395): each text message in is one onData chunk (one element, read
// by websocketFraming), each write is one message out. TLS, when there is any, is the HTTPS listener's: there
// is no STARTTLS on a WebSocket (RFC 7395 §3.3.1 leaves TLS to wss:).
import type { Duplex } from "node:stream";
import type { TLSSocket } from "node:tls";
import type { WebSocket } from "ws";
import type { ChannelBindingType } from "../../auth/types.js";
import { channelBindingTypes, serverChannelBinding } from "../../core/tls/channel-binding.js";
import type { ByteConnection } from "../../stream/connection.js";
import { ConnectionEvents } from "../connection-events.js";

/** RFC 6455 §7.4.1 close codes. */
const NORMAL_CLOSURE = 1000;
/** A closing handshake the peer never answers is cut after this long. */
const CLOSE_TIMEOUT_MS = 2000;

export class WebSocketConnection extends ConnectionEvents implements ByteConnection {
  readonly canStartTls = false;
  /** Messages written in this tick, sent together at its end (see write()). */
  private batch: string[] = [];
  private batchBytes = 0;
  private batchFlushed: ((err?: Error | null) => void)[] = [];
  private batchScheduled = false;

  constructor(
    private readonly ws: WebSocket,
    readonly remoteAddress: string,
    /** The TLS socket underneath (HTTPS listener), for channel binding; undefined over plain HTTP. */
    private readonly tls: TLSSocket | undefined,
    /** The upgraded HTTP connection the WebSocket runs on (ws keeps its own reference private). */
    private readonly socket: Duplex,
    /** The listener's cap on one message (ws maxPayload). */
    private readonly maxMessageBytes: number,
  ) {
    super();
    // RFC 7395 §3.2 wants text frames; a binary frame carrying the same UTF-8 is read all the same (the reader
    // refuses anything that is not one well-formed element in UTF-8).
    ws.on("message", (data: Buffer | ArrayBuffer | Buffer[]) => {
      const chunk = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
      this.dataListener?.connectionData?.(chunk);
    });
    // STACK.md: an 'error' listener on every server socket, or one bad frame (oversized: 1009) crashes the process.
    ws.on("error", (err) => this.finish(`error: ${err.message}`));
    ws.on("close", (code: number) => this.finish(code === NORMAL_CLOSURE ? "disconnected" : `closed (${code})`));
  }

  protected release(): void {
    this.failBatch();
    this.ws.terminate();
  }

  get secure(): boolean {
    return this.tls !== undefined;
  }

  get pendingBytes(): number {
    return this.ws.bufferedAmount + this.socket.writableLength + this.batchBytes;
  }

  /**
   * One text message (RFC 7395 §3.3.3: one element). Messages written in this turn of the event loop leave as
   * one buffer in one write once the poll phase has handled every input, as on TCP (tcp-connection.ts): ws sends
   * each message as its own header and payload buffers, and that cost WebSocket a fifth of TCP's messages/s
   * when a room fans out. ws has no call for several messages at once, so the frames are built here (server
   * frames are unmasked, RFC 6455 §5.1); ws still reads, answers pings and closes.
   */
  write(data: string, flushed?: (err?: Error | null) => void): void {
    if (this.closed || this.ws.readyState !== this.ws.OPEN) {
      flushed?.(new Error("connection closed"));
      return;
    }
    this.batch.push(data);
    this.batchBytes += data.length;
    if (flushed) this.batchFlushed.push(flushed);
    if (!this.batchScheduled) {
      this.batchScheduled = true;
      setImmediate(this.sendBatch);
    }
  }

  private readonly sendBatch = (): void => {
    this.batchScheduled = false;
    const messages = this.batch;
    if (messages.length === 0) return;
    const callbacks = this.batchFlushed;
    this.batch = [];
    this.batchFlushed = [];
    this.batchBytes = 0;
    if (this.closed || this.ws.readyState !== this.ws.OPEN) {
      for (const cb of callbacks) cb(new Error("connection closed"));
      return;
    }
    const lengths = new Array<number>(messages.length);
    let total = 0;
    for (let i = 0; i < messages.length; i++) {
      const n = Buffer.byteLength(messages[i] as string);
      lengths[i] = n;
      total += n + (n < 126 ? 2 : n < 65_536 ? 4 : 10);
    }
    const frames = Buffer.allocUnsafe(total);
    let at = 0;
    for (let i = 0; i < messages.length; i++) {
      const n = lengths[i] as number;
      frames[at++] = 0x81; // FIN + text frame (RFC 6455 §5.2)
      if (n < 126) frames[at++] = n;
      else if (n < 65_536) {
        frames[at++] = 126;
        frames.writeUInt16BE(n, at);
        at += 2;
      } else {
        frames[at++] = 127;
        frames.writeBigUInt64BE(BigInt(n), at);
        at += 8;
      }
      at += frames.write(messages[i] as string, at, "utf8");
    }
    this.socket.write(
      frames,
      callbacks.length === 0
        ? undefined
        : (err?: Error | null) => {
            for (const cb of callbacks) cb(err ?? null);
          },
    );
  };

  /** The connection ended with messages still waiting for the end of the event-loop turn: they never leave. */
  private failBatch(): void {
    const callbacks = this.batchFlushed;
    this.batch = [];
    this.batchFlushed = [];
    this.batchBytes = 0;
    for (const cb of callbacks) cb(new Error("connection closed"));
  }

  /**
   * ws checks a frame's declared length against its receiver's cap as soon as the header is read (RFC 6455 1009
   * beyond it), but takes the cap only at construction, from the listener (c2s.max_stanza_size). Before
   * authentication the stream's limit is c2s.pre_auth.max_stanza_size: without this, a stranger's every message
   * could make ws buffer 64 times that before the stream saw it. ws 8 (pinned) keeps the cap in
   * `_receiver._maxPayload`; the listener's cap stays the ceiling.
   */
  setMaxMessageBytes(bytes: number): void {
    const receiver = (this.ws as unknown as { _receiver?: { _maxPayload?: unknown } })._receiver;
    if (receiver && typeof receiver._maxPayload === "number")
      receiver._maxPayload = Math.min(bytes, this.maxMessageBytes);
  }

  ping(): void {
    if (this.closed || this.ws.readyState !== this.ws.OPEN) return;
    this.sendBatch();
    this.ws.ping();
  }

  startTls(): Promise<void> {
    return Promise.reject(new Error("no STARTTLS on WebSocket"));
  }

  channelBindings(): ChannelBindingType[] {
    return this.tls ? channelBindingTypes(this.tls) : [];
  }

  channelBinding(type: ChannelBindingType): Buffer | undefined {
    return this.tls ? serverChannelBinding(this.tls, type) : undefined;
  }

  pause(): void {
    if (!this.closed) this.ws.pause();
  }

  resume(): void {
    if (!this.closed) this.ws.resume();
  }

  end(): void {
    if (this.closed) return;
    // RFC 7395 §3.6: after our <close/> (still in this tick's batch), the WebSocket closing handshake.
    this.sendBatch();
    this.ws.close(NORMAL_CLOSURE);
    this.finishWithin(CLOSE_TIMEOUT_MS);
  }
}
