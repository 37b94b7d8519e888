// The self-signed certificate the idle-tls scenario gives all three servers (Natter's tls.certificates,
// Prosody's ssl, ejabberd's certfiles), so that each negotiates STARTTLS with the same key type and size. Made
// with openssl once per bench directory; the bench's clients do not verify it (loopback, no peer to trust).

import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

export interface CertificateFiles {
  /** PEM certificate (subject and SubjectAltName `domain`). */
  cert: string;
  /** PEM private key, unencrypted. */
  key: string;
}

/**
 * `dir`/tls/<domain>.crt and .key: an EC P-256 key (what Natter generates for itself when it has no
 * certificate) and a certificate for `domain`, valid for a year. Reused when already there.
 */
export function benchCertificate(dir: string, domain: string): CertificateFiles {
  const cert = join(dir, `${domain}.crt`);
  const key = join(dir, `${domain}.key`);
  if (existsSync(cert) && existsSync(key)) return { cert, key };
  const r = spawnSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-days",
      "365",
      "-subj",
      `/CN=${domain}`,
      "-addext",
      `subjectAltName=DNS:${domain}`,
      "-keyout",
      key,
      "-out",
      cert,
    ],
    { encoding: "utf8" },
  );
  if (r.status !== 0) throw new Error(`openssl could not make the bench certificate: ${r.error?.message ?? r.stderr}`);
  return { cert, key };
}
