// XMPP over WebSocket (RFC 7395) at /xmpp-websocket on Natter's HTTP and HTTPS listeners: the handshake
// (subprotocol "xmpp" required, origin checked), then each WebSocket is a client stream like a TCP one
// (server.acceptClient), with websocketFraming. Over HTTPS the stream is secure (wss:, RFC 7395 §3.3.1).
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { TLSSocket } from "node:tls";
import type { Logger } from "pino";
import { type WebSocket, WebSocketServer } from "ws";
import { escapeAttr } from "../../core/xml/element.js";
import { NS_CLIENT, NS_FRAMING } from "../../core/xml/ns.js";
import { parseFramedElement } from "../../core/xml/stream-parser.js";
import { newStreamId } from "../../stream/stream-id.js";
import { FramedWire } from "../../stream/framed-wire.js";
import { websocketFraming } from "../../stream/framing.js";
import type { StreamWire } from "../../stream/stream-wire.js";
import type { HttpRoutes } from "../../web/http-routes.js";
import { WebSocketConnection } from "./websocket-connection.js";

export const WEBSOCKET_PATH = "/xmpp-websocket";
/** RFC 7395 §3.1: the registered subprotocol name. */
const SUBPROTOCOL = "xmpp";

export interface WebSocketSettings {
  /** Origins a page may connect from ("*" = any). */
  allowedOrigins: string[];
  /** RFC 7395 §3.6.1: send every new stream to this endpoint instead ("" = serve it here). */
  seeOtherUri: string;
  /** Largest message accepted, in bytes (c2s.max_stanza_size); a larger frame closes with 1009 (RFC 6455 §7.4.1). */
  maxMessageBytes: number;
}

/** Mounts the WebSocket endpoint; returns the remover. */
export function mountWebSocket(http: HttpRoutes, settings: WebSocketSettings, log: Logger, accept: (wire: StreamWire) => void): () => void {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: settings.maxMessageBytes,
    // STACK.md: compression costs 8.6× the CPU, and compressing secrets next to attacker data is CRIME-shaped.
    perMessageDeflate: false,
    // The framing's reader decodes every message as strict UTF-8 (a TextDecoder with fatal: true): checking it
    // in ws as well would read each message twice.
    skipUTF8Validation: true,
    handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
  });
  const anyOrigin = settings.allowedOrigins.includes("*");
  const origins = new Set(settings.allowedOrigins.map((o) => o.replace(/\/$/, "").toLowerCase()));

  const remove = http.upgrade(WEBSOCKET_PATH, (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const address = (req.socket.remoteAddress ?? "unknown").replace(/^::ffff:/, "");
    const refuse = (status: number, text: string) => {
      log.info({ ip: address, status, reason: text }, "WebSocket handshake refused");
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    // RFC 7395 §3.1: the client offers "xmpp"; without it this is not an XMPP client.
    const offered = (req.headers["sec-websocket-protocol"] ?? "").split(",").map((p) => p.trim());
    if (!offered.includes(SUBPROTOCOL)) return refuse(400, "Bad Request");
    const origin = req.headers.origin;
    if (origin !== undefined && !anyOrigin && !origins.has(origin.toLowerCase())) return refuse(403, "Forbidden");
    socket.on("error", () => {}); // until ws takes the socket over
    wss.handleUpgrade(req, socket, head, (ws) => {
      if (settings.seeOtherUri) return redirect(ws, settings.seeOtherUri, log, address);
      const tls = req.socket instanceof TLSSocket ? req.socket : undefined;
      const conn = new WebSocketConnection(ws, address, tls, socket, settings.maxMessageBytes);
      accept(new FramedWire(conn, websocketFraming));
    });
  });
  return () => {
    remove();
    wss.close();
  };
}

/** RFC 7395 §3.6.1: answers the client's <open/> with ours and a <close/> naming the endpoint to use instead. */
function redirect(ws: WebSocket, uri: string, log: Logger, address: string): void {
  ws.on("error", () => {});
  const timer = setTimeout(() => ws.terminate(), 10_000);
  timer.unref();
  ws.once("message", (data: Buffer) => {
    let from = "";
    try {
      const open = parseFramedElement(data.toString("utf8"), { maxStanzaBytes: 4096, maxDepth: 2 }, NS_CLIENT);
      if (open.ns === NS_FRAMING && open.name === "open") from = open.attrs.to ?? "";
    } catch {
      // not an <open/>: the redirect goes out all the same
    }
    ws.send(websocketFraming.header({ contentNs: NS_CLIENT, id: newStreamId(), from }));
    ws.send(`<close xmlns='${NS_FRAMING}' see-other-uri='${escapeAttr(uri)}'/>`);
    ws.close(1000);
    clearTimeout(timer);
    log.info({ ip: address, to: uri }, "WebSocket stream sent elsewhere (see-other-uri)");
  });
}
