// The server's certificates, chosen per connection by the name the client asked for (SNI, RFC 6066 §3),
// for STARTTLS and direct TLS alike. With several virtual hosts, each may have its own certificate.

import { createPrivateKey, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { createSecureContext, type SecureContext } from "node:tls";
import { acmeCertificateFiles } from "./acme-files.js";
import { ensureSelfSignedCertificate, type PemFiles } from "./self-signed.js";

/** A certificate or key file that cannot be used; the message names the file. */
export class CertificateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CertificateError";
  }
}

export interface LoadedCertificate {
  files: PemFiles;
  /** The leaf (first) certificate of the file, which may also hold intermediates after it. */
  certificate: X509Certificate;
  /** Lower-case DNS names and IP addresses it is valid for (SubjectAltName, or the CN when it has none). */
  names: string[];
  context: SecureContext;
  certPem: string;
  keyPem: string;
}

type SniCallback = (servername: string, callback: (error: Error | null, context?: SecureContext) => void) => void;

export class CertificateStore {
  private current: readonly LoadedCertificate[];

  constructor(certificates: LoadedCertificate[]) {
    if (certificates[0] === undefined) throw new CertificateError("no TLS certificate configured");
    this.current = certificates;
  }

  get certificates(): readonly LoadedCertificate[] {
    return this.current;
  }

  /** Used when the client sent no SNI or named no host we have a certificate for. */
  get defaultContext(): SecureContext {
    return this.current[0]!.context;
  }

  /**
   * Takes the certificates of `next` (a reload): every holder of this store (listeners' SNI callbacks, s2s,
   * HTTPS) uses them for the handshakes that start from now on; connections already up keep theirs.
   */
  replaceWith(next: CertificateStore): void {
    this.current = next.certificates;
  }

  /** SHA-256 fingerprints of the certificates in use, to say in a reload's changes whether they differ. */
  fingerprints(): string[] {
    return this.current.map((entry) => entry.certificate.fingerprint256);
  }

  /** Reads `{cert, key}` PEM file pairs, in order of preference. */
  static fromFiles(pairs: readonly PemFiles[], log: (message: string) => void = () => {}): CertificateStore {
    return new CertificateStore(pairs.map((pair) => loadCertificate(pair, log)));
  }

  /**
   * The configured certificates, plus a generated self-signed one for the hosts none of them covers
   * (all hosts when none is configured), so every host can negotiate TLS.
   */
  static async fromConfig(
    config: {
      hosts: readonly string[];
      data_dir: string;
      tls: { certificates: readonly PemFiles[]; acme?: { enabled: boolean } };
    },
    log: (message: string) => void = () => {},
  ): Promise<CertificateStore> {
    const loaded = config.tls.certificates.map((pair) => loadCertificate(pair, log));
    // After the configured files (which win for the names they cover, docs/certificates.md), before self-signed.
    const acme = acmeCertificateFiles(config);
    if (acme !== undefined) {
      try {
        loaded.push(loadCertificate(acme, log));
      } catch (error) {
        // A damaged ACME file must not stop the server: the next renewal check writes a new one.
        log(`ignoring the ACME certificate: ${(error as Error).message}`);
      }
    }
    const uncovered = config.hosts.filter((host) => !loaded.some((entry) => matchesName(entry.names, host)));
    if (uncovered.length > 0) {
      if (loaded.length > 0) log(`no configured certificate covers ${uncovered.join(", ")}; using a self-signed one`);
      loaded.push(loadCertificate(await ensureSelfSignedCertificate(config.data_dir, uncovered, log), log));
    }
    return new CertificateStore(loaded);
  }

  /** The certificate for a server name, or the first one when none matches. */
  certificateFor(servername: string): LoadedCertificate {
    const name = normaliseName(servername);
    const match = this.certificates.find(
      (entry) => entry.certificate.checkHost(name) !== undefined || matchesName(entry.names, name),
    );
    return match ?? this.certificates[0]!;
  }

  secureContextFor(servername: string): SecureContext {
    return this.certificateFor(servername).context;
  }

  /** DER of the certificate presented for `servername` (the input of tls-server-end-point, RFC 5929 §4.1). */
  certificateDer(servername: string): Buffer {
    return this.certificateFor(servername).certificate.raw;
  }

  /**
   * Options for `tls.createServer` (direct TLS, XEP-0368): tls.Server builds its default context from
   * cert/key itself and ignores a `secureContext` option, hence the PEMs of the first certificate.
   */
  tlsServerOptions(): { cert: string; key: string; SNICallback: SniCallback } {
    const first = this.certificates[0]!;
    return { cert: first.certPem, key: first.keyPem, SNICallback: this.SNICallback };
  }

  /** For `tls.createServer({SNICallback})` and `new tls.TLSSocket(socket, {isServer: true, SNICallback})`. */
  readonly SNICallback: SniCallback = (servername, callback) => {
    callback(null, this.secureContextFor(servername));
  };
}

function loadCertificate(files: PemFiles, log: (message: string) => void): LoadedCertificate {
  const certPem = readPem(files.cert, "certificate");
  const keyPem = readPem(files.key, "private key");
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(certPem);
  } catch (error) {
    throw new CertificateError(`${files.cert}: not a PEM certificate (${(error as Error).message})`);
  }
  let matches: boolean;
  try {
    matches = certificate.checkPrivateKey(createPrivateKey(keyPem));
  } catch (error) {
    throw new CertificateError(`${files.key}: not a PEM private key (${(error as Error).message})`);
  }
  if (!matches) throw new CertificateError(`${files.key}: this key does not belong to the certificate ${files.cert}`);
  if (Date.parse(certificate.validTo) < Date.now())
    log(`warning: certificate ${files.cert} expired on ${certificate.validTo}`);
  let context: SecureContext;
  try {
    context = createSecureContext({ cert: certPem, key: keyPem });
  } catch (error) {
    throw new CertificateError(`${files.cert}: ${(error as Error).message}`);
  }
  return { files, certificate, names: certificateNames(certificate), context, certPem, keyPem };
}

function readPem(path: string, what: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === "ENOENT" ? "file not found" : code === "EACCES" ? "permission denied" : (error as Error).message;
    throw new CertificateError(`${path}: cannot read the TLS ${what}: ${reason}`);
  }
}

/** RFC 6125 §6.4.4: the CN is only consulted when the certificate has no DNS SubjectAltName. */
export function certificateNames(certificate: X509Certificate): string[] {
  const names: string[] = [];
  for (const entry of (certificate.subjectAltName ?? "").split(", ")) {
    const dns = /^DNS:(.+)$/.exec(entry);
    if (dns !== null) names.push(normaliseName(dns[1]!));
    const ip = /^IP Address:(.+)$/.exec(entry);
    if (ip !== null) names.push(ip[1]!.toLowerCase());
  }
  if (names.length === 0) {
    const cn = /^CN=(.+)$/m.exec(certificate.subject);
    if (cn !== null) names.push(normaliseName(cn[1]!));
  }
  return names;
}

/**
 * RFC 6125 §6.4.3: a wildcard only as the whole left-most label, matching exactly one label. Done here as
 * well as with checkHost because OpenSSL refuses `*.localhost`-style wildcards over a single-label domain,
 * which the self-signed certificate relies on for conference.localhost and the like.
 */
export function matchesName(names: readonly string[], host: string): boolean {
  const wanted = normaliseName(host);
  const dot = wanted.indexOf(".");
  const parent = dot > 0 && isIP(wanted) === 0 ? wanted.slice(dot + 1) : undefined;
  return names.some((name) => name === wanted || (parent !== undefined && name === `*.${parent}`));
}

function normaliseName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith(".") ? lower.slice(0, -1) : lower;
}
