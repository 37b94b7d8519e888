// Debian's pebble (a test ACME CA, RFC 8555) with pebble-challtestsrv as its DNS, started by a test on free
// loopback ports with their own config: every name resolves to 127.0.0.1, and HTTP-01 validation connects to
// `httpPort` (Natter's HTTP listener), so a challenge is really fetched from Natter.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTestCa, issueCertificate } from "./test-ca.js";
import { freePort } from "./test-server.js";

export interface Pebble {
  /** The ACME directory URL. */
  directoryUrl: string;
  /** PEM of the CA that signed pebble's own HTTPS certificate: tls.acme.ca_file. */
  caFile: string;
  /** Starts pebble (and its DNS) validating HTTP-01 on `httpPort`; resolves once it accepts requests. */
  start(httpPort: number): Promise<void>;
  /** PEM of the root / intermediate pebble issues under (they change at each start). */
  root(): Promise<string>;
  intermediate(): Promise<string>;
  stop(): Promise<void>;
}

/** Ports are chosen now, so the directory URL can go in a config before pebble runs (a CA that is down). */
export async function preparePebble(options: { validitySeconds?: number } = {}): Promise<Pebble> {
  const dir = mkdtempSync(join(tmpdir(), "natter-pebble-"));
  const ca = await createTestCa("Pebble HTTPS test CA");
  const leaf = await issueCertificate(ca, ["127.0.0.1", "localhost"]);
  const caFile = join(dir, "ca.pem");
  writeFileSync(caFile, ca.cert);
  writeFileSync(join(dir, "cert.pem"), leaf.chain);
  writeFileSync(join(dir, "key.pem"), leaf.key);
  const [acmePort, managementPort, dnsPort, dnsManagementPort] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  const children: ChildProcess[] = [];
  const management = (path: string) => fetchText(`https://127.0.0.1:${managementPort}${path}`, ca.cert);
  return {
    directoryUrl: `https://127.0.0.1:${acmePort}/dir`,
    caFile,
    async start(httpPort) {
      const config = {
        pebble: {
          listenAddress: `127.0.0.1:${acmePort}`,
          managementListenAddress: `127.0.0.1:${managementPort}`,
          certificate: join(dir, "cert.pem"),
          privateKey: join(dir, "key.pem"),
          httpPort,
          tlsPort: 0,
          ocspResponderURL: "",
          externalAccountBindingRequired: false,
          ...(options.validitySeconds ? { certificateValidityPeriod: options.validitySeconds } : {}),
        },
      };
      writeFileSync(join(dir, "pebble.json"), JSON.stringify(config));
      children.push(
        spawn(
          "/usr/bin/pebble-challtestsrv",
          [
            "-dns01",
            `127.0.0.1:${dnsPort}`,
            "-http01",
            "",
            "-https01",
            "",
            "-tlsalpn01",
            "",
            "-management",
            `127.0.0.1:${dnsManagementPort}`,
            "-defaultIPv4",
            "127.0.0.1",
            "-defaultIPv6",
            "",
          ],
          { stdio: ["ignore", "pipe", "pipe"] },
        ),
      );
      children.push(
        spawn("/usr/bin/pebble", ["-config", join(dir, "pebble.json"), "-dnsserver", `127.0.0.1:${dnsPort}`], {
          stdio: ["ignore", "pipe", "pipe"],
          // PEBBLE_VA_NOSLEEP: validate at once; validation itself stays real (no PEBBLE_VA_ALWAYS_VALID).
          env: { ...process.env, PEBBLE_VA_NOSLEEP: "1", PEBBLE_WFE_NONCEREJECT: "0", PEBBLE_AUTHZREUSE: "0" },
        }),
      );
      for (const child of children) {
        child.stdout?.on("data", (d: Buffer) => process.env.NATTER_TEST_LOG && process.stderr.write(d));
        child.stderr?.on("data", (d: Buffer) => process.env.NATTER_TEST_LOG && process.stderr.write(d));
      }
      const deadline = Date.now() + 15_000;
      for (;;) {
        try {
          await fetchText(`https://127.0.0.1:${acmePort}/dir`, ca.cert);
          return;
        } catch (err) {
          if (Date.now() > deadline) throw err;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    },
    root: () => management("/roots/0"),
    intermediate: () => management("/intermediates/0"),
    async stop() {
      for (const child of children) {
        if (child.exitCode === null) {
          const exited = new Promise((r) => child.once("exit", r));
          child.kill();
          await exited;
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function fetchText(url: string, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, rejectUnauthorized: true }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () =>
        res.statusCode === 200 ? resolve(body) : reject(new Error(`${url}: HTTP ${res.statusCode}`)),
      );
    });
    req.on("error", reject);
    req.end();
  });
}
