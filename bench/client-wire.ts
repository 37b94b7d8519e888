// What carries the bench client's XML: a plain TCP stream (RFC 6120), XMPP over WebSocket (RFC 7395), or
// BOSH (XEP-0124/0206, bench/bosh-wire.ts). BenchClient speaks the same stanzas over each; a wire only
// knows how a stream is opened, restarted and closed, and how text goes out and comes in.

import { connect, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { WebSocket } from "ws";
import { NS_FRAMING } from "../src/core/xml/ns.js";

export type Transport = "tcp" | "websocket" | "bosh";

export interface WireEvents {
  /** Text from the server: a chunk of the stream (TCP) or one or more whole elements (WebSocket, BOSH). */
  data(text: string): void;
  /** The wire is gone (not called after close() or destroy()). */
  closed(err: Error): void;
}

export interface ClientWire {
  /** Resolves once text can be written (TCP and WebSocket: connected; BOSH: at once). */
  connect(timeoutMs: number): Promise<void>;
  /** Opens the stream, or with `restart` opens a new one after SASL (RFC 6120 §6.4.6). */
  openStream(domain: string, restart: boolean): void;
  /** Sends one element now. */
  write(xml: string): void;
  /** Sends one element; those sent in one tick leave together (one syscall, or one BOSH request). */
  send(xml: string): void;
  /** Closes the stream politely; resolves when the wire is closed (or after timeoutMs). */
  close(timeoutMs: number): Promise<void>;
  destroy(): void;
  /** The TCP socket of a plain TCP stream (scenarios that read it directly run over TCP only). */
  readonly socket: Socket | undefined;
}

export class XmppError extends Error {}

export function escapeAttr(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/'/g, "&apos;").replace(/"/g, "&quot;");
}

/**
 * RFC 7395 §3.3.3 and XEP-0206 §4: with no stream header around them, stanzas carry their namespace
 * themselves (xmlns='jabber:client'); on TCP they inherit it from <stream:stream>. Prosody drops an
 * unqualified <iq/> over WebSocket as an unknown element.
 */
export function qualifyStanza(xml: string): string {
  const c = xml.charCodeAt(1);
  // <message, <presence, <iq: the only top-level elements without a namespace of their own.
  if (c !== 109 && c !== 112 && c !== 105) return xml;
  const m = /^<(message|presence|iq)(?=[\s/>])/.exec(xml);
  if (m === null) return xml;
  const tagEnd = xml.indexOf(">");
  if (xml.slice(0, tagEnd).includes("xmlns=")) return xml;
  return `${m[0]} xmlns='jabber:client'${xml.slice(m[0].length)}`;
}

/** Resolves on the first of `ok` / `fail` from an emitter, rejects after timeoutMs. */
function connected(
  on: (ok: () => void, fail: (err: Error) => void) => void,
  timeoutMs: number,
  what: string,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new XmppError(`${what} timed out`)), timeoutMs);
    on(
      () => {
        clearTimeout(timer);
        resolve();
      },
      (err) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

// ---------------------------------------------------------------------------------------------

export class TcpWire implements ClientWire {
  /** The TCP socket, or after startTls() the TLS socket over it. */
  socket: Socket;
  private corked = false;
  private closing = false;
  private readonly uncork = () => {
    this.corked = false;
    this.socket.uncork();
  };

  constructor(
    host: string,
    port: number,
    private readonly events: WireEvents,
  ) {
    this.socket = connect({ host, port });
    this.socket.setNoDelay(true);
    this.listen(this.socket);
  }

  private listen(socket: Socket): void {
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => this.events.data(chunk));
    socket.on("error", (err) => this.closing || this.events.closed(err));
    socket.on("close", () => this.closing || this.events.closed(new XmppError("connection closed")));
  }

  /**
   * RFC 6120 §5.4.3.3: after <proceed/>, TLS over the same TCP connection; the stream is then opened anew. The
   * certificate is not verified: the bench's servers run on loopback with a self-signed one.
   */
  startTls(servername: string, timeoutMs: number): Promise<void> {
    const raw = this.socket;
    raw.removeAllListeners("data");
    raw.removeAllListeners("error");
    raw.removeAllListeners("close");
    // The raw socket's errors surface on the TLS socket; this keeps a late one from being unhandled.
    raw.on("error", () => {});
    const secure = tlsConnect({ socket: raw, servername, rejectUnauthorized: false });
    this.socket = secure;
    const ready = connected((ok, fail) => secure.once("secureConnect", ok).once("error", fail), timeoutMs, "TLS handshake");
    this.listen(secure);
    return ready;
  }

  connect(timeoutMs: number): Promise<void> {
    return connected((ok, fail) => this.socket.once("connect", ok).once("error", fail), timeoutMs, "connect");
  }

  openStream(domain: string): void {
    this.socket.write(
      `<?xml version='1.0'?><stream:stream to='${escapeAttr(domain)}' version='1.0' xml:lang='en' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>`,
    );
  }

  write(xml: string): void {
    this.socket.write(xml);
  }

  send(xml: string): void {
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(this.uncork);
    }
    this.socket.write(xml);
  }

  close(timeoutMs: number): Promise<void> {
    this.closing = true;
    if (this.socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.socket.destroy();
        resolve();
      }, timeoutMs);
      this.socket.once("close", () => {
        clearTimeout(timer);
        resolve();
      });
      this.socket.end("</stream:stream>");
    });
  }

  destroy(): void {
    this.closing = true;
    this.socket.destroy();
  }
}

// ---------------------------------------------------------------------------------------------

/**
 * RFC 7395 over the `ws` package: subprotocol "xmpp", one element per text message, <open/> and <close/>
 * instead of the stream header. Kept cheap so the load generator is not what limits the figures: no
 * compression, no UTF-8 check of what the server sends, and an all-zero masking key (RFC 6455 §5.3 wants an
 * unpredictable one against proxy cache poisoning, which loopback has no use for; `ws` then skips the XOR,
 * the server still unmasks every frame, so its work is unchanged).
 */
export class WebSocketWire implements ClientWire {
  readonly socket = undefined;
  private readonly ws: WebSocket;
  private corked: Socket | undefined;
  private closing = false;
  private readonly uncork = () => {
    this.corked?.uncork();
    this.corked = undefined;
  };

  constructor(url: string, events: WireEvents) {
    this.ws = new WebSocket(url, "xmpp", {
      perMessageDeflate: false,
      skipUTF8Validation: true,
      generateMask: () => {},
    });
    this.ws.on("message", (data: Buffer) => {
      const text = data.toString("utf8");
      // RFC 7395 §3.6: the server's answer to our <close/>; the initiator then closes the WebSocket.
      if (this.closing && text.startsWith("<close")) this.ws.close(1000);
      events.data(text);
    });
    this.ws.on("error", (err) => this.closing || events.closed(err));
    this.ws.on("close", () => this.closing || events.closed(new XmppError("WebSocket closed")));
  }

  connect(timeoutMs: number): Promise<void> {
    return connected(
      (ok, fail) => {
        this.ws.once("open", ok).once("error", fail);
        this.ws.once("unexpected-response", (_req, res) =>
          fail(new XmppError(`WebSocket handshake refused: HTTP ${res.statusCode}`)),
        );
      },
      timeoutMs,
      "WebSocket connect",
    );
  }

  /** RFC 7395 §3.4; a restart is a new <open/> on the same WebSocket (§3.5). */
  openStream(domain: string): void {
    this.ws.send(`<open xmlns='${NS_FRAMING}' to='${escapeAttr(domain)}' version='1.0' xml:lang='en'/>`);
  }

  write(xml: string): void {
    this.ws.send(qualifyStanza(xml));
  }

  /** One frame per element (RFC 7395 §3.3.3), but the frames of one tick share a syscall: `ws` keeps its
   * socket private, and corking it is the only way to batch as the TCP wire does. */
  send(xml: string): void {
    if (this.corked === undefined) {
      const socket = (this.ws as unknown as { _socket?: Socket })._socket;
      if (socket) {
        this.corked = socket;
        socket.cork();
        process.nextTick(this.uncork);
      }
    }
    this.ws.send(qualifyStanza(xml));
  }

  close(timeoutMs: number): Promise<void> {
    this.closing = true;
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.ws.terminate();
        resolve();
      }, timeoutMs);
      this.ws.once("close", () => {
        clearTimeout(timer);
        resolve();
      });
      if (this.ws.readyState === WebSocket.OPEN) this.ws.send(`<close xmlns='${NS_FRAMING}'/>`);
      else this.ws.terminate();
    });
  }

  destroy(): void {
    this.closing = true;
    this.ws.terminate();
  }
}
