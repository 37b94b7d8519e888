// Federation with Prosody (Debian's 0.12) on loopback: messages and subscriptions both ways, once with
// dialback (neither side trusts the other's certificate, s2s.secure off) and once with SASL EXTERNAL (both
// trust one test CA, s2s.secure on, Prosody's s2s_secure_auth on). Prosody finds Natter through the
// test-only plugin in test/interop/prosody (no DNS); Natter finds Prosody through s2s.resolve.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { createTestCa, issueCertificate } from "../helpers/test-ca.js";
import { freePort, startTestServer, type TestServer } from "../helpers/test-server.js";
import { waitForPort } from "../helpers/wait-for-port.js";
import { type ConnectedClient, connect, xml } from "../helpers/xmpp-client.js";

const PROSODY = "/usr/bin/prosody";
const PLUGINS = resolve(fileURLToPath(new URL("../interop/prosody", import.meta.url)));
const skip = !existsSync(PROSODY) && !process.env.CI ? "prosody is not installed (CI installs it)" : false;

interface Prosody {
  c2sPort: number;
  s2sPort: number;
  dir: string;
  logFile: string;
  stop(): Promise<void>;
}

async function startProsody(opts: {
  domain: string;
  natterDomain: string;
  natterS2sPort: number;
  s2sPort: number;
  cert: string;
  key: string;
  cafile?: string;
  secureAuth: boolean;
  users: Record<string, string>;
}): Promise<Prosody> {
  const dir = mkdtempSync(join(tmpdir(), "natter-prosody-"));
  const data = join(dir, "data");
  const c2sPort = await freePort();
  // internal_plain account files (data/<host>/accounts/<user>.dat), as prosodyctl would write them.
  const accounts = join(
    data,
    opts.domain.replace(/[^A-Za-z0-9]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, "0")}`),
    "accounts",
  );
  mkdirSync(accounts, { recursive: true });
  for (const [user, password] of Object.entries(opts.users))
    writeFileSync(join(accounts, `${user}.dat`), `return {\n\t["password"] = ${JSON.stringify(password)};\n};\n`);
  const logFile = join(dir, "prosody.log");
  const ssl = `{ certificate = ${JSON.stringify(opts.cert)}; key = ${JSON.stringify(opts.key)};${opts.cafile ? ` cafile = ${JSON.stringify(opts.cafile)};` : ""} }`;
  const config = join(dir, "prosody.cfg.lua");
  writeFileSync(
    config,
    `-- Written by test/e2e/s2s-prosody.test.ts
run_as_root = true
pidfile = ${JSON.stringify(join(dir, "prosody.pid"))}
data_path = ${JSON.stringify(data)}
plugin_paths = { ${JSON.stringify(PLUGINS)} }
log = { { levels = { min = "debug" }, to = "file", filename = ${JSON.stringify(logFile)} } }
interfaces = { "127.0.0.1" }
c2s_ports = { ${c2sPort} }
s2s_ports = { ${opts.s2sPort} }
c2s_direct_tls_ports = {}
s2s_direct_tls_ports = {}
legacy_ssl_ports = {}
component_ports = {}
http_ports = {}
https_ports = {}
modules_enabled = { "roster", "saslauth", "tls", "dialback", "disco", "ping", "s2s_test_targets" }
modules_disabled = { "posix" }
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
s2s_require_encryption = true
s2s_secure_auth = ${opts.secureAuth}
authentication = "internal_plain"
storage = "internal"
ssl = ${ssl}
s2s_test_targets = { [${JSON.stringify(opts.natterDomain)}] = { "127.0.0.1", ${opts.natterS2sPort} } }
VirtualHost ${JSON.stringify(opts.domain)}
  ssl = ${ssl}
`,
  );
  const child = spawn(PROSODY, ["--config", config, "-F"], { cwd: dir, stdio: "ignore" });
  await waitForPort(c2sPort, child, { name: "prosody", logFile: logFile });
  return {
    c2sPort,
    s2sPort: opts.s2sPort,
    dir,
    logFile,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        const t = setTimeout(() => child.kill("SIGKILL"), 5000);
        await exited;
        clearTimeout(t);
      }
      if (!process.env.NATTER_KEEP_PROSODY) rmSync(dir, { recursive: true, force: true });
    },
  };
}

const isChat = (body: string) => (s: { name: string; getChildText(n: string): string | null }) =>
  s.name === "message" && s.getChildText("body") === body;

for (const mode of ["dialback", "SASL EXTERNAL"] as const) {
  describe(`federation with Prosody: ${mode}`, { skip }, () => {
    let natter: TestServer;
    let prosody: Prosody;
    let alice: ConnectedClient;
    let bob: ConnectedClient;
    let dir: string;

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), "natter-prosody-certs-"));
      const ca = await createTestCa();
      // For dialback neither side gets the CA: each sees the other's certificate as untrusted.
      const write = (name: string, text: string) => (writeFileSync(join(dir, name), text), join(dir, name));
      const nCert = await issueCertificate(ca, ["natter.test"]);
      const pCert = await issueCertificate(ca, ["prosody.test"]);
      const caFile = write("ca.pem", ca.cert);
      const [natterS2s, prosodyS2s] = [await freePort(), await freePort()];
      const external = mode === "SASL EXTERNAL";
      natter = await startTestServer({
        domain: "natter.test",
        s2sPort: natterS2s,
        yaml: `tls:\n  certificates:\n    - { cert: ${JSON.stringify(write("n.crt", nCert.chain))}, key: ${JSON.stringify(write("n.key", nCert.key))} }`,
        s2s: [
          `secure: ${external}`,
          "trust:",
          "  system_cas: false",
          `  ca_files: [${external ? JSON.stringify(caFile) : ""}]`,
          "resolve:",
          `  prosody.test: "127.0.0.1:${prosodyS2s}"`,
        ],
      });
      prosody = await startProsody({
        domain: "prosody.test",
        natterDomain: "natter.test",
        natterS2sPort: natterS2s,
        s2sPort: prosodyS2s,
        cert: write("p.crt", pCert.cert),
        key: write("p.key", pCert.key),
        ...(external ? { cafile: caFile } : {}),
        secureAuth: external,
        users: { bob: "pw-bob" },
      });
      await natter.addUser("alice", "pw-alice");
      alice = await connect(natter, "alice", "pw-alice", { resource: "n" });
      bob = await connect({ ...natter, domain: "prosody.test", port: prosody.c2sPort }, "bob", "pw-bob", {
        resource: "p",
      });
      await alice.xmpp.send(xml("presence"));
      await bob.xmpp.send(xml("presence"));
    });

    after(async () => {
      await alice?.stop();
      await bob?.stop();
      await natter?.stop();
      await prosody?.stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it("exchanges messages both ways", async () => {
      await alice.xmpp.send(xml("message", { to: "bob@prosody.test", type: "chat" }, xml("body", {}, "hello prosody")));
      const m = await bob.waitFor(isChat("hello prosody"), 15_000);
      assert.equal(m.attrs.from, "alice@natter.test/n");
      await bob.xmpp.send(xml("message", { to: "alice@natter.test", type: "chat" }, xml("body", {}, "hello natter")));
      const back = await alice.waitFor(isChat("hello natter"), 15_000);
      assert.equal(back.attrs.from, "bob@prosody.test/p");
      const expected = mode === "dialback" ? /^dialback/ : /^SASL EXTERNAL$/;
      assert.ok(
        natter.logs.some((l) => l.msg === "s2s outbound stream authenticated" && expected.test(String(l.how))),
        "outbound authenticated as expected",
      );
      assert.ok(
        natter.logs.some(
          (l) =>
            l.msg === "s2s inbound stream authenticated" &&
            l.peer === "prosody.test" &&
            (mode === "dialback" ? String(l.how) === "dialback" : String(l.how) !== "dialback"),
        ),
        "inbound authenticated as expected",
      );
    });

    it("subscribes both ways to 'both' with presence", async () => {
      const rosterOf = async (c: ConnectedClient, contact: string) => {
        const res = await c.xmpp.iqCaller.request(
          xml("iq", { type: "get" }, xml("query", { xmlns: "jabber:iq:roster" })),
        );
        return res
          .getChild("query")
          ?.getChildren("item")
          .find((i) => i.attrs.jid === contact)?.attrs.subscription;
      };
      await alice.xmpp.send(xml("presence", { to: "bob@prosody.test", type: "subscribe" }));
      await bob.waitFor(
        (s) => s.name === "presence" && s.attrs.type === "subscribe" && s.attrs.from === "alice@natter.test",
        15_000,
      );
      await bob.xmpp.send(xml("presence", { to: "alice@natter.test", type: "subscribed" }));
      await alice.waitFor(
        (s) => s.name === "presence" && s.attrs.type === undefined && s.attrs.from === "bob@prosody.test/p",
        15_000,
      );
      await bob.xmpp.send(xml("presence", { to: "alice@natter.test", type: "subscribe" }));
      await alice.waitFor(
        (s) => s.name === "presence" && s.attrs.type === "subscribe" && s.attrs.from === "bob@prosody.test",
        15_000,
      );
      await alice.xmpp.send(xml("presence", { to: "bob@prosody.test", type: "subscribed" }));
      await bob.waitFor(
        (s) => s.name === "presence" && s.attrs.type === undefined && s.attrs.from === "alice@natter.test/n",
        15_000,
      );
      const until = Date.now() + 10_000;
      while (
        Date.now() < until &&
        ((await rosterOf(alice, "bob@prosody.test")) !== "both" ||
          (await rosterOf(bob, "alice@natter.test")) !== "both")
      )
        await new Promise((r) => setTimeout(r, 200));
      assert.equal(await rosterOf(alice, "bob@prosody.test"), "both");
      assert.equal(await rosterOf(bob, "alice@natter.test"), "both");
    });
  });
}
