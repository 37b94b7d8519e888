// Puts new certificates in service without dropping a connection: a reload and an ACME renewal both come here.
import { Server as TlsServer } from "node:tls";
import type { CertificateStore } from "../core/tls/certificates.js";
import type { ListenerGroup } from "../transports/listener-group.js";
import type { S2sService } from "../transports/s2s/s2s-service.js";
import type { HttpServer } from "../web/http-server.js";

export interface CertificateHolders {
  certificates: CertificateStore;
  clientListeners: readonly ListenerGroup[];
  http: HttpServer;
  s2s: S2sService | undefined;
}

/** Takes `next`'s certificates for every handshake from now on; connections already up keep theirs. */
export function swapCertificates(t: CertificateHolders, next: CertificateStore): void {
  t.certificates.replaceWith(next);
  // SNI asks the store; a handshake without SNI gets each TLS server's default context, replaced here.
  const { cert, key } = next.tlsServerOptions();
  for (const group of t.clientListeners) {
    for (const server of group.all) if (server instanceof TlsServer) server.setSecureContext({ cert, key });
  }
  t.http.setDefaultCertificate(cert, key);
  t.s2s?.certificatesChanged();
}
