// Starting the servers for the built-in comparison (Prosody from Debian, Natter from this checkout; ejabberd
// from Debian in bench/ejabberd-server.ts), each in its own temporary directory on a free loopback port, and
// creating their bench accounts.

import { type ChildProcess, spawn } from "node:child_process";
import { createHash, createHmac, pbkdf2, randomBytes, randomUUID } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { onServerCore } from "./cpu-pinning.js";
import { type LoopDelayProbe, loopDelayEnv, loopDelayProbe } from "./loop-delay.js";
import { checkRingShape, ringContacts } from "./ring-contacts.js";
import type { CertificateFiles } from "./tls-certificate.js";
import { pool, sleep } from "./stats.js";

export const FD_LIMIT = 65536;

export interface RunningServer {
  name: string;
  port: number;
  /** HTTP listener (WebSocket, BOSH). */
  httpPort: number;
  pid: number;
  dir: string;
  logFile: string;
  /** The server's event-loop delay (Natter with bench/loop-delay-probe.js loaded). */
  loopDelay?: LoopDelayProbe;
  stop(): Promise<void>;
}

/** A port that was free on 127.0.0.1 a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/** Resolves once something accepts TCP connections on host:port; rejects after timeoutMs or if the child exits. */
export async function waitForPort(host: string, port: number, child: ChildProcess, timeoutMs: number, logFile: string) {
  const until = performance.now() + timeoutMs;
  while (performance.now() < until) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `server exited (${child.exitCode ?? child.signalCode}) before listening; see ${logFile}:\n${tail(logFile)}`,
      );
    }
    const ok = await new Promise<boolean>((res) => {
      const socket = connect({ host, port });
      socket.once("connect", () => {
        socket.destroy();
        res(true);
      });
      socket.once("error", () => res(false));
    });
    if (ok) return;
    await sleep(200);
  }
  throw new Error(`server did not listen on ${host}:${port} within ${timeoutMs} ms; see ${logFile}`);
}

export function tail(file: string): string {
  try {
    return readFileSync(file, "utf8").split("\n").slice(-15).join("\n");
  } catch {
    return "";
  }
}

/**
 * Spawn `argv` through sh with the open-file limit raised, on the server core when pinning is on
 * (bench/cpu-pinning.ts); `exec` (and taskset's own exec) keeps the pid the server's.
 */
export function spawnServer(
  argv: string[],
  cwd: string,
  logFile: string,
  env: NodeJS.ProcessEnv = process.env,
): ChildProcess {
  const quoted = onServerCore(argv)
    .map((a) => `'${a.replace(/'/g, `'\\''`)}'`)
    .join(" ");
  const script = `ulimit -n ${FD_LIMIT} 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec ${quoted}`;
  const out = openSync(logFile, "a");
  const child = spawn("sh", ["-c", script], { cwd, env, stdio: ["ignore", out, out] });
  closeSync(out);
  return child;
}

export function stopper(child: ChildProcess): () => Promise<void> {
  return async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((res) => child.once("exit", () => res()));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  };
}

// ---------------------------------------------------------------------------------------------
// Prosody

export interface ProsodyOptions {
  dir: string;
  domain: string;
  binary: string;
  /** Load mod_mam (message archive); Debian's default config leaves it off. */
  mam: boolean;
  /** Offer STARTTLS on c2s with this certificate (mod_tls, `ssl`); without it no TLS module is loaded. */
  tls?: CertificateFiles;
}

export async function startProsody(opts: ProsodyOptions): Promise<RunningServer> {
  const port = await freePort();
  const httpPort = await freePort();
  const dataDir = join(opts.dir, "data");
  mkdirSync(dataDir, { recursive: true });
  mkdirSync(join(opts.dir, "certs"), { recursive: true });
  const logFile = join(opts.dir, "prosody.log");
  const config = join(opts.dir, "prosody.cfg.lua");
  writeFileSync(
    config,
    `-- Written by natter bench: plain c2s on loopback for load tests. Not for production.
run_as_root = true
pidfile = ${JSON.stringify(join(opts.dir, "prosody.pid"))}
data_path = ${JSON.stringify(dataDir)}
certificates = ${JSON.stringify(join(opts.dir, "certs"))}
log = { { levels = { min = "warn" }, to = "file", filename = ${JSON.stringify(logFile)} } }
interfaces = { "127.0.0.1" }
network_settings = { tcp_backlog = 1024, nagle = false }
c2s_ports = { ${port} }
c2s_direct_tls_ports = {}
legacy_ssl_ports = {}
s2s_ports = {}
component_ports = {}
-- WebSocket (mod_websocket, RFC 7395) and BOSH (mod_bosh) at /xmpp-websocket and /http-bind on plain HTTP,
-- as Natter's HTTP listener serves them. Both count as secure so that SASL is offered as on plain c2s
-- with c2s_require_encryption = false (loopback).
http_ports = { ${httpPort} }
http_interfaces = { "127.0.0.1" }
https_ports = {}
consider_websocket_secure = true
consider_bosh_secure = true
-- Debian's default modules_enabled, minus tls, dialback (no s2s), limits (nothing throttles c2s),
-- the invites/admin set and posix (foreground). The epoll backend (the default) has no connection cap.
modules_enabled = {
  "disco", "roster", "saslauth", "blocklist", "bookmarks", "carbons", "pep", "private", "smacks",
  "vcard4", "vcard_legacy", "csi_simple", "ping", "register", "time", "uptime", "version",${opts.mam ? ' "mam",' : ""}
  "websocket", "bosh",${opts.tls ? ' "tls",' : ""}
}${
      opts.tls
        ? `
-- STARTTLS offered (not required: c2s_require_encryption below) with the bench's certificate.
ssl = { certificate = ${JSON.stringify(opts.tls.cert)}, key = ${JSON.stringify(opts.tls.key)} }`
        : ""
    }
modules_disabled = { "s2s" }
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
authentication = "internal_hashed"
storage = "internal"
Host ${JSON.stringify(opts.domain)}
-- MUC for the muc scenario, as ejabberd's mod_muc and Natter's muc module serve it. mod_muc has no message or
-- presence rate limits of its own (those are community modules); rooms stay in memory, so the cache of live
-- rooms (100 by default) must hold every room of a run.
Component ${JSON.stringify(`conference.${opts.domain}`)} "muc"
  restrict_room_creation = false
  muc_room_cache_size = 100000
`,
  );
  const child = spawnServer([opts.binary, "--config", config, "-F"], opts.dir, logFile);
  await waitForPort("127.0.0.1", port, child, 30_000, logFile);
  await waitForPort("127.0.0.1", httpPort, child, 30_000, logFile);
  return { name: "Prosody", port, httpPort, pid: child.pid ?? 0, dir: opts.dir, logFile, stop: stopper(child) };
}

/** Prosody's datamanager encoding of host and user names in file names. */
function prosodyEncode(s: string): string {
  return s.replace(/[^A-Za-z0-9]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

/**
 * Write Prosody internal_hashed account files (data/<host>/accounts/<user>.dat) directly: the same
 * fields mod_auth_internal_hashed stores (salt, iteration_count, hex stored_key and server_key),
 * with a fresh salt per account, as `prosodyctl register` would write them.
 */
export async function writeProsodyAccounts(
  dataDir: string,
  domain: string,
  prefix: string,
  count: number,
  password: string,
  iterations: number,
): Promise<void> {
  const dir = join(dataDir, prosodyEncode(domain), "accounts");
  mkdirSync(dir, { recursive: true });
  await pool(count, 8, async (i) => {
    const salt = randomUUID();
    const salted = await new Promise<Buffer>((res, rej) =>
      pbkdf2(password, salt, iterations, 20, "sha1", (err, key) => (err ? rej(err) : res(key))),
    );
    const clientKey = createHmac("sha1", salted).update("Client Key").digest();
    const storedKey = createHash("sha1").update(clientKey).digest("hex");
    const serverKey = createHmac("sha1", salted).update("Server Key").digest("hex");
    writeFileSync(
      join(dir, `${prosodyEncode(`${prefix}${i + 1}`)}.dat`),
      `return {\n\t["salt"] = "${salt}";\n\t["iteration_count"] = ${iterations};\n\t["stored_key"] = "${storedKey}";\n\t["server_key"] = "${serverKey}";\n};\n`,
    );
  });
}

/** A Lua string literal as Prosody's util.serialization writes one (the bench's names need no escapes). */
const luaString = (s: string) => `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;

/**
 * Write the presence scenario's ring rosters (bench/ring-contacts.ts) as Prosody's internal storage holds
 * them: data/<host>/roster/<user>.dat, the keyval store rostermanager.load_roster reads, a Lua table of
 * contact JID → `{ subscription, groups = { [name] = true } }` (mod_roster keeps groups as a set; `name`
 * and `ask` absent) plus the metadata entry under the key `false` that rostermanager's roster_metadata adds
 * and save_roster writes: `{ version = <n>, pending = {} }` (no subscription requests pending). The
 * format is what datamanager.store writes (`return <serialized table>;`). Returns the items written.
 */
export function writeProsodyRosters(
  dataDir: string,
  domain: string,
  prefix: string,
  count: number,
  contacts: number,
): number {
  checkRingShape(count, contacts);
  const dir = join(dataDir, prosodyEncode(domain), "roster");
  mkdirSync(dir, { recursive: true });
  let written = 0;
  for (let i = 1; i <= count; i++) {
    const items = ringContacts(i, count, contacts).map(
      (c) =>
        `\t[${luaString(`${prefix}${c}@${domain}`)}] = {\n\t\t["subscription"] = "both";\n\t\t["groups"] = {\n\t\t\t["bench"] = true;\n\t\t};\n\t};\n`,
    );
    written += items.length;
    writeFileSync(
      join(dir, `${prosodyEncode(`${prefix}${i}`)}.dat`),
      `return {\n\t[false] = {\n\t\t["version"] = 1;\n\t\t["pending"] = {};\n\t};\n${items.join("")}};\n`,
    );
  }
  return written;
}

// ---------------------------------------------------------------------------------------------
// Natter

const here = dirname(fileURLToPath(import.meta.url));
/** Repository root, both from bench/*.ts (tsx) and dist/bench/*.js. */
export const repoRoot = existsSync(join(here, "..", "package.json")) ? resolve(here, "..") : resolve(here, "..", "..");

/** The argv that runs Natter's CLI: the compiled build, or the sources through tsx when run from .ts. */
export function natterCommand(): string[] | undefined {
  const compiled = join(repoRoot, "dist", "src", "main.js");
  if (!import.meta.url.endsWith(".ts") && existsSync(compiled)) return [process.execPath, compiled];
  const source = join(repoRoot, "src", "main.ts");
  // An absolute loader URL: the server runs in its temporary directory, where "tsx" would not resolve.
  if (existsSync(source)) return [process.execPath, "--import", import.meta.resolve("tsx"), source];
  if (existsSync(compiled)) return [process.execPath, compiled];
  return undefined;
}

export interface NatterOptions {
  dir: string;
  domain: string;
  command: string[];
  /** Keep the mam module (on in Natter's defaults); off matches Debian's Prosody. */
  mam: boolean;
  /**
   * The archive quota (mam max_messages) when it must hold more than the default 100,000: the mam scenario
   * queries ids from the middle of an archive it fills, and a quota below its size prunes them (item-not-found).
   */
  mamMaxMessages?: number;
  /**
   * Lift the caps on unauthenticated connections for loopback: every bench client comes from 127.0.0.1, and
   * the per-address cap (20) would refuse all but the first logins of a batch (bench/preauth-memory.ts
   * measures those caps and keeps them).
   */
  exemptLoopback?: boolean;
  /** Write the `bosh` section: only a Natter with BOSH (src/transports/bosh) knows its keys. */
  bosh?: boolean;
  /** STARTTLS with this certificate (tls.certificates) instead of the one Natter generates for itself. */
  tls?: CertificateFiles;
}

/** BOSH sessions all come from 127.0.0.1: its per-address cap (100) would stop the bosh-idle scenario. */
const BOSH_CONFIG = `bosh: { max_sessions: 100000, max_sessions_per_address: 100000 }
`;

/**
 * Whether the Natter that `command` runs has BOSH (issue 12's BOSH branch): the checkout of the
 * `…/src/main.ts` or `…/dist/src/main.js` in the command, else this one.
 */
export function natterHasBosh(command: string | undefined): boolean {
  const main = command
    ?.split(/\s+/)
    .map((t) => /^(.*?)\/(?:dist\/)?src\/main\.[jt]s$/.exec(t)?.[1])
    .find((root) => root !== undefined);
  const root = main === undefined ? repoRoot : resolve(main);
  return (
    existsSync(join(root, "src", "transports", "bosh")) || existsSync(join(root, "dist", "src", "transports", "bosh"))
  );
}

export function natterConfig(opts: NatterOptions, port: number, httpPort: number): string {
  const config = join(opts.dir, "natter.yaml");
  writeFileSync(
    config,
    `# Written by natter bench: plain c2s on loopback for load tests. Not for production.
hosts: [${JSON.stringify(opts.domain)}]
data_dir: ${JSON.stringify(join(opts.dir, "data"))}
log_level: warn
control_socket: ${JSON.stringify(join(opts.dir, "natter.sock"))}
listeners:
  c2s: { port: ${port}, bind: ["127.0.0.1"] }
  c2s_direct_tls: { enabled: false }
  http: { port: ${httpPort}, bind: ["127.0.0.1"] }
  https: { enabled: false }
  # Not needed, and fixed ports would clash with another bench or test running on the machine.
  s2s: { enabled: false }
  s2s_direct_tls: { enabled: false }
  component: { enabled: false }
c2s:
  require_encryption: false
# No federation, as Prosody and ejabberd run here; its listeners' fixed ports (5269, 5270) would also clash with
# any other Natter on the machine.
s2s: { enabled: false }
auth:
  # Off: a bench logs thousands of accounts in at once from one address, and every password check in
  # flight counts against the address until it succeeds.
  throttle:
    per_ip: { delay_after: 0, attempts: 0 }
    per_ip_account: { delay_after: 0, attempts: 0 }
    per_account: { delay_after: 0 }
${opts.tls ? `tls: { certificates: [{ cert: ${JSON.stringify(opts.tls.cert)}, key: ${JSON.stringify(opts.tls.key)} }] }\n` : ""}${opts.exemptLoopback ? 'unauthenticated: { max_connections: 100000, exempt_addresses: ["127.0.0.0/8"] }\n' : ""}${opts.bosh ? BOSH_CONFIG : ""}# Natter's default modules${opts.mam ? "" : ", without the message archive (Debian's Prosody has none by default)"}.
# Anti-spam's per-account message limit (600 a minute) would measure the limit, not the server: one bench
# account sends thousands a second.
modules: { "anti-spam": { account_rate: { messages: { per_minute: 0 } } }${opts.mam ? (opts.mamMaxMessages ? `, mam: { max_messages: ${opts.mamMaxMessages} }` : "") : ", mam: false"} }
`,
  );
  return config;
}

export async function createNatterAccounts(opts: NatterOptions, config: string, csv: string): Promise<void> {
  const logFile = join(opts.dir, "adduser.log");
  const child = spawnServer([...opts.command, "-c", config, "adduser", "--from-file", csv], opts.dir, logFile);
  const code = await new Promise<number | null>((res) => child.once("exit", (c) => res(c)));
  if (code !== 0) throw new Error(`natter adduser --from-file failed (${code}); see ${logFile}:\n${tail(logFile)}`);
}

/**
 * Starts Natter with bench/loop-delay-probe.js loaded (NODE_OPTIONS), so the bench can read its event-loop delay
 * from inside without changing it; without a built probe (running from sources) it starts without one.
 */
export async function startNatter(
  opts: NatterOptions,
  config: string,
  port: number,
  httpPort: number,
): Promise<RunningServer> {
  const logFile = join(opts.dir, "natter.log");
  const delayFile = join(opts.dir, "loop-delay.json");
  // A file left by the previous run's server would answer this one's first sample with old figures, and its
  // sequence number would hide this server's next ones.
  rmSync(delayFile, { force: true });
  rmSync(`${delayFile}.heap`, { force: true });
  const probeEnv = loopDelayEnv(delayFile);
  const child = spawnServer([...opts.command, "-c", config, "start"], opts.dir, logFile, {
    ...process.env,
    ...probeEnv,
  });
  await waitForPort("127.0.0.1", port, child, 60_000, logFile);
  await waitForPort("127.0.0.1", httpPort, child, 60_000, logFile);
  const pid = child.pid ?? 0;
  const loopDelay = probeEnv === undefined ? undefined : loopDelayProbe(pid, delayFile);
  return { name: "Natter", port, httpPort, pid, dir: opts.dir, logFile, loopDelay, stop: stopper(child) };
}

// ---------------------------------------------------------------------------------------------

/** users.csv for `natter adduser --from-file` and for --create-accounts commands: jid,password lines. */
export function writeUsersCsv(file: string, domain: string, prefix: string, count: number, password: string): void {
  const lines: string[] = [];
  for (let i = 1; i <= count; i++) lines.push(`${prefix}${i}@${domain},${password}`);
  writeFileSync(file, `${lines.join("\n")}\n`);
}

/** Run a user-supplied account creation command through sh with the BENCH_* variables set. */
export async function runCreateAccounts(command: string, env: Record<string, string>, logFile: string): Promise<void> {
  const out = openSync(logFile, "a");
  const child = spawn("sh", ["-c", command], { env: { ...process.env, ...env }, stdio: ["ignore", out, out] });
  closeSync(out);
  const code = await new Promise<number | null>((res) => child.once("exit", (c) => res(c)));
  if (code !== 0) throw new Error(`account creation command failed (${code}); see ${logFile}:\n${tail(logFile)}`);
}

export const randomPassword = () => randomBytes(9).toString("base64url");
