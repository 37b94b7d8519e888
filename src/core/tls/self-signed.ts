// A certificate for servers started without one, so that TLS (and therefore STARTTLS-before-auth, the
// default) works from the first start. Clients will not trust it; it exists for development and first runs.

import "reflect-metadata"; // @peculiar/x509 needs it loaded first
import { createPrivateKey, KeyObject, webcrypto, X509Certificate } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { isIP } from "node:net";
import { join } from "node:path";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export interface PemFiles {
  /** Path of the PEM certificate. */
  cert: string;
  /** Path of the PEM PKCS#8 private key. */
  key: string;
}

const VALIDITY_DAYS = 825;
/** Regenerate when fewer days than this remain, so a running server never reaches expiry unnoticed. */
const RENEW_BEFORE_DAYS = 30;
const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Returns PEM files of a self-signed certificate under `<dataDir>/certs/` naming every host and `*.host`
 * (conference.host, upload.host …). Reuses the existing files while they cover the hosts, match their key
 * and are not near expiry; otherwise generates a new ECDSA P-256 certificate and logs where.
 */
export async function ensureSelfSignedCertificate(
  dataDir: string,
  hosts: string[],
  log: (message: string) => void = () => {},
): Promise<PemFiles> {
  const dir = join(dataDir, "certs");
  const files: PemFiles = { cert: join(dir, "self-signed.crt"), key: join(dir, "self-signed.key") };
  if (existingCovers(files, hosts)) return files;

  const { cert, key } = await generateSelfSigned(hosts);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Key first, each written whole then renamed: a crash never leaves a certificate without its key.
  writeAtomically(files.key, key, 0o600);
  writeAtomically(files.cert, cert, 0o600); // the data directory is owner-only, its files too
  log(`generated self-signed certificate for ${hosts.join(", ")} at ${files.cert}`);
  return files;
}

/** The SubjectAltName entries for a set of hosts: each host and its wildcard, or the address for IP hosts. */
export function subjectAltNames(hosts: readonly string[]): x509.JsonGeneralName[] {
  return hosts.flatMap((host): x509.JsonGeneralName[] => {
    const address = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
    if (isIP(address) !== 0) return [{ type: "ip", value: address }];
    return [
      { type: "dns", value: host },
      { type: "dns", value: `*.${host}` },
    ];
  });
}

async function generateSelfSigned(hosts: readonly string[]): Promise<{ cert: string; key: string }> {
  const algorithm = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
  const keys = (await webcrypto.subtle.generateKey(algorithm, true, ["sign", "verify"])) as webcrypto.CryptoKeyPair;
  const now = Date.now();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: [{ CN: [hosts[0] ?? "localhost"] }, { O: ["Natter self-signed"] }],
    notBefore: new Date(now - DAY_MS), // tolerate clients whose clock is a little behind
    notAfter: new Date(now + VALIDITY_DAYS * DAY_MS),
    signingAlgorithm: algorithm,
    keys: keys as unknown as x509.X509CertificateCreateSelfSignedParams["keys"],
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      // serverAuth for c2s/s2s listeners, clientAuth for outgoing s2s connections (RFC 6120 §13.7.1.2).
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension(subjectAltNames(hosts)),
    ],
  });
  const key = KeyObject.from(keys.privateKey).export({ type: "pkcs8", format: "pem" }).toString();
  return { cert: certificate.toString("pem"), key };
}

function existingCovers(files: PemFiles, hosts: readonly string[]): boolean {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(readFileSync(files.cert));
    if (!certificate.checkPrivateKey(createPrivateKey(readFileSync(files.key)))) return false;
  } catch {
    return false; // missing or unreadable: make a new one
  }
  if (Date.parse(certificate.validTo) - Date.now() < RENEW_BEFORE_DAYS * DAY_MS) return false;
  const names = new Set(
    (certificate.subjectAltName ?? "")
      .split(", ")
      .map((entry) => entry.replace(/^(DNS|IP Address):/, "").toLowerCase()),
  );
  return subjectAltNames(hosts).every((name) => names.has(name.value.toLowerCase()));
}

/** Written whole then renamed, with `mode` even over a leftover temporary file. */
export function writeAtomically(path: string, data: string, mode: number): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, data, { mode });
  chmodSync(temporary, mode); // mode applies only on creation; a leftover temporary file keeps its old one
  renameSync(temporary, path);
}

function randomSerial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = bytes[0]! & 0x7f; // RFC 5280 §4.1.2.2: positive
  return Buffer.from(bytes).toString("hex");
}
