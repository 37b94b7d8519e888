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
const ignoreError = (): void => {};

// Socket listeners, called with the socket as `this`.
function onSocketData(this: Socket, chunk: Buffer): void {
  (this as OwnedSocket)[OWNER].received(chunk);
}
function onSocketError(this: Socket, err: Error): void {
  (this as OwnedSocket)[OWNER].ended(`error: ${err.message}`);
}
function onSocketClose(this: Socket): void {
  (this as OwnedSocket)[OWNER].ended("disconnected");
}
function onSocketEnd(this: Socket): void {
  // The peer half-closed without </stream:stream>: nothing more will come.
  (this as OwnedSocket)[OWNER].ended("peer ended the connection");
}

export class TcpConnection extends ConnectionEvents implements ByteConnection {
  private socket: Socket;
  private tls: TLSSocket | undefined;
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

  /** Input from the socket (its listener, shared by every connection). */
  received(chunk: Buffer): void {
    this.dataHandler?.(chunk);
  }

  /** The socket failed, closed or was half-closed by the peer (its listeners). */
  ended(reason: string): void {
    this.finish(reason);
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
    raw.removeAllListeners("data");
    raw.removeAllListeners("end");
    raw.removeAllListeners("close");
    raw.removeAllListeners("error");
    raw.on("error", ignoreError); // errors surface on the TLS socket
    discardBuffered(raw);
    return new Promise((resolve, reject) => {
      const tls = new TLSSocket(raw, {
        isServer: true,
        secureContext: settings.secureContext,
        SNICallback: settings.SNICallback,
      });
      this.socket = tls;
      this.tls = tls;
      const onError = (err: Error) => {
        reject(err);
        this.finish(`TLS error: ${err.message}`);
      };
      tls.once("secure", () => {
        tls.off("error", onError);
        this.attach(tls);
        resolve();
      });
      tls.once("error", onError);
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
