// When a certificate on disk must be renewed (the rule the daily check applies), with real certificates.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { createTestCa, issueCertificate } from "../../../test/helpers/test-ca.js";
import { renewalReason } from "./acme-manager.js";

const DAY_MS = 24 * 60 * 60 * 1000;

describe("renewalReason", () => {
  const dir = mkdtempSync(join(tmpdir(), "natter-acme-unit-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  let n = 0;
  async function files(names: string[], days: { before: number; after: number }, otherKey = false) {
    const ca = await createTestCa();
    const now = Date.now();
    const issued = await issueCertificate(ca, names, {
      notBefore: new Date(now - days.before * DAY_MS),
      notAfter: new Date(now + days.after * DAY_MS),
    });
    const key = otherKey ? (await issueCertificate(ca, names)).key : issued.key;
    const paths = { cert: join(dir, `${++n}.crt`), key: join(dir, `${n}.key`) };
    writeFileSync(paths.cert, issued.chain);
    writeFileSync(paths.key, key);
    return paths;
  }

  it("asks for one when there is none", () => {
    assert.equal(
      renewalReason({ cert: join(dir, "none.crt"), key: join(dir, "none.key") }, ["example.org"], 30),
      "there is no certificate yet",
    );
  });

  it("keeps a certificate with most of its life left that names every domain", async () => {
    assert.equal(
      renewalReason(
        await files(["example.org"], { before: 10, after: 80 }),
        ["example.org", "conference.example.org"],
        30,
      ),
      undefined,
    );
  });

  it("renews when fewer than renew_before_days remain", async () => {
    assert.match(
      renewalReason(await files(["example.org"], { before: 60, after: 29 }), ["example.org"], 30) ?? "",
      /expires on/,
    );
  });

  it("renews when less than a third of the lifetime remains, even before renew_before_days", async () => {
    // 9 days left of 30: under a third (10 days), above renew_before_days 5.
    assert.match(
      renewalReason(await files(["example.org"], { before: 21, after: 9 }), ["example.org"], 5) ?? "",
      /expires on/,
    );
    assert.equal(renewalReason(await files(["example.org"], { before: 19, after: 11 }), ["example.org"], 5), undefined);
  });

  it("renews when a served domain is not named (a host was added) or the key does not match", async () => {
    assert.equal(
      renewalReason(await files(["example.org"], { before: 1, after: 80 }), ["example.org", "example.net"], 30),
      "it does not name example.net",
    );
    assert.equal(
      renewalReason(await files(["example.org"], { before: 1, after: 80 }, true), ["example.org"], 30),
      "its key does not match",
    );
  });
});
