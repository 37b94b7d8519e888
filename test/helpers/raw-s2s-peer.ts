// A hand-driven server-to-server peer over a real socket, for tests of what Natter does with a peer that
// misbehaves: raw XML in, the server's output accumulated as text.
import { type Socket, connect as netConnect } from "node:net";
import { connect as tlsConnect } from "node:tls";

export class RawPeer {
  data = "";
  private socket: Socket;
  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on("data", (d) => (this.data += d.toString("utf8")));
    socket.on("error", () => {});
  }
  static async open(port: number): Promise<RawPeer> {
    const socket = netConnect({ host: "127.0.0.1", port });
    await new Promise((resolve, reject) => socket.once("connect", resolve).once("error", reject));
    return new RawPeer(socket);
  }
  send(text: string): void {
    this.socket.write(text);
  }
  async until(pattern: RegExp, timeoutMs = 10_000): Promise<RegExpExecArray> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      const m = pattern.exec(this.data);
      if (m) return m;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`timed out waiting for ${pattern}; got ${this.data}`);
  }
  header(from: string, to: string): void {
    this.send(`<?xml version='1.0'?><stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' xmlns:db='jabber:server:dialback' from='${from}' to='${to}' version='1.0'>`);
  }
  /** Header, STARTTLS, header again; resolves with the stream id of the secured stream. */
  async secure(from: string, to: string): Promise<string> {
    this.header(from, to);
    await this.until(/<starttls/);
    this.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
    await this.until(/<proceed/);
    this.socket.removeAllListeners("data");
    const tls = tlsConnect({ socket: this.socket, servername: to, rejectUnauthorized: false });
    await new Promise((resolve, reject) => tls.once("secureConnect", resolve).once("error", reject));
    this.socket = tls;
    this.data = "";
    tls.on("data", (d) => (this.data += d.toString("utf8")));
    this.header(from, to);
    const m = await this.until(/<stream:stream[^>]* id=['"]([^'"]+)['"][\s\S]*<\/stream:features>/);
    return m[1]!;
  }
  close(): void {
    this.socket.destroy();
  }
}
