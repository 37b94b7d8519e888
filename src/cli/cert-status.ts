// `natter cert status`: which certificate serves each domain, read from the config and the files alone (the
// server may be stopped), through the same report the running server logs and exports as metrics.
// `natter cert renew`: a new ACME certificate now, through the running server's control socket.
import type { Command } from "commander";
import { acmeDomains } from "../certificates/certificate-service.js";
import { sendControlRequest } from "../control/control-server.js";
import type { Config } from "../core/config/index.js";
import { certificateReport } from "../core/tls/certificate-report.js";
import { CertificateStore } from "../core/tls/certificates.js";
import { servedDomains } from "../modules/served-domains.js";
import { CliError } from "./accounts.js";
import { formatTable, formatTime } from "./table.js";

export function registerCertCommands(program: Command, config: () => Config): void {
  const cert = program.command("cert").description("TLS certificates");
  cert
    .command("status")
    .description(
      "per served domain: the certificate, its issuer and expiry; ! marks expiring (< 14 days) or not naming the domain",
    )
    .option("--json", "print the data as JSON")
    .action(async (opts: { json?: boolean }) => {
      const cfg = config();
      // Generates the self-signed certificate when missing, exactly as the server's start would.
      const store = await CertificateStore.fromConfig(cfg);
      const domains = servedDomains(cfg);
      const report = certificateReport(store, domains, cfg);
      const wanted = cfg.tls.acme.enabled ? new Set(acmeDomains(cfg, domains, store)) : new Set<string>();
      if (opts.json) {
        process.stdout.write(
          `${JSON.stringify(
            report.map((r) => ({ ...r, acme_managed: wanted.has(r.domain) })),
            null,
            2,
          )}\n`,
        );
        return;
      }
      const rows = report.map((r) => [
        r.expiring || r.mismatched ? "!" : "",
        r.domain,
        r.source + (wanted.has(r.domain) && r.source !== "acme" ? " (acme pending)" : ""),
        r.issuer,
        formatTime(r.notAfter.getTime()),
        String(r.daysLeft),
        [
          r.mismatched ? "does not name the domain" : "",
          r.expiring ? (r.daysLeft < 0 ? "expired" : "expires soon") : "",
        ]
          .filter(Boolean)
          .join("; "),
      ]);
      process.stdout.write(formatTable(["", "DOMAIN", "SOURCE", "ISSUER", "NOT AFTER", "DAYS LEFT", "WARNING"], rows));
      if (report.some((r) => r.expiring || r.mismatched)) process.exitCode = 1;
    });
  cert
    .command("renew")
    .description("ask the running server for a new ACME certificate now (swapped in without dropping a session)")
    .action(async () => {
      const cfg = config();
      let response: Awaited<ReturnType<typeof sendControlRequest>>;
      try {
        response = await sendControlRequest(cfg.control_socket, { op: "cert-renew" });
      } catch {
        throw new CliError(`cannot reach a running server at ${cfg.control_socket} (is it started with this config?)`);
      }
      if (!response.ok) throw new CliError(response.error);
      const r = response.result as { domains: string[]; serial: string; not_after: string };
      process.stdout.write(
        `new certificate for ${r.domains.join(", ")}: serial ${r.serial}, not after ${r.not_after}\n`,
      );
    });
}
