import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { type AddressInfo, createServer as createTcpServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { connect, createServer, type PeerCertificate, TLSSocket } from "node:tls";
import { createTestCa, issueCertificate } from "../../../test/helpers/test-ca.js";
import { CertificateError, CertificateStore, matchesName } from "./certificates.js";
import { ensureSelfSignedCertificate } from "./self-signed.js";

/** Connects to 127.0.0.1:port asking for `servername`; resolves with the certificate the server presented. */
function presentedCertificate(port: number, servername: string, ca: string[]): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, servername, ca }, () => {
      resolve(socket.getPeerCertificate());
      socket.end();
    });
    socket.on("error", reject);
  });
}

describe("CertificateStore", () => {
  const dir = mkdtempSync(join(tmpdir(), "natter-certificates-"));
  let store: CertificateStore;
  let selfSignedPem: string;
  let caPem: string;
  const logs: string[] = [];

  before(async () => {
    // A configured certificate for other.test, and hosts it does not cover → self-signed fallback for those.
    const ca = await createTestCa();
    caPem = ca.cert;
    const issued = await issueCertificate(ca, ["other.test"]);
    writeFileSync(join(dir, "other.crt"), issued.chain);
    writeFileSync(join(dir, "other.key"), issued.key, { mode: 0o600 });
    store = await CertificateStore.fromConfig(
      {
        hosts: ["localhost", "example.org", "other.test"],
        data_dir: dir,
        tls: { certificates: [{ cert: join(dir, "other.crt"), key: join(dir, "other.key") }] },
      },
      (m) => logs.push(m),
    );
    const selfSigned = await ensureSelfSignedCertificate(dir, ["localhost", "example.org"]);
    selfSignedPem = readFileSync(selfSigned.cert, "utf8");
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("adds a self-signed certificate only for the hosts no configured one covers", () => {
    assert.equal(store.certificates.length, 2);
    assert.deepEqual(store.certificates[0]!.names, ["other.test", "*.other.test"]);
    assert.deepEqual(store.certificates[1]!.names, ["localhost", "*.localhost", "example.org", "*.example.org"]);
    assert.match(logs[0]!, /no configured certificate covers localhost, example.org/);
    assert.match(logs[1]!, /^generated self-signed certificate for localhost, example.org at /);
  });

  it("presents the certificate named by SNI over a real TLS handshake (tls.Server)", async () => {
    const server = createServer(store.tlsServerOptions(), (socket) => socket.end());
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const trusted = [selfSignedPem, caPem];
      const forExample = await presentedCertificate(port, "example.org", trusted);
      assert.equal(forExample.subject.CN, "localhost");
      assert.match(forExample.subjectaltname ?? "", /DNS:example\.org/);
      const forSubdomain = await presentedCertificate(port, "conference.example.org", trusted);
      assert.equal(forSubdomain.fingerprint256, forExample.fingerprint256);
      const forOther = await presentedCertificate(port, "other.test", trusted);
      assert.equal(forOther.subject.CN, "other.test");
      assert.equal(store.certificateDer("other.test").equals(forOther.raw), true);
      assert.equal(store.certificateDer("example.org").equals(forExample.raw), true);
    } finally {
      server.close();
    }
  });

  it("selects by SNI after STARTTLS, when a plain socket is upgraded with new TLSSocket", async () => {
    const server = createTcpServer((plain) => {
      const secure = new TLSSocket(plain, {
        isServer: true,
        secureContext: store.defaultContext,
        SNICallback: store.SNICallback,
      });
      secure.on("secure", () => secure.end());
      secure.on("error", () => {});
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const presented = await presentedCertificate(port, "localhost", [selfSignedPem]);
      assert.equal(presented.subject.CN, "localhost");
    } finally {
      server.close();
    }
  });

  it("falls back to the first certificate for an unknown or absent name", () => {
    assert.equal(store.secureContextFor("unknown.example"), store.defaultContext);
    assert.equal(store.certificateFor("").files.cert, join(dir, "other.crt"));
    assert.equal(store.certificateFor("EXAMPLE.ORG.").names[0], "localhost");
  });

  it("names the file when a certificate or key cannot be used", async () => {
    assert.throws(() => CertificateStore.fromFiles([{ cert: join(dir, "missing.crt"), key: join(dir, "other.key") }]), {
      name: "CertificateError",
      message: `${join(dir, "missing.crt")}: cannot read the TLS certificate: file not found`,
    });
    writeFileSync(join(dir, "garbage.crt"), "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
    assert.throws(
      () => CertificateStore.fromFiles([{ cert: join(dir, "garbage.crt"), key: join(dir, "other.key") }]),
      (error: unknown) =>
        error instanceof CertificateError &&
        error.message.startsWith(`${join(dir, "garbage.crt")}: not a PEM certificate`),
    );
    const selfSigned = await ensureSelfSignedCertificate(dir, ["localhost", "example.org"]);
    assert.throws(() => CertificateStore.fromFiles([{ cert: selfSigned.cert, key: join(dir, "other.key") }]), {
      message: `${join(dir, "other.key")}: this key does not belong to the certificate ${selfSigned.cert}`,
    });
  });

  it("matches wildcards only over one whole left-most label (RFC 6125 §6.4.3)", () => {
    const names = ["example.org", "*.example.org"];
    assert.equal(matchesName(names, "muc.example.org"), true);
    assert.equal(matchesName(names, "Example.Org."), true);
    assert.equal(matchesName(names, "a.b.example.org"), false);
    assert.equal(matchesName(names, "example.com"), false);
    assert.equal(matchesName(["*.localhost"], "conference.localhost"), true);
  });
});
