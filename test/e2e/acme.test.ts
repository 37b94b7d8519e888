// ACME (RFC 8555) against Debian's pebble, validation for real: pebble resolves every name to 127.0.0.1 and
// fetches the HTTP-01 answer from Natter's HTTP listener. Natter starts while the CA is down (self-signed,
// failure logged, retried), gets its certificate once the CA is up, renews it while an @xmpp/client session
// stays connected, and serves the new one to new connections. `natter cert status` and /metrics say so.
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { connect as tlsConnect } from "node:tls";
import { runNatter, runNatterAsync } from "../helpers/natter-process.js";
import { type Pebble, preparePebble } from "../helpers/pebble.js";
import { rawHttp } from "../helpers/raw-http.js";
import { createTestCa, issueCertificate } from "../helpers/test-ca.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { type ConnectedClient, connect, xml } from "../helpers/xmpp-client.js";

const DOMAIN = "chat.acme.test";

async function waitForLog(
  ts: TestServer,
  pattern: RegExp,
  from = 0,
  timeoutMs = 30_000,
): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = ts.logs.slice(from).find((l) => pattern.test(String(l.msg)));
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no log line ${pattern}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The leaf certificate a new direct-TLS connection asking for `servername` gets, verified against `ca`. */
async function presented(
  ts: TestServer,
  servername: string,
  ca: string,
): Promise<{ cert: X509Certificate; authorized: boolean; error?: string }> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect(
      {
        host: "127.0.0.1",
        port: ts.tlsPort,
        servername,
        ca,
        rejectUnauthorized: false,
        ALPNProtocols: ["xmpp-client"],
      },
      () => {
        const cert = socket.getPeerX509Certificate();
        socket.destroy();
        if (!cert) return reject(new Error("no certificate"));
        resolve({
          cert,
          authorized: socket.authorized,
          ...(socket.authorizationError ? { error: String(socket.authorizationError) } : {}),
        });
      },
    );
    socket.on("error", reject);
  });
}

describe("ACME certificates (pebble)", () => {
  let pebble: Pebble;
  let ts: TestServer;
  let alice: ConnectedClient;

  before(async () => {
    // A one-hour lifetime: with renew_before_days 1 every check finds it due, and it is "expiring" (< 14 days).
    pebble = await preparePebble({ validitySeconds: 3600 });
    ts = await startTestServer({
      domain: DOMAIN,
      yaml: [
        "modules: { muc: false }",
        "tls:",
        "  acme:",
        "    enabled: true",
        "    agree_tos: true",
        "    email: admin@acme.test",
        `    directory_url: ${pebble.directoryUrl}`,
        `    ca_file: ${JSON.stringify(pebble.caFile)}`,
        "    renew_before_days: 1",
        "    retry_after: 1",
      ].join("\n"),
    });
    await ts.addUser("alice", "alice-pw");
  });

  after(async () => {
    await alice?.stop();
    await ts?.stop();
    await pebble?.stop();
  });

  it("starts with the self-signed certificate while the CA is down, logs why, and retries", async () => {
    const failure = await waitForLog(ts, /ACME: could not obtain a certificate/);
    assert.match(String(failure.error), /ECONNREFUSED|connect/i);
    assert.equal(failure.retry_in_seconds, 1);
    const { cert } = await presented(ts, DOMAIN, "");
    assert.match(cert.issuer, /Natter self-signed/);
    // The server serves clients meanwhile.
    alice = await connect(ts, "alice", "alice-pw", { resource: "kept" });
  });

  it("obtains a certificate from the CA once it is up, validated over Natter's HTTP listener", async () => {
    const from = ts.logs.length;
    await pebble.start(ts.httpPort as number);
    await waitForLog(ts, /ACME: new certificate obtained/, from);
    await waitForLog(ts, /new certificates serve new connections/, from);
    const root = await pebble.root();
    const intermediate = new X509Certificate(await pebble.intermediate());
    const got = await presented(ts, DOMAIN, root);
    assert.equal(got.authorized, true, got.error);
    assert.equal(got.cert.issuer, intermediate.subject);
    assert.ok(got.cert.checkHost(DOMAIN));
    for (const file of ["account.key", "certificate.key", "certificate.crt"]) {
      assert.equal(statSync(join(ts.dataDir, "acme", file)).mode & 0o777, 0o600, file);
    }
  });

  it("renews without dropping the session; new connections get the new certificate", async () => {
    const root = await pebble.root();
    const before = (await presented(ts, DOMAIN, root)).cert;
    const acme = ts.server.certificates?.acme;
    assert.ok(acme);
    assert.equal(await acme.check(), true, "a one-hour certificate is due for renewal with renew_before_days 1");
    const after = await presented(ts, DOMAIN, root);
    assert.equal(after.authorized, true, after.error);
    assert.notEqual(after.cert.serialNumber, before.serialNumber);
    // The session opened before both certificates answers still: a ping to its own server.
    const reply = alice.waitFor((s) => s.is("iq") && s.attrs.id === "after-renewal");
    await alice.xmpp.send(
      xml("iq", { type: "get", id: "after-renewal", to: DOMAIN }, xml("ping", { xmlns: "urn:xmpp:ping" })),
    );
    assert.equal((await reply).attrs.type, "result");
    // A new STARTTLS session logs in on the new certificate.
    const bob = await connect(ts, "alice", "alice-pw", { resource: "new" });
    await bob.stop();
  });

  it("natter cert renew asks the running server for a new certificate, served to new connections", async () => {
    const root = await pebble.root();
    const before = (await presented(ts, DOMAIN, root)).cert;
    const r = await runNatterAsync(["-c", ts.configPath, "cert", "renew"]);
    assert.equal(r.code, 0, r.err);
    const after = (await presented(ts, DOMAIN, root)).cert;
    assert.notEqual(after.serialNumber, before.serialNumber);
    assert.match(
      r.out,
      new RegExp(`new certificate for .*${DOMAIN.replace(/\./g, "\\.")}.*serial ${after.serialNumber}`),
    );
    const reply = alice.waitFor((s) => s.is("iq") && s.attrs.id === "after-cli-renewal");
    await alice.xmpp.send(
      xml("iq", { type: "get", id: "after-cli-renewal", to: DOMAIN }, xml("ping", { xmlns: "urn:xmpp:ping" })),
    );
    assert.equal((await reply).attrs.type, "result");
  });

  it("answers 404 for a challenge token it did not issue, and for a malformed one", async () => {
    for (const path of [
      "/.well-known/acme-challenge/unknown-token",
      "/.well-known/acme-challenge/a%2Fb",
      "/.well-known/acme-challenge/",
    ]) {
      const res = await rawHttp({ port: ts.httpPort as number, path });
      assert.equal(res.status, 404, path);
    }
  });

  it("warns in the log that the one-hour certificate expires soon", async () => {
    const warning = ts.logs.find(
      (l) => l.level === 40 && l.domain === DOMAIN && /expires in 0 days/.test(String(l.msg)),
    );
    assert.ok(warning, "an expiry warning for the domain");
  });

  it("natter cert status names the domain, the ACME source, pebble's issuer and the warning", async () => {
    const intermediateCn = /CN=(.+)/.exec(new X509Certificate(await pebble.intermediate()).subject)?.[1];
    const r = runNatter(["-c", ts.configPath, "cert", "status"]);
    const line = r.out.split("\n").find((l) => l.includes(` ${DOMAIN} `));
    assert.ok(line, r.out + r.err);
    assert.match(line, /^!\s/);
    assert.match(line, / acme /);
    assert.ok(line.includes(intermediateCn as string), `${line} names ${intermediateCn}`);
    assert.match(line, /expires soon/);
    assert.equal(r.code, 1, "exit status 1 when a certificate needs attention");
    const json = JSON.parse(runNatter(["-c", ts.configPath, "cert", "status", "--json"]).out) as {
      domain: string;
      serial: string;
    }[];
    const served = (await presented(ts, DOMAIN, "")).cert.serialNumber;
    assert.equal(
      json.find((d) => d.domain === DOMAIN)?.serial,
      served,
      "the CLI reports the certificate the server presents",
    );
  });

  it("exports the expiry and validity per domain on /metrics", async () => {
    const res = (await rawHttp({ port: ts.httpPort as number, path: "/metrics" })).body;
    const served = (await presented(ts, DOMAIN, "")).cert;
    const expiry = new RegExp(
      `^natter_certificate_expiry_seconds\\{domain="${DOMAIN.replace(/\./g, "\\.")}",source="acme"\\} (\\S+)$`,
      "m",
    ).exec(res);
    assert.ok(expiry, res.slice(0, 2000));
    assert.equal(Number(expiry[1]), Date.parse(served.validTo) / 1000);
    assert.match(res, new RegExp(`^natter_certificate_valid\\{domain="${DOMAIN.replace(/\./g, "\\.")}"\\} 1$`, "m"));
  });

  it("a certificate file in tls.certificates wins over ACME for the names it covers (after a reload)", async () => {
    const ca = await createTestCa("Operator CA");
    const issued = await issueCertificate(ca, [DOMAIN]);
    writeFileSync(join(ts.dataDir, "operator.crt"), issued.chain);
    writeFileSync(join(ts.dataDir, "operator.key"), issued.key);
    const yaml = ts.configYaml.replace("tls:\n", "tls:\n  certificates: [{ cert: operator.crt, key: operator.key }]\n");
    assert.notEqual(yaml, ts.configYaml);
    writeFileSync(ts.configPath, yaml);
    const result = await ts.server.reload();
    assert.equal(result.ok, true, JSON.stringify(result));
    const got = await presented(ts, DOMAIN, ca.cert);
    assert.equal(got.authorized, true, got.error);
    const r = runNatter(["-c", ts.configPath, "cert", "status", "--json"]);
    const row = (JSON.parse(r.out) as { domain: string; source: string; acme_managed: boolean }[]).find(
      (d) => d.domain === DOMAIN,
    );
    assert.equal(row?.source, "file");
    assert.equal(row?.acme_managed, false, "ACME no longer asks for a name a file covers");
  });

  it("natter cert status works with the server stopped and says the same", async () => {
    const running = runNatter(["-c", ts.configPath, "cert", "status", "--json"]).out;
    await ts.server.stop();
    const stopped = runNatter(["-c", ts.configPath, "cert", "status", "--json"]);
    assert.ok(stopped.out.includes(DOMAIN), stopped.err);
    const strip = (text: string) =>
      (JSON.parse(text) as { daysLeft: number }[]).map(({ daysLeft: _, ...rest }) => rest);
    assert.deepEqual(strip(stopped.out), strip(running));
  });
});
