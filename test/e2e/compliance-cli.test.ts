// `natter compliance` as an operator runs it: the built-in defaults meet every level, a config that turns
// listeners off is told which rows fail and which key to change, a bad config is refused, and --markdown
// prints exactly the committed docs/compliance.md.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { runNatter } from "../helpers/natter-process.js";

describe("natter compliance", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "natter-compliance-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("with the defaults: every suite's Server and Advanced Server level met, each row with its provider", () => {
    const r = runNatter(["compliance"]);
    assert.equal(r.code, 0, r.err);
    for (const suite of ["Core", "Web", "IM", "Mobile", "A/V Calling"]) {
      assert.match(r.out, new RegExp(`^${suite} Server: met$`, "m"));
      // No known gap (see src/compliance/compliance-report.test.ts).
      assert.match(r.out, new RegExp(`^${suite} Advanced Server: met$`, "m"));
    }
    assert.match(r.out, /^Outbound Message Synchronization .*XEP-0280: complete 1\.0\.1 by carbons$/m);
    assert.match(r.out, /^Stream Management .*XEP-0198: complete 1\.6\.3 by stream\/stream-management$/m);
  });

  it("with -c: rows the file turns off, and the keys that turn them on", () => {
    const cfg = join(dir, "natter.yaml");
    writeFileSync(
      cfg,
      [
        "listeners: { c2s_direct_tls: { enabled: false }, http: { enabled: false }, https: { enabled: false } }",
        "modules: { push: false }",
      ].join("\n"),
    );
    const r = runNatter(["-c", cfg, "compliance"]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^Core Server: met$/m);
    assert.match(
      r.out,
      /^Core Advanced Server: not met: .*turned off in this configuration: Direct TLS \(XEP-0368\) \[listeners\.c2s_direct_tls\.enabled\]$/m,
    );
    assert.match(
      r.out,
      /^Web Server: not met: turned off in this configuration: Web Connection Mechanisms \(RFC 7395, XEP-0206\) \[websocket\.enabled, bosh\.enabled\]$/m,
    );
    assert.match(r.out, /^Mobile Server: met$/m);
    assert.match(
      r.out,
      /^Mobile Advanced Server: not met: .*Third Party Push Notifications \(XEP-0357\) \[modules\.push\]/m,
    );
    assert.match(r.out, /^Third Party Push Notifications .*implemented, off .*by push \(off\)$/m);
  });

  it("refuses a config with a bad module option, naming the line", () => {
    const cfg = join(dir, "bad.yaml");
    writeFileSync(cfg, "modules:\n  contact-addresses:\n    abuse: [42]\n");
    const r = runNatter(["-c", cfg, "compliance"]);
    assert.equal(r.code, 2);
    assert.match(r.err, /bad\.yaml:3/);
  });

  it("--markdown prints docs/compliance.md", () => {
    const r = runNatter(["compliance", "--markdown"]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, readFileSync(new URL("../../docs/compliance.md", import.meta.url), "utf8"));
  });
});
