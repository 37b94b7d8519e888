// The running server's certificates over time: which one serves each domain (log warnings at start, reload
// and daily; metrics at each scrape), and, with tls.acme, obtaining and renewing them with the hot swap that
// keeps every connection up (issue 15).
import { isIP } from "node:net";
import type { Logger } from "pino";
import type { Config } from "../core/config/index.js";
import { AcmeManager } from "../core/tls/acme-manager.js";
import { certificateReport, type DomainCertificate, warnAboutCertificates } from "../core/tls/certificate-report.js";
import { CertificateStore, matchesName } from "../core/tls/certificates.js";
import { servedDomains } from "../modules/served-domains.js";
import { type CertificateHolders, swapCertificates } from "../reload/swap-certificates.js";
import type { HttpRoutes } from "../web/http-routes.js";

const DAY_MS = 24 * 60 * 60 * 1000;

/** Every domain the server answers for: the config's, plus what the router has registered now. */
export function liveDomains(config: Config, componentDomains: readonly string[]): string[] {
  return [...new Set([...servedDomains(config), ...componentDomains])];
}

/**
 * The names to ask the CA for: tls.acme.domains when given, else every served domain that no file of
 * tls.certificates covers (those files win: docs/certificates.md); never tls.acme.exclude_domains, never an
 * IP address (HTTP-01 validates DNS names).
 */
export function acmeDomains(config: Config, served: readonly string[], store: CertificateStore): string[] {
  const acme = config.tls.acme;
  const fileNames = store.certificates
    .filter((c) => config.tls.certificates.some((pair) => pair.cert === c.files.cert))
    .flatMap((c) => c.names);
  const wanted = acme.domains.length > 0 ? acme.domains : served.filter((d) => !matchesName(fileNames, d));
  return wanted.filter((d) => !acme.exclude_domains.includes(d) && isIP(d.replace(/^\[|\]$/g, "")) === 0);
}

export interface CertificateServiceOptions {
  /** The running config (a reload replaces it). */
  config(): Config;
  /** Domains components registered with the router now. */
  componentDomains(): string[];
  holders(): CertificateHolders;
  http: HttpRoutes;
  log: Logger;
}

export class CertificateService {
  readonly acme: AcmeManager | undefined;
  private readonly daily: NodeJS.Timeout;

  constructor(private readonly o: CertificateServiceOptions) {
    const config = o.config();
    if (config.tls.acme.enabled) {
      this.acme = new AcmeManager({
        options: config.tls.acme,
        dataDir: config.data_dir,
        domains: () => acmeDomains(o.config(), this.domains(), o.holders().certificates),
        route: (prefix, handler) => o.http.route(prefix, handler),
        installed: () => this.reloadFromDisk(),
        log: o.log.child({ component: "acme" }),
      });
    }
    this.daily = setInterval(() => this.warn(), DAY_MS);
    this.daily.unref();
  }

  domains(): string[] {
    return liveDomains(this.o.config(), this.o.componentDomains());
  }

  /** Which certificate serves each domain now. */
  report(): DomainCertificate[] {
    return certificateReport(this.o.holders().certificates, this.domains(), this.o.config());
  }

  /** Log lines for expiring or mismatched certificates (start, reload, daily). */
  warn(): void {
    warnAboutCertificates(this.report(), (fields, message) => this.o.log.warn(fields, message));
  }

  start(): void {
    this.warn();
    this.acme?.start();
  }

  /** After a reload: warnings for the new set of domains, and a certificate for hosts it added. */
  reloaded(): void {
    this.warn();
    this.acme?.start();
  }

  stop(): void {
    clearInterval(this.daily);
    this.acme?.stop();
  }

  /** A new ACME certificate is on disk: the store is rebuilt from the running config and swapped in. */
  private async reloadFromDisk(): Promise<void> {
    const { log } = this.o;
    const next = await CertificateStore.fromConfig(this.o.config(), (msg) => log.info(msg));
    swapCertificates(this.o.holders(), next);
    log.info(
      { fingerprints: next.fingerprints() },
      "new certificates serve new connections; connections already up keep theirs",
    );
    this.warn();
  }
}
