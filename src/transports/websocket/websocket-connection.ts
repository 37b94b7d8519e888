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
  /** Corked until the next tick (see write()). */
  private corked = false;
  readonly canStartTls = false;

  constructor(
    private readonly ws: WebSocket,
    readonly remoteAddress: string,
    /** The TLS socket underneath (HTTPS listener), for channel binding; undefined over plain HTTP. */
    private readonly tls: TLSSocket | undefined,
    /** The upgraded HTTP connection the WebSocket runs on (ws keeps its own reference private). */
    private readonly socket?: Duplex,
  ) {
    super();
    // RFC 7395 §3.2 wants text frames; a binary frame carrying the same UTF-8 is read all the same (the reader
    // refuses anything that is not one well-formed element in UTF-8).
    ws.on("message", (data: Buffer | ArrayBuffer | Buffer[]) => {
      const chunk = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
      this.dataHandler?.(chunk);
    });
    // STACK.md: an 'error' listener on every server socket, or one bad frame (oversized: 1009) crashes the process.
    ws.on("error", (err) => this.finish(`error: ${err.message}`));
    ws.on("close", (code: number) => this.finish(code === NORMAL_CLOSURE ? "disconnected" : `closed (${code})`));
  }

  protected release(): void {
    this.ws.terminate();
  }

  get secure(): boolean {
    return this.tls !== undefined;
  }

  get pendingBytes(): number {
    return this.ws.bufferedAmount;
  }

  write(data: string, flushed?: (err?: Error | null) => void): void {
    if (this.closed || this.ws.readyState !== this.ws.OPEN) {
      flushed?.(new Error("connection closed"));
      return;
    }
    // As on TCP (tcp-connection.ts): the frames written while the current callbacks and promise jobs run
    // leave in one syscall. A writev per frame was most of the server's CPU in `npm run bench` ws-messages
    // (a third of TCP's messages/s); ws's own cork around a frame's header and payload nests inside this one.
    const socket = this.socket;
    if (socket !== undefined && !this.corked) {
      this.corked = true;
      socket.cork();
      process.nextTick(this.uncork, socket);
    }
    // ws calls back once the frame is written to the socket (or with the error that stopped it).
    this.ws.send(data, flushed && ((err) => flushed(err ?? null)));
  }

  private readonly uncork = (socket: Duplex): void => {
    this.corked = false;
    socket.uncork();
  };

  ping(): void {
    if (!this.closed && this.ws.readyState === this.ws.OPEN) this.ws.ping();
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
    // RFC 7395 §3.6: after our <close/>, the WebSocket closing handshake.
    this.ws.close(NORMAL_CLOSURE);
    setTimeout(() => this.finish("closed"), CLOSE_TIMEOUT_MS).unref();
  }


}
