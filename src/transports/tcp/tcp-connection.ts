// A ByteConnection over a TCP socket, upgradable in place with STARTTLS, or over a direct-TLS socket (XEP-0368).
import { ConnectionEvents } from "../connection-events.js";
import type { Socket } from "node:net";
import { discardBuffered } from "../discard-buffered.js";
import { type SecureContext, TLSSocket } from "node:tls";
import type { ChannelBindingType } from "../../auth/types.js";
import { channelBindingTypes, serverChannelBinding } from "../../core/tls/channel-binding.js";
import type { ByteConnection } from "../../stream/connection.js";

export interface TlsSettings {
  secureContext: SecureContext;
  /** tls.createServer ignores `secureContext`: it needs the default certificate as PEM. */
  cert: string;
  key: string;
  SNICallback: (servername: string, cb: (err: Error | null, ctx?: SecureContext) => void) => void;
}

/** The connection a socket belongs to: its listeners are shared functions (no closures per connection). */
const OWNER = Symbol("natter.tcp-connection");
type OwnedSocket = Socket & { [OWNER]: TcpConnection };

// Socket listeners, called with the socket as `this`. After STARTTLS the plain socket keeps its listeners but
// is no longer the connection's socket: what it reports is ignored (its errors surface on the TLS socket).
// Removing them instead turned its listener table into a dictionary (a delete), and so did the handshake's
// once/off listeners on the TLS socket: about 600 bytes a STARTTLS session (issue 13).
function ownerOf(socket: Socket): TcpConnection | undefined {
  const owner = (socket as OwnedSocket)[OWNER];
  return owner.current === socket ? owner : undefined;
}
function onSocketData(this: Socket, chunk: Buffer): void {
  ownerOf(this)?.received(chunk);
}
function onSocketError(this: Socket, err: Error): void {
  ownerOf(this)?.ended(`error: ${err.message}`);
}
function onSocketClose(this: Socket): void {
  ownerOf(this)?.ended("disconnected");
}
function onSocketEnd(this: Socket): void {
  // The peer half-closed without </stream:stream>: nothing more will come.
  ownerOf(this)?.ended("peer ended the connection");
}
function onTlsSecure(this: TLSSocket): void {
  (this as unknown as OwnedSocket)[OWNER].handshakeDone();
}

export class TcpConnection extends ConnectionEvents implements ByteConnection {
  private socket: Socket;
  private tls: TLSSocket | undefined;
  /** STARTTLS in progress: its promise, settled by the shared listeners. */
  private handshake: { resolve: () => void; reject: (err: Error) => void } | undefined;
  /** Corked until the next tick (see write()). */
  private corked = false;
  readonly remoteAddress: string;

  constructor(
    socket: Socket,
    private readonly tlsSettings: TlsSettings | undefined,
    direct: TLSSocket | undefined = undefined,
  ) {
    super();
    this.socket = socket;
    this.tls = direct;
    this.remoteAddress = (socket.remoteAddress ?? "unknown").replace(/^::ffff:/, "");
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 60_000);
    this.attach(socket);
  }

  private attach(socket: Socket): void {
    (socket as OwnedSocket)[OWNER] = this;
    socket.on("data", onSocketData);
    socket.on("error", onSocketError);
    socket.on("close", onSocketClose);
    socket.on("end", onSocketEnd);
  }

  /** The socket the connection reads and writes now (the TLS one after STARTTLS). */
  get current(): Socket {
    return this.socket;
  }

  /** Input from the socket (its listener, shared by every connection). */
  received(chunk: Buffer): void {
    this.dataListener?.connectionData?.(chunk);
  }

  /** The socket failed, closed or was half-closed by the peer (its listeners). */
  ended(reason: string): void {
    const handshake = this.handshake;
    this.handshake = undefined;
    handshake?.reject(new Error(reason));
    this.finish(handshake ? `TLS ${reason}` : reason);
  }

  /** The STARTTLS handshake succeeded ('secure' on the TLS socket). */
  handshakeDone(): void {
    const handshake = this.handshake;
    this.handshake = undefined;
    handshake?.resolve();
  }

  protected release(): void {
    this.socket.destroy();
  }

  get secure(): boolean {
    return this.tls !== undefined;
  }

  get canStartTls(): boolean {
    return this.tlsSettings !== undefined && this.tls === undefined;
  }

  get pendingBytes(): number {
    return this.socket.writableLength;
  }

  write(data: string, flushed?: (err?: Error | null) => void): void {
    const socket = this.socket;
    if (this.closed || socket.destroyed) {
      flushed?.(new Error("connection closed"));
      return;
    }
    // Everything written to this socket in this turn of the event loop leaves in one syscall, after the
    // poll phase has handled every connection that had input: a write per stanza cost about 40% of the
    // server's CPU when a room fans out to its occupants, and a flush per input callback (nextTick) still
    // cost one syscall per room message per occupant, since each input carries one message.
    if (!this.corked) {
      this.corked = true;
      socket.cork();
      setImmediate(TcpConnection.uncork, this, socket);
    }
    socket.write(data, flushed);
  }

  private static uncork(connection: TcpConnection, socket: Socket): void {
    connection.corked = false;
    socket.uncork();
  }

  startTls(): Promise<void> {
    const settings = this.tlsSettings;
    if (!settings) return Promise.reject(new Error("TLS is not configured"));
    const raw = this.socket;
    discardBuffered(raw);
    return new Promise((resolve, reject) => {
      const tls = new TLSSocket(raw, {
        isServer: true,
        secureContext: settings.secureContext,
        SNICallback: settings.SNICallback,
      });
      this.socket = tls;
      this.tls = tls;
      this.handshake = { resolve, reject };
      // Reading starts at 'secure': a TLS socket emits no data before its handshake is done.
      this.attach(tls);
      tls.on("secure", onTlsSecure);
    });
  }

  channelBindings(): ChannelBindingType[] {
    return this.tls ? channelBindingTypes(this.tls) : [];
  }

  channelBinding(type: ChannelBindingType): Buffer | undefined {
    return this.tls ? serverChannelBinding(this.tls, type) : undefined;
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  end(): void {
    if (this.closed) return;
    this.socket.end();
    this.finishWithin(2000);
  }
}
