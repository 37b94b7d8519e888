// Starts a real Natter in this process on free loopback ports with a fresh data directory, for e2e tests.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { pino } from "pino";
import { parseConfig } from "../../src/core/config/index.js";
import { NatterServer } from "../../src/server.js";

// The test server's certificate is self-signed; independent clients must accept it.
process.env.NODE_TLS_REJECT_UNAUTHORIZED = "0";
process.removeAllListeners("warning");

export interface TestServer {
  server: NatterServer;
  domain: string;
  /** c2s port (STARTTLS). */
  port: number;
  /** Direct TLS port. */
  tlsPort: number;
  /** HTTP listener port (uploads …); set by startTestServer. */
  httpPort?: number;
  /** HTTPS listener port (the self-signed certificate in dataDir/certs); set by startTestServer. */
  httpsPort?: number;
  /** s2s ports when started with the `s2s` option. */
  s2sPort?: number;
  s2sTlsPort?: number;
  /** XEP-0114 component listener port; set when the config lists `components`. */
  componentPort?: number;
  dataDir: string;
  /**
   * The config file (its final text, with the bound ports, is written there after start). `server.reload()`
   * re-reads it, so a test changes the running server by writing a changed `configYaml` there.
   */
  configPath: string;
  configYaml: string;
  /** Every log line as parsed JSON. */
  logs: Record<string, unknown>[];
  addUser(user: string, password: string): Promise<void>;
  stop(): Promise<void>;
  /** Stops and starts again on the same data directory and ports. */
  restart(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      const port = typeof a === "object" && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export interface TestServerOptions {
  /** Extra YAML appended to the generated config (top-level keys not otherwise set). */
  yaml?: string;
  domain?: string;
  /** Extra hosts beside the domain. */
  hosts?: string[];
  requireEncryption?: boolean;
  /** Extra YAML lines inside the `c2s:` section, e.g. "negotiation_timeout: 1". */
  c2s?: string[];
  /** Keep the default login throttle (tests otherwise turn it off so that many logins from 127.0.0.1 pass). */
  defaultThrottle?: boolean;
  /** Extra YAML lines inside the `auth:` section, e.g. "provider: ldap" (a top-level `auth:` in `yaml` would clash). */
  auth?: string[];
  /**
   * YAML lines inside the `s2s:` section, e.g. "secure: false". Without it federation is off; with it the
   * s2s listeners (plain and direct TLS) run on free loopback ports (`s2sPort`, `s2sTlsPort`).
   */
  s2s?: string[];
  /** Fixed s2s port (e.g. from freePort()), so that two servers can name each other in `s2s.resolve` before starting. */
  s2sPort?: number;
  /** Store everything in this PostgreSQL database (test/helpers/postgres.ts) instead of SQLite in the data directory. */
  postgresUrl?: string;
}

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const domain = options.domain ?? "localhost";
  const dataDir = mkdtempSync(join(tmpdir(), "natter-test-"));
  const hosts = [domain, ...(options.hosts ?? [])];
  const makeYaml = (
    port: number,
    tlsPort: number,
    httpPort: number,
    componentPort = 0,
    s2sPorts: [number, number] = [0, 0],
    httpsPort = 0,
  ) =>
    [
      `hosts: [${hosts.map((h) => JSON.stringify(h)).join(", ")}]`,
      `data_dir: ${JSON.stringify(dataDir)}`,
      "log_level: debug",
      "listeners:",
      `  c2s: { port: ${port}, bind: ["127.0.0.1"] }`,
      `  c2s_direct_tls: { port: ${tlsPort}, bind: ["127.0.0.1"] }`,
      `  http: { port: ${httpPort}, bind: ["127.0.0.1"] }`,
      `  https: { port: ${httpsPort}, bind: ["127.0.0.1"] }`,
      `  component: { port: ${componentPort}, bind: ["127.0.0.1"] }`,
      `  s2s: { port: ${s2sPorts[0]}, bind: ["127.0.0.1"] }`,
      `  s2s_direct_tls: { port: ${s2sPorts[1]}, bind: ["127.0.0.1"] }`,
      "s2s:",
      ...(options.s2s ? options.s2s.map((line) => `  ${line}`) : ["  enabled: false"]),
      "c2s:",
      `  require_encryption: ${options.requireEncryption ?? true}`,
      ...(options.c2s ?? []).map((line) => `  ${line}`),
      ...(options.defaultThrottle && !options.auth ? [] : ["auth:"]),
      ...(options.defaultThrottle
        ? []
        : [
            "  throttle:",
            "    per_ip: { delay_after: 0, attempts: 0 }",
            "    per_ip_account: { delay_after: 0, attempts: 0 }",
            "    per_account: { delay_after: 0 }",
          ]),
      ...(options.auth ?? []).map((line) => `  ${line}`),
      ...(options.postgresUrl
        ? [
            "storage:",
            "  driver: postgres",
            `  postgres: { url: ${JSON.stringify(options.postgresUrl)}, pool_size: 4 }`,
          ]
        : []),
      options.yaml ?? "",
    ].join("\n");
  const configPath = join(dataDir, "natter.yaml");
  // Port 0: the kernel picks free ports, so parallel test files never collide.
  let config = parseConfig(makeYaml(0, 0, 0, 0, [options.s2sPort ?? 0, 0]), configPath, dataDir);
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString("utf8").split("\n"))
        if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      if (process.env.NATTER_TEST_LOG) process.stderr.write(chunk);
      cb();
    },
  });
  const log = pino({ level: "debug" }, sink);
  const configSource = () => parseConfig(readFileSync(configPath, "utf8"), configPath, dataDir);
  let server = await NatterServer.start(config, { log, configSource });
  const port = server.ports.c2s ?? 0;
  const tlsPort = server.ports.c2s_direct_tls ?? 0;
  const httpPort = server.ports.http ?? 0;
  const httpsPort = server.ports.https ?? 0;
  const componentPort = server.ports.component;
  // A restart keeps the same ports, as a real restart would.
  const s2sPorts: [number, number] = [server.ports.s2s ?? 0, server.ports.s2s_direct_tls ?? 0];
  const configYaml = makeYaml(port, tlsPort, httpPort, componentPort, s2sPorts, httpsPort);
  writeFileSync(configPath, configYaml, { mode: 0o600 }); // owner-only, as the data directory it is in
  config = parseConfig(configYaml, configPath, dataDir);
  const ts: TestServer = {
    server,
    domain,
    port,
    tlsPort,
    httpPort,
    httpsPort,
    componentPort,
    ...(options.s2s ? { s2sPort: s2sPorts[0], s2sTlsPort: s2sPorts[1] } : {}),
    dataDir,
    configPath,
    configYaml,
    logs,
    addUser: (user, password) => ts.server.core.accounts.createUser(domain, user, password),
    async stop() {
      await ts.server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
    async restart() {
      await ts.server.stop();
      server = await NatterServer.start(config, { log, configSource });
      ts.server = server;
    },
  };
  return ts;
}
