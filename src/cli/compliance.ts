// `natter compliance`: XEP-0479 (XMPP Compliance Suites 2023) for the Server category, from what the modules
// and the core declare and what the config (-c, or the built-in defaults) turns on. `--markdown` prints
// docs/compliance.md (npm run compliance-doc).
import type { Command } from "commander";
import { renderMarkdown, renderText, reportForConfig } from "../compliance/compliance-report.js";
import type { Config } from "../core/config/index.js";

export function registerComplianceCommand(program: Command, config: () => Config): void {
  program
    .command("compliance")
    .description("XEP-0479 compliance (Core, Web, IM, Mobile, A/V suites; Server category) of this configuration")
    .option("--markdown", "print the Markdown document (docs/compliance.md is this for the default configuration)")
    .action((opts: { markdown?: boolean }) => {
      const report = reportForConfig(config());
      process.stdout.write(opts.markdown ? renderMarkdown(report) : renderText(report));
    });
}
