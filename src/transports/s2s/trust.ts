// Certificates on s2s streams (RFC 6120 §13.7.1.2, RFC 6125, XEP-0178): our own certificate per local
// domain (as TLS server by SNI, and as TLS client), the trust anchors for peers' certificates, and the
// check that a peer's certificate is valid for the domain it claims.
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { type PeerCertificate, type SecureContext, type TLSSocket, createSecureContext, rootCertificates } from "node:tls";
import { type CertificateStore, certificateNames, matchesName } from "../../core/tls/certificates.js";

export interface TrustOptions {
  system_cas: boolean;
  ca_files: readonly string[];
}

/** Why a peer certificate does not authenticate a domain; undefined when it does. */
export type CertificateProblem = string | undefined;

export class S2sTls {
  /** PEM trust anchors for peers' certificates. */
  readonly ca: string[];
  private readonly contexts = new Map<string, SecureContext>();

  constructor(
    private readonly certs: CertificateStore,
    trust: TrustOptions,
    dataDir: string,
  ) {
    const ca: string[] = trust.system_cas ? [...rootCertificates] : [];
    for (const file of trust.ca_files) {
      const path = resolve(dataDir, file);
      try {
        ca.push(readFileSync(path, "utf8"));
      } catch (err) {
        throw new Error(`s2s.trust.ca_files: cannot read ${path}: ${(err as Error).message}`);
      }
    }
    this.ca = ca;
  }

  /** Our certificate for `domain` with the peer trust anchors, for either side of the handshake. */
  contextFor(domain: string): SecureContext {
    const loaded = this.certs.certificateFor(domain);
    let ctx = this.contexts.get(loaded.certPem);
    if (!ctx) {
      // The CA list must sit in every context: after SNI switches context, OpenSSL verifies with that one's store.
      ctx = createSecureContext({ cert: loaded.certPem, key: loaded.keyPem, ca: this.ca.length > 0 ? this.ca : undefined });
      this.contexts.set(loaded.certPem, ctx);
    }
    return ctx;
  }

  get defaultContext(): SecureContext {
    return this.contextFor(this.certs.certificates[0]!.names[0] ?? "");
  }

  /** Options of a TLS server that asks the peer for its certificate without insisting (dialback may follow). */
  serverOptions() {
    const first = this.certs.certificates[0]!;
    return {
      cert: first.certPem,
      key: first.keyPem,
      ca: this.ca.length > 0 ? this.ca : undefined,
      requestCert: true,
      rejectUnauthorized: false,
      SNICallback: (servername: string, cb: (err: Error | null, ctx?: SecureContext) => void) => cb(null, this.contextFor(servername)),
    };
  }

  /** Our certificate covers `domain` (worth offering SASL EXTERNAL for it). */
  covers(domain: string): boolean {
    const loaded = this.certs.certificateFor(domain);
    return loaded.certificate.checkHost(domain) !== undefined || matchesName(loaded.names, domain);
  }
}

/**
 * RFC 6120 §13.7.2 / RFC 6125 §6: the certificate chains to a trust anchor (the TLS layer's verdict) and
 * names `domain` as a DNS-ID (the CN only without DNS SubjectAltNames, RFC 6125 §6.4.4; `*.` wildcards one label).
 */
export function peerCertificateProblem(socket: TLSSocket | undefined, domain: string): CertificateProblem {
  if (!socket) return "no TLS";
  const peer = socket.getPeerCertificate(false) as PeerCertificate | Record<string, never>;
  if (!peer || !("raw" in peer) || !peer.raw) return "no certificate presented";
  if (!socket.authorized) return `certificate not trusted (${String(socket.authorizationError ?? "unknown")})`;
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(peer.raw);
  } catch {
    return "certificate cannot be parsed";
  }
  if (cert.checkHost(domain) !== undefined || matchesName(certificateNames(cert), domain)) return undefined;
  return `certificate is not valid for ${domain} (names: ${certificateNames(cert).join(", ") || "none"})`;
}
