import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { ensureSelfSignedCertificate } from "./self-signed.js";

describe("ensureSelfSignedCertificate", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "natter-self-signed-"));
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it("writes a certificate naming every host and its subdomains, with a private key file", async () => {
    const logs: string[] = [];
    const files = await ensureSelfSignedCertificate(dataDir, ["localhost", "example.org"], (m) => logs.push(m));
    assert.equal(files.cert, join(dataDir, "certs", "self-signed.crt"));
    assert.equal(files.key, join(dataDir, "certs", "self-signed.key"));
    const certificate = new X509Certificate(readFileSync(files.cert));
    assert.equal(certificate.subjectAltName, "DNS:localhost, DNS:*.localhost, DNS:example.org, DNS:*.example.org");
    assert.equal(certificate.checkHost("conference.example.org"), "*.example.org");
    assert.equal(statSync(files.key).mode & 0o777, 0o600);
    assert.deepEqual(logs, [`generated self-signed certificate for localhost, example.org at ${files.cert}`]);
  });

  it("reuses the files on a later start while they cover the hosts", async () => {
    const before = readFileSync(join(dataDir, "certs", "self-signed.crt"), "utf8");
    const logs: string[] = [];
    await ensureSelfSignedCertificate(dataDir, ["example.org"], (m) => logs.push(m));
    assert.deepEqual(logs, []);
    assert.equal(readFileSync(join(dataDir, "certs", "self-signed.crt"), "utf8"), before);
  });

  it("makes a new one when a host is added", async () => {
    const logs: string[] = [];
    const files = await ensureSelfSignedCertificate(dataDir, ["localhost", "example.org", "127.0.0.1"], (m) =>
      logs.push(m),
    );
    assert.equal(logs.length, 1);
    const certificate = new X509Certificate(readFileSync(files.cert));
    assert.match(certificate.subjectAltName ?? "", /IP Address:127\.0\.0\.1$/);
  });

  it("makes a new one when the files are damaged or the key does not match", async () => {
    const files = await ensureSelfSignedCertificate(dataDir, ["localhost"]);
    writeFileSync(files.cert, "not a certificate");
    const logs: string[] = [];
    await ensureSelfSignedCertificate(dataDir, ["localhost"], (m) => logs.push(m));
    assert.equal(logs.length, 1);
    const other = mkdtempSync(join(tmpdir(), "natter-self-signed-other-"));
    try {
      const otherFiles = await ensureSelfSignedCertificate(other, ["localhost"]);
      writeFileSync(files.key, readFileSync(otherFiles.key));
      const again: string[] = [];
      await ensureSelfSignedCertificate(dataDir, ["localhost"], (m) => again.push(m));
      assert.equal(again.length, 1);
      assert.equal(statSync(files.key).mode & 0o777, 0o600);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });
});
