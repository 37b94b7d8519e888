// Bytes of one s2s connection, either side: plain TCP upgradable with STARTTLS (as TLS server when the peer
// connected to us, as TLS client when we connected), or TLS from the first byte (XEP-0368). Unlike the c2s
// TcpConnection it asks for and exposes the peer's certificate (XEP-0178) and can be the TLS client.
import { ConnectionEvents } from "../connection-events.js";
import type { Socket } from "node:net";
import { discardBuffered } from "../discard-buffered.js";
import { type SecureContext, TLSSocket, connect as tlsConnect } from "node:tls";

export interface S2sTlsRole {
  /** Server side: our certificate chosen by SNI, peer certificate requested but not required. */
  server?: {
    secureContext: SecureContext;
    SNICallback: (servername: string, cb: (err: Error | null, ctx?: SecureContext) => void) => void;
  };
  /** Client side: our certificate for the local domain, SNI = the remote domain (RFC 6120 §13.7.1.2). */
  client?: { secureContext: SecureContext; servername: string };
}

export class S2sConnection extends ConnectionEvents {
  private socket: Socket;
  private tlsSocket: TLSSocket | undefined;
  readonly remoteAddress: string;

  constructor(
    socket: Socket,
    private readonly role: S2sTlsRole,
    direct?: TLSSocket,
  ) {
    super();
    this.socket = direct ?? socket;
    this.tlsSocket = direct;
    this.remoteAddress = (socket.remoteAddress ?? "unknown").replace(/^::ffff:/, "");
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 60_000);
    this.attach(this.socket);
  }

  private attach(socket: Socket): void {
    socket.on("data", (chunk: Buffer) => this.dataListener?.connectionData?.(chunk));
    socket.on("error", (err) => this.finish(`error: ${err.message}`));
    socket.on("close", () => this.finish("disconnected"));
    socket.on("end", () => this.finish("peer ended the connection"));
  }

  protected release(): void {
    this.socket.destroy();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  get secure(): boolean {
    return this.tlsSocket !== undefined;
  }

  get tls(): TLSSocket | undefined {
    return this.tlsSocket;
  }

  get canStartTls(): boolean {
    return this.tlsSocket === undefined && (this.role.server !== undefined || this.role.client !== undefined);
  }

  get pendingBytes(): number {
    return this.socket.writableLength;
  }

  write(data: string, flushed?: (err?: Error | null) => void): void {
    if (!this.closed && !this.socket.destroyed) this.socket.write(data, flushed);
    else flushed?.(new Error("connection closed"));
  }

  /** s2s authenticates with SASL EXTERNAL or dialback: no channel binding. */
  channelBindings(): [] {
    return [];
  }

  channelBinding(): undefined {
    return undefined;
  }

  /** RFC 6120 §5.4.3.3: upgrade in place after <proceed/>; resolves once the handshake is done. */
  startTls(): Promise<void> {
    const raw = this.socket;
    raw.removeAllListeners("data");
    raw.removeAllListeners("end");
    raw.removeAllListeners("close");
    raw.removeAllListeners("error");
    raw.on("error", () => {}); // errors surface on the TLS socket
    discardBuffered(raw);
    return new Promise((resolve, reject) => {
      let tls: TLSSocket;
      if (this.role.server) {
        tls = new TLSSocket(raw, {
          isServer: true,
          secureContext: this.role.server.secureContext,
          SNICallback: this.role.server.SNICallback,
          requestCert: true,
          rejectUnauthorized: false,
        });
      } else if (this.role.client) {
        tls = tlsConnect({
          socket: raw,
          secureContext: this.role.client.secureContext,
          servername: this.role.client.servername,
          rejectUnauthorized: false, // judged per XEP-0178 afterwards: dialback may still be allowed
          ALPNProtocols: ["xmpp-server"],
        });
      } else {
        reject(new Error("TLS is not configured"));
        return;
      }
      this.socket = tls;
      this.tlsSocket = tls;
      const onError = (err: Error) => {
        reject(err);
        this.finish(`TLS error: ${err.message}`);
      };
      tls.once(this.role.server ? "secure" : "secureConnect", () => {
        tls.off("error", onError);
        // A TLSSocket made by hand in server mode never gets `authorized` set (tls.Server does that in
        // its own handshake callback): take OpenSSL's verdict on the client certificate the same way.
        if (this.role.server) {
          const handle = (tls as unknown as { _handle?: { verifyError?: () => Error | null } })._handle;
          const error = handle?.verifyError?.() ?? null;
          const peer = tls.getPeerCertificate();
          if (error) tls.authorizationError = (error as NodeJS.ErrnoException).code as unknown as Error;
          else if (peer && Object.keys(peer).length > 0) tls.authorized = true;
        }
        this.attach(tls);
        resolve();
      });
      tls.once("error", onError);
    });
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
    // RFC 6120 §4.4: do not wait for the peer's closing tag for ever.
    this.finishWithin(2000);
  }
}
