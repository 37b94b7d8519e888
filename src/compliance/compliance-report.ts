// XEP-0479 compliance of Natter as a server, computed from what the code declares: every module's `specs` and
// the core's (core-features.ts), each enabled or not in a given config. `natter compliance` prints it and
// docs/compliance.md is its Markdown form for the default configuration.
import type { Config } from "../core/config/index.js";
import type { ModuleDefinition, SpecReference } from "../core/modules.js";
import { MODULE_CATALOGUE } from "../modules/catalogue.js";
import { planModules } from "../modules/module-plan.js";
import { CORE_DECLARATIONS } from "./core-features.js";
import {
  type Provider,
  type Requirement,
  type SpecId,
  SUITES,
  type Suite,
  type SuiteRow,
  specLabel,
} from "./xep-0479.js";

/** One declaration of a spec by a module or by the core. */
export interface Declaration {
  spec: SpecReference;
  /** Module name, or the core's part ("stream", "transports/bosh" …). */
  provider: string;
  kind: "module" | "core";
  enabled: boolean;
  /** The config key that turns it on or off. */
  switch?: string;
}

/** Every declaration: all modules of the catalogue (enabled or not in `config`) and the core's. */
export function collectDeclarations(
  config: Config,
  catalogue: ReadonlyMap<string, ModuleDefinition<never>> = MODULE_CATALOGUE,
): Declaration[] {
  const enabled = new Set(planModules(config).map((m) => m.name));
  const out: Declaration[] = [];
  for (const [name, def] of [...catalogue].sort(([a], [b]) => a.localeCompare(b))) {
    for (const spec of def.specs ?? []) {
      out.push({ spec, provider: name, kind: "module", enabled: enabled.has(name), switch: `modules.${name}` });
    }
  }
  for (const core of CORE_DECLARATIONS) {
    const on = core.enabled(config);
    for (const spec of core.specs) {
      out.push({
        spec,
        provider: core.provider,
        kind: "core",
        enabled: on,
        ...(core.switch ? { switch: core.switch } : {}),
      });
    }
  }
  return out;
}

export const sameSpec = (a: SpecId, b: SpecId): boolean =>
  (a.xep !== undefined && a.xep === b.xep) || (a.rfc !== undefined && a.rfc === b.rfc);

export interface ProviderStatus {
  provider: Provider;
  declarations: Declaration[];
  /** Declared complete, or partial where the row says the part the suite needs suffices. */
  implemented: boolean;
  /** Implemented by a declaration that is enabled in the config. */
  enabled: boolean;
}

export interface RowStatus {
  row: SuiteRow;
  providers: ProviderStatus[];
  implemented: boolean;
  enabled: boolean;
}

function satisfies(d: Declaration, p: Provider): boolean {
  return d.spec.status === "complete" || (d.spec.status === "partial" && p.partialSuffices !== undefined);
}

export function rowStatus(row: SuiteRow, declarations: readonly Declaration[]): RowStatus {
  const providers = row.providers.map((provider): ProviderStatus => {
    const mine = declarations.filter(
      (d) => sameSpec(d.spec, provider) && (provider.via === undefined || d.provider === provider.via),
    );
    const good = mine.filter((d) => satisfies(d, provider));
    return { provider, declarations: mine, implemented: good.length > 0, enabled: good.some((d) => d.enabled) };
  });
  const all = (f: (p: ProviderStatus) => boolean) => (row.anyOf ? providers.some(f) : providers.every(f));
  return { row, providers, implemented: all((p) => p.implemented), enabled: all((p) => p.enabled) };
}

export type Level = "server" | "advancedServer";
export const LEVEL_NAMES: Record<Level, string> = { server: "Server", advancedServer: "Advanced Server" };

export interface LevelVerdict {
  level: Level;
  /** Required rows (of this suite and, for the others, of the Core suite: XEP-0479 §2.2–2.5) Natter lacks. */
  missing: RowStatus[];
  /** Required rows Natter implements but this config turns off. */
  disabled: RowStatus[];
  met: boolean;
}

export interface SuiteReport {
  suite: Suite;
  rows: RowStatus[];
  verdicts: LevelVerdict[];
}

export interface ComplianceReport {
  suites: SuiteReport[];
  declarations: Declaration[];
}

export function complianceReport(declarations: Declaration[], suites: readonly Suite[] = SUITES): ComplianceReport {
  const rowsOf = (suite: Suite) => suite.rows.map((row) => rowStatus(row, declarations));
  const core = suites.find((s) => s.id === "core");
  const coreRows = core ? rowsOf(core) : [];
  const reports = suites.map((suite): SuiteReport => {
    const rows = rowsOf(suite);
    const verdicts = (["server", "advancedServer"] as Level[]).map((level): LevelVerdict => {
      const required = (suite.id === "core" ? rows : [...coreRows, ...rows]).filter((r) => r.row[level] === "required");
      const missing = required.filter((r) => !r.implemented);
      const disabled = required.filter((r) => r.implemented && !r.enabled);
      return { level, missing, disabled, met: missing.length === 0 && disabled.length === 0 };
    });
    return { suite, rows, verdicts };
  });
  return { suites: reports, declarations };
}

export function reportForConfig(config: Config): ComplianceReport {
  return complianceReport(collectDeclarations(config));
}

// ---- rendering

const REQUIREMENT_TEXT: Record<Requirement, string> = { required: "required", "not-required": "-", "n/a": "n/a" };

function rowLabel(r: RowStatus): string {
  return `${r.row.feature} (${r.row.providers.map(specLabel).join(", ")})`;
}

/** "Advanced Server: met" / "Advanced Server: not met: missing …; turned off in this configuration: …". */
export function verdictLine(suite: Suite, v: LevelVerdict): string {
  const name = `${suite.title.replace(/ Compliance Suite$/, "")} ${LEVEL_NAMES[v.level]}`;
  if (v.met) return `${name}: met`;
  const parts: string[] = [];
  if (v.missing.length > 0) parts.push(`missing ${v.missing.map(rowLabel).join(", ")}`);
  if (v.disabled.length > 0) {
    const off = v.disabled.map((r) => {
      const switches = [
        ...new Set(
          r.providers.flatMap((p) =>
            p.declarations.filter((d) => !d.enabled && d.switch).map((d) => d.switch as string),
          ),
        ),
      ];
      return `${rowLabel(r)}${switches.length > 0 ? ` [${switches.join(", ")}]` : ""}`;
    });
    parts.push(`turned off in this configuration: ${off.join(", ")}`);
  }
  return `${name}: not met: ${parts.join("; ")}`;
}

function declarationText(d: Declaration): string {
  const version = d.spec.version ? ` ${d.spec.version}` : "";
  return `${d.spec.status}${version} by ${d.provider}${d.enabled ? "" : " (off)"}`;
}

/** What Natter has for one provider of a row: "XEP-0280: complete 1.0.1 by carbons". */
function providerText(p: ProviderStatus): string {
  const label = `${specLabel(p.provider)}${p.provider.via ? ` via ${p.provider.via}` : ""}`;
  if (p.declarations.length === 0) return `${label}: not implemented`;
  return `${label}: ${p.declarations.map(declarationText).join("; ")}`;
}

function natterCell(r: RowStatus): string {
  // XEP-0479: a client feature; the server only routes it.
  if (r.row.server === "n/a" && r.row.advancedServer === "n/a") return r.implemented ? "yes (n/a)" : "n/a";
  if (!r.implemented) return "not implemented";
  return r.enabled ? "yes" : "implemented, off";
}

function pad(cells: string[], widths: number[]): string {
  return cells
    .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
    .join("  ")
    .trimEnd();
}

export function renderText(report: ComplianceReport): string {
  const out: string[] = [];
  out.push(
    "XMPP Compliance Suites 2023 (XEP-0479 0.1.0), Server category: what Natter implements and this config enables",
  );
  for (const s of report.suites) {
    out.push("", `${s.suite.title} (XEP-0479 ${s.suite.section})`);
    const headers = ["Feature", "Server", "Advanced", "Natter", "Providers"];
    const rows = s.rows.map((r) => [
      r.row.feature,
      REQUIREMENT_TEXT[r.row.server],
      REQUIREMENT_TEXT[r.row.advancedServer],
      natterCell(r),
      r.providers.map(providerText).join(" | "),
    ]);
    const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? "").length)));
    out.push(pad(headers, widths), ...rows.map((row) => pad(row, widths)));
    for (const v of s.verdicts) out.push(verdictLine(s.suite, v));
  }
  return `${out.join("\n")}\n`;
}

const mdEscape = (text: string) => text.replace(/\|/g, "\\|");

const MD_REQUIREMENT: Record<Requirement, string> = { required: "✓", "not-required": "✕", "n/a": "N/A" };

export function renderMarkdown(report: ComplianceReport): string {
  const out: string[] = [];
  out.push(
    "# XMPP compliance (XEP-0479)",
    "",
    "<!-- Generated by `npm run compliance-doc` (natter compliance --markdown); a test keeps it up to date. Do not edit. -->",
    "",
    "Natter's status against [XEP-0479: XMPP Compliance Suites 2023](https://xmpp.org/extensions/xep-0479.html)",
    "(version 0.1.0, 2023-05-04), Server category, for the **default configuration**. Run `natter compliance -c",
    "natter.yaml` to see it for yours (a feature your configuration turns off is reported as such).",
    "",
    "XEP-0479 names its providers without versions; the version beside each is the one Natter implements. Every",
    "module declares what it implements (`specs` in its `defineModule`), the core in `src/compliance/core-features.ts`;",
    "the table is computed from those declarations, and an end-to-end test checks that the server's service",
    "discovery advertises exactly the features of the enabled modules' declarations.",
    "",
    "A row is met when every provider is implemented: declared `complete`, or `partial` where the row requires only",
    "the part Natter has (the reason is given). ✓ required, ✕ not required, N/A not applicable to servers.",
  );
  for (const s of report.suites) {
    out.push("", `## ${s.suite.title} (XEP-0479 ${s.suite.section})`, "");
    for (const v of s.verdicts) out.push(`- **${verdictLine(s.suite, v)}**`);
    out.push("", "| Feature | Server | Advanced Server | Natter | Provided by |", "|---|:-:|:-:|---|---|");
    for (const r of s.rows) {
      const providers = r.providers
        .map((p) => {
          const what =
            p.declarations.length === 0
              ? "not implemented"
              : p.declarations.map((d) => `${declarationText(d)}${d.spec.note ? ` (${d.spec.note})` : ""}`).join("; ");
          const why = p.provider.partialSuffices && p.declarations.some((d) => d.spec.status === "partial");
          return `${specLabel(p.provider)}${p.provider.via ? ` via ${p.provider.via}` : ""}: ${what}${why ? `; partial suffices: ${p.provider.partialSuffices}` : ""}`;
        })
        .join("<br>");
      const feature = r.row.note ? `${r.row.feature}<br><small>${r.row.note}</small>` : r.row.feature;
      out.push(
        `| ${mdEscape(feature)} | ${MD_REQUIREMENT[r.row.server]} | ${MD_REQUIREMENT[r.row.advancedServer]} | ${natterCell(r)} | ${mdEscape(providers)} |`,
      );
    }
    if (s.suite.ofNote && s.suite.ofNote.length > 0) {
      const notes = s.suite.ofNote.map((spec) => {
        const ds = report.declarations.filter((d) => sameSpec(d.spec, spec));
        return `${specLabel(spec)}: ${ds.length === 0 ? "not implemented" : ds.map(declarationText).join("; ")}`;
      });
      out.push("", "Further specifications of note (not required):", "", ...notes.map((n) => `- ${n}`));
    }
  }
  out.push(
    "",
    "## Everything Natter declares",
    "",
    "| Specification | Version | Status | Provided by | Notes |",
    "|---|---|---|---|---|",
  );
  const sorted = [...report.declarations].sort(
    (a, b) =>
      (a.spec.rfc !== undefined ? 0 : 1) - (b.spec.rfc !== undefined ? 0 : 1) ||
      (a.spec.rfc ?? a.spec.xep ?? 0) - (b.spec.rfc ?? b.spec.xep ?? 0) ||
      a.provider.localeCompare(b.provider),
  );
  for (const d of sorted) {
    const provider = `${d.provider}${d.kind === "core" ? " (core)" : ""}${d.enabled ? "" : " — off by default"}`;
    out.push(
      `| ${specLabel(d.spec)} | ${d.spec.version ?? "—"} | ${d.spec.status} | ${mdEscape(provider)} | ${mdEscape(d.spec.note ?? "")} |`,
    );
  }
  return `${out.join("\n")}\n`;
}
