// Where ACME (RFC 8555) state lives: <data_dir>/acme/, owner-only like the rest of the data directory.
// One account key, and one certificate (with its key) covering every name the server asks the CA for.
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { PemFiles } from "./self-signed.js";

export interface AcmePaths {
  dir: string;
  accountKey: string;
  certificate: PemFiles;
}

export function acmePaths(dataDir: string): AcmePaths {
  const dir = join(dataDir, "acme");
  return {
    dir,
    accountKey: join(dir, "account.key"),
    certificate: { cert: join(dir, "certificate.crt"), key: join(dir, "certificate.key") },
  };
}

/** The ACME certificate's files when ACME is on and a certificate was obtained already. */
export function acmeCertificateFiles(config: {
  data_dir: string;
  tls: { acme?: { enabled: boolean } };
}): PemFiles | undefined {
  if (!config.tls.acme?.enabled) return undefined;
  const { certificate } = acmePaths(config.data_dir);
  return existsSync(certificate.cert) && existsSync(certificate.key) ? certificate : undefined;
}
