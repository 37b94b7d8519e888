// A raw TCP/TLS client that speaks bytes, for bad-input tests the real libraries would never send.
import { type Socket, connect as netConnect } from "node:net";
import { type TLSSocket, connect as tlsConnect } from "node:tls";

export class RawClient {
  data = "";
  closed: Promise<void>;
  private socket: Socket | TLSSocket;
  private listeners: (() => void)[] = [];

  private constructor(socket: Socket | TLSSocket) {
    this.socket = socket;
    socket.setEncoding("utf8");
    socket.on("data", (d: string) => {
      this.data += d;
      for (const l of [...this.listeners]) l();
    });
    socket.on("error", () => {});
    this.closed = new Promise((resolve) => socket.once("close", () => resolve()));
  }

  /** `localAddress` picks the source address (any 127.0.0.0/8 address works on Linux loopback). */
  static async connect(port: number, options: { localAddress?: string } = {}): Promise<RawClient> {
    const s = netConnect({ port, host: "127.0.0.1", ...(options.localAddress ? { localAddress: options.localAddress } : {}) });
    await new Promise<void>((resolve, reject) => {
      s.once("connect", () => resolve());
      s.once("error", reject);
    });
    return new RawClient(s);
  }

  send(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Resolves once the received text matches. */
  waitFor(pattern: RegExp, timeoutMs = 5000): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const m = this.data.match(pattern);
        if (m) {
          this.listeners = this.listeners.filter((l) => l !== check);
          clearTimeout(timer);
          resolve(m);
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        this.listeners = this.listeners.filter((l) => l !== check);
        reject(new Error(`timed out waiting for ${pattern}; received: ${this.data.slice(-500)}`));
      }, timeoutMs);
      if (!check()) this.listeners.push(check);
    });
  }

  /** STARTTLS upgrade of the raw socket after <proceed/>. */
  async startTls(servername = "localhost", options: { maxVersion?: "TLSv1.2" | "TLSv1.3" } = {}): Promise<void> {
    const raw = this.socket;
    raw.removeAllListeners("data");
    const tls = tlsConnect({ socket: raw as Socket, servername, rejectUnauthorized: false, ...options });
    await new Promise<void>((resolve, reject) => {
      tls.once("secureConnect", () => resolve());
      tls.once("error", reject);
    });
    this.socket = tls;
    tls.setEncoding("utf8");
    tls.on("data", (d: string) => {
      this.data += d;
      for (const l of [...this.listeners]) l();
    });
    tls.on("error", () => {});
    this.closed = new Promise((resolve) => tls.once("close", () => resolve()));
  }

  get tlsSocket(): TLSSocket | undefined {
    return "getPeerCertificate" in this.socket ? (this.socket as TLSSocket) : undefined;
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** Stops reading, as a slow client does: the server's writes back up (TCP flow control). */
  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }
}

export const STREAM_OPEN = (to = "localhost") =>
  `<?xml version='1.0'?><stream:stream to='${to}' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>`;
