// A throwaway certificate authority for tests that verify certificates for real (s2s, SASL EXTERNAL,
// certificate selection): a CA plus leaf certificates for any names, as PEM strings, in milliseconds.

import "reflect-metadata"; // @peculiar/x509 needs it loaded first
import { KeyObject, webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";
import { subjectAltNames } from "../../src/core/tls/self-signed.js";

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ALGORITHM = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
const DAY_MS = 24 * 60 * 60 * 1000;

type KeyPair = x509.X509CertificateCreateSelfSignedParams["keys"];

export interface TestCa {
  /** PEM of the CA certificate: pass it as `ca` to trust certificates it issued. */
  cert: string;
  key: string;
  readonly certificate: x509.X509Certificate;
  readonly keys: KeyPair;
}

export interface IssuedCertificate {
  /** PEM of the leaf certificate. */
  cert: string;
  /** PEM (PKCS#8) of its private key. */
  key: string;
  /** Leaf followed by the CA certificate, for servers that send the chain. */
  chain: string;
}

export interface IssueOptions {
  notBefore?: Date;
  notAfter?: Date;
  /** Signature hash, to test tls-server-end-point with other hashes (default SHA-256). */
  hash?: "SHA-256" | "SHA-384" | "SHA-512";
}

export async function createTestCa(name = "Natter Test CA"): Promise<TestCa> {
  const keys = await generateKeys();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: [{ CN: [name] }],
    notBefore: new Date(Date.now() - DAY_MS),
    notAfter: new Date(Date.now() + 365 * DAY_MS),
    signingAlgorithm: ALGORITHM,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert: certificate.toString("pem"), key: exportKey(keys), certificate, keys };
}

/** A leaf certificate for `names` (DNS names, each with `*.name`; IP addresses as IP entries), signed by `ca`. */
export async function issueCertificate(
  ca: TestCa,
  names: string[],
  options: IssueOptions = {},
): Promise<IssuedCertificate> {
  const keys = await generateKeys();
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: [{ CN: [names[0] ?? "localhost"] }],
    issuer: ca.certificate.subject,
    notBefore: options.notBefore ?? new Date(Date.now() - DAY_MS),
    notAfter: options.notAfter ?? new Date(Date.now() + 30 * DAY_MS),
    signingAlgorithm: { ...ALGORITHM, hash: options.hash ?? "SHA-256" },
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension(subjectAltNames(names)),
      await x509.AuthorityKeyIdentifierExtension.create(ca.keys.publicKey),
    ],
  });
  const cert = certificate.toString("pem");
  return { cert, key: exportKey(keys), chain: `${cert}\n${ca.cert}\n` };
}

async function generateKeys(): Promise<KeyPair> {
  const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ["sign", "verify"]);
  return keys as unknown as KeyPair;
}

function exportKey(keys: KeyPair): string {
  return KeyObject.from(keys.privateKey as unknown as webcrypto.CryptoKey)
    .export({ type: "pkcs8", format: "pem" })
    .toString();
}

function randomSerial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = bytes[0]! & 0x7f;
  return Buffer.from(bytes).toString("hex");
}
