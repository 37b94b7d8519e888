// The XEP-0479 table logic on hand-made declarations, then on Natter's own: the Advanced Server levels the
// issue promises, what turning a feature off does to the verdict, and docs/compliance.md being the generator's
// current output.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { parseConfig } from "../core/config/index.js";
import type { SpecReference } from "../core/modules.js";
import { MODULE_CATALOGUE } from "../modules/catalogue.js";
import {
  type ComplianceReport,
  collectDeclarations,
  complianceReport,
  type Declaration,
  renderMarkdown,
  renderText,
  reportForConfig,
  rowStatus,
  verdictLine,
} from "./compliance-report.js";
import { expectedDiscoFeatures } from "./disco-features.js";
import { SUITES, type Suite, type SuiteRow, specLabel } from "./xep-0479.js";

const decl = (spec: SpecReference, provider = "m", enabled = true): Declaration => ({
  spec,
  provider,
  kind: "module",
  enabled,
  switch: `modules.${provider}`,
});

const row = (over: Partial<SuiteRow>): SuiteRow => ({
  feature: "F",
  server: "required",
  advancedServer: "required",
  providers: [{ xep: 1 }],
  ...over,
});

const defaults = () => parseConfig("", "natter.yaml", "/srv");

function verdict(report: ComplianceReport, suite: Suite["id"], level: "server" | "advancedServer") {
  const s = report.suites.find((x) => x.suite.id === suite)!;
  return { suite: s.suite, v: s.verdicts.find((v) => v.level === level)! };
}

describe("XEP-0479 row status", () => {
  it("a complete declaration implements a provider; partial only where the row says it suffices", () => {
    assert.equal(rowStatus(row({}), [decl({ xep: 1, status: "complete" })]).implemented, true);
    assert.equal(rowStatus(row({}), [decl({ xep: 1, status: "partial" })]).implemented, false);
    assert.equal(rowStatus(row({}), [decl({ xep: 1, status: "planned" })]).implemented, false);
    const lenient = row({ providers: [{ xep: 1, partialSuffices: "only §2 is required" }] });
    assert.equal(rowStatus(lenient, [decl({ xep: 1, status: "partial" })]).implemented, true);
  });

  it("needs every provider, or one with anyOf; a declaration of another spec does not count", () => {
    const two = row({ providers: [{ xep: 1 }, { rfc: 1 }] });
    const one = [decl({ xep: 1, status: "complete" })];
    assert.equal(rowStatus(two, one).implemented, false);
    assert.equal(rowStatus({ ...two, anyOf: true }, one).implemented, true);
    assert.equal(rowStatus(two, [...one, decl({ rfc: 1, status: "complete" })]).implemented, true);
    assert.equal(rowStatus(row({}), [decl({ rfc: 1, status: "complete" })]).implemented, false);
  });

  it("`via` accepts only the named provider's declaration", () => {
    const r = row({ providers: [{ xep: 313, via: "muc" }] });
    assert.equal(rowStatus(r, [decl({ xep: 313, status: "complete" }, "mam")]).implemented, false);
    assert.equal(rowStatus(r, [decl({ xep: 313, status: "complete" }, "muc")]).implemented, true);
  });

  it("is enabled only when an implementing declaration is enabled", () => {
    const s = rowStatus(row({}), [
      decl({ xep: 1, status: "complete" }, "a", false),
      decl({ xep: 1, status: "partial" }, "b"),
    ]);
    assert.deepEqual([s.implemented, s.enabled], [true, false]);
  });
});

describe("XEP-0479 suite verdicts", () => {
  const suites: Suite[] = [
    {
      id: "core",
      title: "Core Compliance Suite",
      section: "§2.1",
      rows: [row({ feature: "C", providers: [{ xep: 1 }] })],
    },
    {
      id: "im",
      title: "IM Compliance Suite",
      section: "§2.3",
      rows: [row({ feature: "I", server: "not-required", providers: [{ xep: 2 }] })],
    },
  ];

  it("counts the Core suite's rows in the other suites and names what is missing", () => {
    const report = complianceReport([decl({ xep: 2, status: "complete" })], suites);
    const { suite, v } = verdict(report, "im", "server");
    assert.equal(v.met, false);
    assert.equal(verdictLine(suite, v), "IM Server: not met: missing C (XEP-0001)");
  });

  it("tells a row turned off by the config apart from a missing one, with the key that turns it on", () => {
    const report = complianceReport(
      [decl({ xep: 1, status: "complete" }), decl({ xep: 2, status: "complete" }, "x", false)],
      suites,
    );
    const { suite, v } = verdict(report, "im", "advancedServer");
    assert.equal(
      verdictLine(suite, v),
      "IM Advanced Server: not met: turned off in this configuration: I (XEP-0002) [modules.x]",
    );
    const core = verdict(report, "core", "advancedServer");
    assert.equal(verdictLine(core.suite, core.v), "Core Advanced Server: met");
  });
});

describe("Natter's declarations", () => {
  it("every module declares its specs; each XEP it implements with the version", () => {
    for (const [name, def] of MODULE_CATALOGUE) {
      assert.ok(Array.isArray(def.specs), `${name} declares specs`);
      for (const spec of def.specs ?? []) {
        assert.ok((spec.xep === undefined) !== (spec.rfc === undefined), `${name}: one of xep or rfc`);
        if (spec.xep !== undefined && spec.status !== "planned")
          assert.ok(spec.version, `${name}: XEP-${spec.xep} version`);
      }
    }
  });

  it("meets every Server and every Advanced Server level with the default config", () => {
    // No known gaps: the last one, XEP-0163 notifications to contacts on other hosts and servers, is closed (the
    // pep module records remote contacts' presence and caps; test/e2e/pep-remote.test.ts). A new gap goes here.
    const KNOWN_GAPS: string[] = [];
    const report = reportForConfig(defaults());
    for (const s of report.suites) {
      const server = s.verdicts.find((v) => v.level === "server")!;
      assert.ok(server.met, verdictLine(s.suite, server));
      const advanced = s.verdicts.find((v) => v.level === "advancedServer")!;
      assert.deepEqual(advanced.disabled, [], verdictLine(s.suite, advanced));
      assert.deepEqual(
        advanced.missing.map((r) => `${r.row.feature} (${r.row.providers.map((p) => specLabel(p)).join(", ")})`),
        KNOWN_GAPS,
        verdictLine(s.suite, advanced),
      );
    }
    assert.deepEqual(
      report.suites.map((s) => s.suite.id),
      SUITES.map((s) => s.id),
    );
  });

  it("turning stream management off fails the Mobile suite and says which key", () => {
    const cfg = parseConfig("c2s:\n  stream_management:\n    enabled: false\n", "natter.yaml", "/srv");
    const text = renderText(reportForConfig(cfg));
    assert.match(
      text,
      /^Mobile Server: not met: turned off in this configuration: Stream Management \(XEP-0198\) \[c2s\.stream_management\.enabled\]$/m,
    );
    assert.match(text, /^IM Advanced Server: not met: .*Stream Management \(XEP-0198\)/m);
    assert.match(text, /^Core Server: met$/m);
  });

  it("turning a module off shows in the table and the verdicts", () => {
    const cfg = parseConfig("modules:\n  carbons: false\n", "natter.yaml", "/srv");
    const report = reportForConfig(cfg);
    const im = verdict(report, "im", "server");
    assert.match(verdictLine(im.suite, im.v), /Outbound Message Synchronization \(XEP-0280\) \[modules\.carbons\]/);
    assert.ok(collectDeclarations(cfg).some((d) => d.provider === "carbons" && !d.enabled));
  });

  it("disco expectations: a feature belongs to an enabled declaration, by its module where the table says", () => {
    const mam = [{ spec: { xep: 359, status: "complete" }, provider: "muc", enabled: true }];
    assert.ok(!expectedDiscoFeatures(mam, "host").allowed.has("urn:xmpp:sid:0"), "muc's XEP-0359 is not the host's");
    const ext = [{ spec: { xep: 215, status: "complete" }, provider: "external-services", enabled: true }];
    const { allowed, required } = expectedDiscoFeatures(ext, "host");
    assert.ok(
      allowed.has("urn:xmpp:extdisco:2") && !required.has("urn:xmpp:extdisco:2"),
      "conditional: allowed, not required",
    );
    const off = [{ spec: { xep: 199, status: "complete" }, provider: "ping", enabled: false }];
    assert.equal(expectedDiscoFeatures(off, "host").allowed.size, 0);
  });

  it("docs/compliance.md is the generator's output for the default config (npm run compliance-doc)", () => {
    const committed = readFileSync(new URL("../../docs/compliance.md", import.meta.url), "utf8");
    assert.equal(
      committed,
      renderMarkdown(reportForConfig(defaults())),
      "run `npm run compliance-doc` and commit docs/compliance.md",
    );
  });
});
