// LDAP over TLS against a real slapd with a certificate from a throwaway CA: StartTLS and the certificate check
// (RFC 4513 §3.1.3). With the CA in ca_file the directory answers; with another CA, or a name the certificate
// does not carry, nothing is sent and the check is "backend unavailable", never a success.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { LdapBackend, type LdapBackendOptions } from "../../src/auth/ldap-backend.js";
import { BASE_DN, type Slapd, startSlapd } from "../helpers/slapd.js";
import { createTestCa, issueCertificate } from "../helpers/test-ca.js";

describe("LDAP with StartTLS (real slapd)", () => {
  let slapd: Slapd;
  let dir: string;
  let options: LdapBackendOptions;
  const backends: LdapBackend[] = [];
  const backend = (changes: Partial<LdapBackendOptions>) => {
    const b = new LdapBackend({ ...options, ...changes });
    backends.push(b);
    return b;
  };

  before(async () => {
    const ca = await createTestCa();
    const leaf = await issueCertificate(ca, ["127.0.0.1"]);
    slapd = await startSlapd({
      users: [{ uid: "alice", password: "alice-dir-pw" }],
      tls: { cert: leaf.chain, key: leaf.key },
    });
    dir = mkdtempSync(join(tmpdir(), "natter-ldap-tls-"));
    writeFileSync(join(dir, "ca.pem"), ca.cert);
    writeFileSync(join(dir, "other-ca.pem"), (await createTestCa("Someone Else")).cert);
    options = {
      url: slapd.url,
      startTls: true,
      caFile: join(dir, "ca.pem"),
      tlsVerify: true,
      connectTimeoutMs: 2000,
      timeoutMs: 2000,
      userDnTemplate: "",
      bindDn: slapd.serviceDn,
      bindPassword: slapd.servicePassword,
      base: `ou=people,${BASE_DN}`,
      filter: "(uid=%u)",
      userAttribute: "uid",
      adminGroup: "",
      groupMemberAttribute: "member",
      poolSize: 1,
      maxBinds: 2,
      maxQueue: 10,
    };
  });

  after(async () => {
    for (const b of backends) await b.close();
    await slapd?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("checks passwords over StartTLS with the directory's CA", async () => {
    const b = backend({});
    assert.equal(await b.verify("example.org", "alice", "alice-dir-pw"), true);
    assert.equal(await b.verify("example.org", "alice", "wrong"), false);
    assert.equal(await b.exists("example.org", "nobody"), false);
    assert.deepEqual(await b.list("example.org"), ["alice"]);
  });

  it("refuses a certificate from another CA: the backend is unavailable, no password is checked", async () => {
    const b = backend({ caFile: join(dir, "other-ca.pem") });
    await assert.rejects(b.verify("example.org", "alice", "alice-dir-pw"), /certificate/i);
  });

  it("refuses a certificate for another name", async () => {
    const b = backend({ url: `ldap://localhost:${slapd.port}` });
    await assert.rejects(b.verify("example.org", "alice", "alice-dir-pw"), /altnames/);
  });
});
