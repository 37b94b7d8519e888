// Channel bindings for SCRAM-*-PLUS (RFC 5802 §6): proof that the SASL exchange ran over this very TLS
// connection. Two types are offered to SCRAM and in XEP-0440; tls-unique never is there (RFC 9266 §3: undefined
// on TLS 1.3, unsafe without the extended master secret). tls-unique data is given on TLS 1.2 to one user only,
// XEP-0484's HT-SHA-256-UNIQ, which a client picks by itself from the FAST offer.

import "reflect-metadata"; // @peculiar/x509 needs it loaded first
import { createHash } from "node:crypto";
import type { TLSSocket } from "node:tls";
import * as x509 from "@peculiar/x509";

export type ChannelBindingType = "tls-exporter" | "tls-server-end-point" | "tls-unique";

/** RFC 9266 §2: the exporter label and length; the context is empty (and must be passed explicitly). */
const EXPORTER_LABEL = "EXPORTER-Channel-Binding";
const EXPORTER_LENGTH = 32;

/**
 * The types this connection can supply, best first. tls-exporter only on TLS 1.3: RFC 9266 §3 forbids it
 * on TLS 1.2 without the extended master secret (RFC 7627), and Node does not tell whether EMS was used.
 */
export function channelBindingTypes(socket: TLSSocket): ChannelBindingType[] {
  if (!socket.encrypted) return [];
  return socket.getProtocol() === "TLSv1.3" ? ["tls-exporter", "tls-server-end-point"] : ["tls-server-end-point"];
}

/**
 * The channel-binding data of `type` on this server-side socket, or undefined when it cannot be supplied.
 * `serverCertDer` is the certificate this server presented (CertificateStore.certificateDer); by default the
 * one the socket reports.
 */
export function channelBindingData(
  socket: TLSSocket,
  type: ChannelBindingType,
  serverCertDer: Buffer | undefined = localCertificateDer(socket),
): Buffer | undefined {
  if (type === "tls-unique") return tlsUnique(socket);
  if (!channelBindingTypes(socket).includes(type)) return undefined;
  if (type === "tls-exporter") return socket.exportKeyingMaterial(EXPORTER_LENGTH, EXPORTER_LABEL, Buffer.alloc(0));
  return serverCertDer === undefined ? undefined : tlsServerEndPoint(serverCertDer);
}

/**
 * RFC 5929 §3.1 tls-unique: the first Finished message of the connection's latest handshake, the client's in a
 * full handshake and the server's in a resumed one. TLS 1.2 only: TLS 1.3 has no such value (RFC 9266 §3).
 */
export function tlsUnique(socket: TLSSocket): Buffer | undefined {
  if (!socket.encrypted || socket.getProtocol() !== "TLSv1.2") return undefined;
  return (socket.isSessionReused() ? socket.getFinished() : socket.getPeerFinished()) ?? undefined;
}

/**
 * RFC 5929 §4.1: the hash of the certificate's DER, with the hash function of the certificate's signature
 * algorithm; MD5 and SHA-1 are replaced by SHA-256. Signature algorithms without a separate hash (Ed25519,
 * Ed448) are not covered by the RFC; SHA-256 is used for them, as other implementations do.
 */
export function tlsServerEndPoint(certificateDer: Buffer): Buffer {
  return createHash(endPointHash(certificateDer)).update(certificateDer).digest();
}

function endPointHash(certificateDer: Buffer): string {
  let hash: string | undefined;
  try {
    const algorithm = new x509.X509Certificate(certificateDer).signatureAlgorithm as {
      hash?: { name?: string } | string;
    };
    hash = typeof algorithm.hash === "string" ? algorithm.hash : algorithm.hash?.name;
  } catch {
    hash = undefined;
  }
  switch (hash?.toUpperCase()) {
    case "SHA-224":
      return "sha224";
    case "SHA-384":
      return "sha384";
    case "SHA-512":
      return "sha512";
    default:
      return "sha256"; // SHA-256 itself, MD5, SHA-1 (RFC 5929 §4.1) and unknown
  }
}

/** The certificate this end presented; server-side it is the one picked by SNI. */
function localCertificateDer(socket: TLSSocket): Buffer | undefined {
  const certificate = socket.getCertificate();
  return certificate !== null && "raw" in certificate ? certificate.raw : undefined;
}

/** The channel-binding data of `type` for the certificate this server-side socket presented. */
export function serverChannelBinding(tls: TLSSocket, type: ChannelBindingType): Buffer | undefined {
  const cert = tls.getCertificate();
  const der = cert && "raw" in cert ? (cert.raw as Buffer) : undefined;
  if (!der) return type === "tls-server-end-point" ? undefined : channelBindingData(tls, type, Buffer.alloc(0));
  return channelBindingData(tls, type, der);
}
