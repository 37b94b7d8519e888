// s2s listeners: 5269 with STARTTLS, and direct TLS (XEP-0368, ALPN "xmpp-server"). Both ask the peer for
// its certificate without requiring one, so that SASL EXTERNAL or dialback can follow.
import { type Server, type Socket, createServer } from "node:net";
import { type ListenAddress, listenAll } from "../listen.js";
import { type TLSSocket, createServer as createTlsServer } from "node:tls";
import type { Logger } from "pino";
import { S2sConnection } from "./s2s-connection.js";
import type { S2sTls } from "./trust.js";
import { type UnauthenticatedConnections, countHandshakes } from "../unauthenticated-connections.js";

export type S2sListenAddress = ListenAddress;

export function listenS2s(addr: S2sListenAddress, tls: S2sTls, log: Logger, onConnection: (conn: S2sConnection) => void): Promise<Server[]> {
  // Read at each STARTTLS, so that certificates a reload swapped in serve the connections after it.
  const server = {
    get secureContext() {
      return tls.defaultContext;
    },
    SNICallback: tls.serverOptions().SNICallback,
  };
  return listenAll(
    () => createServer({ noDelay: true }, (socket: Socket) => onConnection(new S2sConnection(socket, { server }))),
    addr,
    log,
    "s2s",
  );
}

export function listenS2sDirectTls(
  addr: S2sListenAddress,
  tls: S2sTls,
  log: Logger,
  onConnection: (conn: S2sConnection) => void,
  /** Counts unauthenticated connections from TCP accept, before the handshake. */
  caps?: UnauthenticatedConnections,
): Promise<Server[]> {
  return listenAll(
    () => {
      const server = createTlsServer({ ...tls.serverOptions(), ALPNProtocols: ["xmpp-server"] });
      countHandshakes(server, caps, log, "s2s direct TLS");
      server.on("secureConnection", (socket: TLSSocket) => onConnection(new S2sConnection(socket, {}, socket)));
      server.on("tlsClientError", (err, socket) => log.debug({ err: err.message, ip: socket.remoteAddress }, "s2s direct TLS handshake failed"));
      return server;
    },
    addr,
    log,
    "s2s direct TLS",
  );
}
