// TCP listeners for clients: 5222 with STARTTLS, and direct TLS on 5223 (XEP-0368, ALPN "xmpp-client").
import { type Server, type Socket, createServer } from "node:net";
import { type TLSSocket, createServer as createTlsServer } from "node:tls";
import type { Logger } from "pino";
import { type ListenAddress, listenAll } from "../listen.js";
import { type UnauthenticatedConnections, countHandshakes } from "../unauthenticated-connections.js";
import type { TcpConnection as TcpConnectionType } from "./tcp-connection.js";
import { TcpConnection, type TlsSettings } from "./tcp-connection.js";

/** Plain TCP with STARTTLS offered when TLS settings are given. */
export function listenC2s(
  addr: ListenAddress,
  tls: TlsSettings | undefined,
  log: Logger,
  onConnection: (conn: TcpConnectionType) => void,
): Promise<Server[]> {
  return listenAll(
    () => createServer({ noDelay: true }, (socket: Socket) => onConnection(new TcpConnection(socket, tls))),
    addr,
    log,
    "c2s",
  );
}

/** Direct TLS (XEP-0368). Unauthenticated connections are counted from TCP accept when `caps` is given. */
export function listenC2sDirectTls(
  addr: ListenAddress,
  tls: TlsSettings,
  log: Logger,
  onConnection: (conn: TcpConnectionType) => void,
  caps?: UnauthenticatedConnections,
): Promise<Server[]> {
  return listenAll(
    () => {
      const server = createTlsServer({
        cert: tls.cert,
        key: tls.key,
        SNICallback: tls.SNICallback,
        ALPNProtocols: ["xmpp-client"],
      });
      countHandshakes(server, caps, log, "c2s direct TLS");
      server.on("secureConnection", (socket: TLSSocket) => onConnection(new TcpConnection(socket, undefined, socket)));
      server.on("tlsClientError", (err, socket) => {
        log.debug({ err: err.message, ip: socket.remoteAddress }, "direct TLS handshake failed");
      });
      return server;
    },
    addr,
    log,
    "c2s direct TLS",
  );
}
