// Which certificate serves each domain, and whether an operator must act: one answer shared by the start /
// reload / daily log lines, the metrics and `natter cert status`, so that they never disagree.
import { join } from "node:path";
import { acmePaths } from "./acme-files.js";
import { type CertificateStore, matchesName } from "./certificates.js";

/** Fewer days left than this is a warning (docs/certificates.md). */
export const EXPIRY_WARNING_DAYS = 14;
const DAY_MS = 24 * 60 * 60 * 1000;

export type CertificateSource = "file" | "acme" | "self-signed";

export interface DomainCertificate {
  domain: string;
  source: CertificateSource;
  /** Path of the certificate file. */
  file: string;
  /** The issuer's CN (or whole DN when it has none). */
  issuer: string;
  serial: string;
  notAfter: Date;
  /** Whole days until notAfter (negative once expired). */
  daysLeft: number;
  /** Fewer than EXPIRY_WARNING_DAYS days left, or expired. */
  expiring: boolean;
  /** The certificate that would be presented does not name the domain. */
  mismatched: boolean;
}

export function certificateReport(
  store: CertificateStore,
  domains: readonly string[],
  config: { data_dir: string },
  now = Date.now(),
): DomainCertificate[] {
  const acmeCert = acmePaths(config.data_dir).certificate.cert;
  return domains.map((domain) => {
    const entry = store.certificateFor(domain);
    const notAfter = new Date(entry.certificate.validTo);
    const daysLeft = Math.floor((notAfter.getTime() - now) / DAY_MS);
    const source: CertificateSource =
      entry.files.cert === acmeCert
        ? "acme"
        : entry.files.cert === join(config.data_dir, "certs", "self-signed.crt")
          ? "self-signed"
          : "file";
    return {
      domain,
      source,
      file: entry.files.cert,
      issuer: /^CN=(.+)$/m.exec(entry.certificate.issuer)?.[1] ?? entry.certificate.issuer.replace(/\n/g, ", "),
      serial: entry.certificate.serialNumber,
      notAfter,
      daysLeft,
      expiring: notAfter.getTime() - now < EXPIRY_WARNING_DAYS * DAY_MS,
      mismatched: !(entry.certificate.checkHost(domain) !== undefined || matchesName(entry.names, domain)),
    };
  });
}

/** Logs a warning per domain whose certificate expires soon or does not name it (at start, reload, daily). */
export function warnAboutCertificates(
  report: readonly DomainCertificate[],
  warn: (fields: object, message: string) => void,
): void {
  for (const r of report) {
    if (r.mismatched)
      warn({ domain: r.domain, certificate: r.file }, `the certificate served for ${r.domain} does not name it`);
    if (r.expiring)
      warn(
        { domain: r.domain, certificate: r.file, not_after: r.notAfter.toISOString(), days_left: r.daysLeft },
        r.daysLeft < 0
          ? `the certificate for ${r.domain} has expired`
          : `the certificate for ${r.domain} expires in ${r.daysLeft} days`,
      );
  }
}
