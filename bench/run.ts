// `npm run bench`: load benchmark over loopback. With no target it starts Natter, Prosody and ejabberd (both
// Debian's) in temporary directories, runs every scenario --repeat times against each (a fresh server per run,
// the servers on core 0 and this process on the others: bench/cpu-pinning.ts) and prints Natter's medians
// beside the others' with its ratio to the better of them. With --port it measures one server that is already
// running. See bench/README.md.

import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { assertBoshEndpoint } from "./bosh-wire.js";
import { keyDerivations, type Mechanism } from "./client.js";
import type { Transport } from "./client-wire.js";
import { allowedCores, pinLoadGenerator } from "./cpu-pinning.js";
import {
  createEjabberdAccounts,
  DEBIAN_EJABBERD_LIBS,
  ejabberdInstalled,
  loadEjabberdRosters,
  startEjabberd,
} from "./ejabberd-server.js";
import { medianMetrics } from "./median-metrics.js";
import { provisionRosters } from "./provision-rosters.js";
import { runFastLogins } from "./scenarios/fast-logins.js";
import { runIdle } from "./scenarios/idle.js";
import { runLogins } from "./scenarios/logins.js";
import { runMam } from "./scenarios/mam.js";
import { runMessages } from "./scenarios/messages.js";
import { type MucShape, mucShapeName, parseMucShapes, runMuc, writeMucConfig } from "./scenarios/muc.js";
import { runPresence, shapeName } from "./scenarios/presence.js";
import { runCluster } from "./scenarios/cluster.js";
import { runS2s } from "./scenarios/s2s.js";
import {
  createNatterAccounts,
  FD_LIMIT,
  freePort,
  natterCommand,
  natterConfig,
  natterHasBosh,
  type RunningServer,
  runCreateAccounts,
  startNatter,
  startProsody,
  writeProsodyAccounts,
  writeProsodyRosters,
  writeUsersCsv,
} from "./servers.js";
import type { Log, Metric, Target } from "./target.js";
import { benchCertificate, type CertificateFiles } from "./tls-certificate.js";

const USAGE = `natter load benchmark

  npm run bench                       Natter, Prosody and ejabberd side by side (all started here, on core 0
                                      with taskset, the bench on the other cores; median of --repeat runs)
  npm run bench -- --port 5222 --pid 1234 --create-accounts '<command>'   one running server

target (any XMPP server; omit --port for the built-in comparison):
  --host <addr>             server address, loopback only (default 127.0.0.1)
  --port <port>             c2s port (plain TCP; the server must allow unencrypted c2s)
  --http-port <port>        HTTP port with WebSocket at /xmpp-websocket and BOSH at /http-bind (ws-*, bosh-*)
  --domain <host>           XMPP domain (default localhost)
  --pid <pid>               server process, for memory (idle) and CPU readings
  --name <label>            column title (default "target")
  --create-accounts <cmd>   shell command that creates the accounts; it gets BENCH_ACCOUNTS (N),
                            BENCH_PASSWORD, BENCH_DOMAIN, BENCH_USER_PREFIX (bench-user-) and
                            BENCH_USERS_CSV (a file of "bench-user-i@domain,password" lines) and
                            must create bench-user-1 .. bench-user-N. Without it the accounts
                            must exist already, with --password.
  --password <pw>           password of the bench accounts (default: random when created here,
                            "bench-password" otherwise)
  --mechanism <m>           SCRAM-SHA-1 (default) or PLAIN

load:
  --scenarios <list>        idle,idle-tls,ws-idle,bosh-idle,logins,ws-logins,bosh-logins,fast-logins,messages,ws-messages,muc,
                            mam,presence,s2s (default: idle,ws-idle,logins,messages,ws-messages,mam;
                            always run in that order; idle-tls is idle with every session negotiating
                            STARTTLS first (the servers get a self-signed certificate); ws-* run the same scenario over WebSocket (RFC 7395),
                            bosh-* over BOSH (XEP-0206, hold=1 wait=60: fails clearly when the server has no
                            /http-bind; "bosh" = bosh-logins); s2s starts two Natters of its own and federates --pairs users on
                            one with --pairs users on the other)
  --sessions <n>            idle sessions to open (default 10000; also ws-idle)
  --bosh-sessions <n>       BOSH sessions held by bosh-idle (default 1000)
  --logins <n>              logins to time (default 5000)
  --concurrency <n>         logins in progress at once (default 100)
  --logins-hold             logins: keep every session open until all --logins have logged in (issue 13's
                            "10,000 sessions"), instead of closing each once bound
  --pairs <n>               sender→receiver pairs (default 100)
  --inflight <n>            messages in flight per pair (default 10)
  --duration <s>            measured seconds of messaging (default 10)
  --warmup <s>              unmeasured seconds before that (default 3)
  --settle <s>              wait before reading memory (default 5)
  --mam-items <n>           messages archived for the mam scenario (default 1000000)
  --mam-queries <n>         page queries timed (default 1000)
  --mam-page <n>            RSM <max/> of each query (default 50)
  --presence-accounts <n>   accounts logging in at once in the presence scenario (default 1000)
  --presence-contacts <n>   contacts per account on a ring, subscription both (default 100; even; written
                            into each server's storage before it starts; against --port they must exist)
  --presence-shapes <list>  several accounts×contacts shapes in one run, each its own rows, e.g.
                            1000x10,2000x20 (issue 13's rows; overrides the two above)
  --presence-updates <n>    presence changes each account sends after the login storm, one in flight
                            (default 5; 0 skips the update phase)
  --presence-settle <s>     how long to wait for every roster's presence after the last login, for each
                            echo, and for the deliveries after the last change (default 60)
  --rooms <n>               muc: rooms (default 50)
  --occupants <n>           muc: occupants per room (default 20)
  --muc-senders <n>         muc: occupants of each room that talk (default: all; the others only receive)
  --muc-shapes <list>       muc: several room layouts, each its own run and rows, instead of --rooms/--occupants/
                            --muc-senders: ROOMSxOCCUPANTS[:SENDERS],… e.g. 10x20,50x50:10,1x200:10 (issue 13)
  --muc-inflight <n>        muc: groupchat messages in flight per sender (default 1)
  --muc-archive <on|off>    muc: Natter's rooms archive messages (default on, Natter's default)
  --no-presence             do not send initial presence after binding
  --timeout <ms>            limit for each login step (default 20000)
  --repeat <n>              runs per scenario and server, each on a freshly started server; the table shows
                            the median of the n runs, the log each run's figures (default 3; 1 against --port)
  --json <file>             also write the figures (medians and every run) as JSON

cluster (issue 16; needs PostgreSQL at 127.0.0.1:5432 and Redis at 127.0.0.1:6379, or
NATTER_BENCH_POSTGRES_URL / NATTER_BENCH_REDIS_URL):
  --cluster <n>             start n Natter nodes serving one domain (a fresh database, a Redis key prefix of
                            their own) and measure only the cluster: --pairs senders on node 1 to receivers on
                            node 1 (local) and on node 2 (cross-node), messages/s, latency and server CPU per
                            message of both in the same run; then --sessions idle sessions over the nodes:
                            KiB per session and Redis memory per session (0 sessions: skipped)

built-in comparison:
  --servers <list>          natter,prosody,ejabberd (default: those of the three that are installed; a
                            missing one is skipped with a warning, one named here and missing fails)
  --prosody <path>          Prosody binary (default /usr/bin/prosody)
  --ejabberd-erl <path>     the erl that runs ejabberd (default /usr/bin/erl)
  --ejabberd-libs <dir>     ERL_LIBS holding ejabberd-<version>/ (default ${DEBIAN_EJABBERD_LIBS}, Debian's)
  --natter <cmd>            command that runs Natter's CLI (default: node dist/src/main.js)
  --keep                    keep the temporary directories (configs, logs, data)
  --mam                     message archiving on in all three (Natter's default module set has it,
                            Debian's Prosody and ejabberd configs do not; off by default for all)

helper:
  --write-prosody-accounts <data_path>   write Prosody internal_hashed account files for the
                            BENCH_* variables above (for --create-accounts against a Prosody)
`;

const { values: args } = parseArgs({
  options: {
    host: { type: "string", default: "127.0.0.1" },
    port: { type: "string" },
    "http-port": { type: "string" },
    domain: { type: "string", default: "localhost" },
    pid: { type: "string" },
    name: { type: "string", default: "target" },
    "create-accounts": { type: "string" },
    password: { type: "string" },
    mechanism: { type: "string", default: "SCRAM-SHA-1" },
    scenarios: { type: "string", default: "idle,ws-idle,logins,messages,ws-messages,mam" },
    "mam-items": { type: "string", default: "1000000" },
    "mam-queries": { type: "string", default: "1000" },
    "mam-page": { type: "string", default: "50" },
    sessions: { type: "string", default: "10000" },
    "bosh-sessions": { type: "string", default: "1000" },
    logins: { type: "string", default: "5000" },
    concurrency: { type: "string", default: "100" },
    "logins-hold": { type: "boolean", default: false },
    "open-concurrency": { type: "string", default: "200" },
    pairs: { type: "string", default: "100" },
    inflight: { type: "string", default: "10" },
    duration: { type: "string", default: "10" },
    warmup: { type: "string", default: "3" },
    settle: { type: "string", default: "5" },
    "no-presence": { type: "boolean", default: false },
    "presence-accounts": { type: "string", default: "1000" },
    "presence-contacts": { type: "string", default: "100" },
    "presence-shapes": { type: "string" },
    "presence-updates": { type: "string", default: "5" },
    "presence-settle": { type: "string", default: "60" },
    rooms: { type: "string", default: "50" },
    occupants: { type: "string", default: "20" },
    "muc-inflight": { type: "string", default: "1" },
    "muc-senders": { type: "string" },
    "muc-shapes": { type: "string" },
    "muc-archive": { type: "string", default: "on" },
    timeout: { type: "string", default: "20000" },
    iterations: { type: "string", default: "4096" },
    json: { type: "string" },
    repeat: { type: "string" },
    servers: { type: "string" },
    prosody: { type: "string", default: "/usr/bin/prosody" },
    "ejabberd-erl": { type: "string", default: "/usr/bin/erl" },
    "ejabberd-libs": { type: "string", default: DEBIAN_EJABBERD_LIBS },
    natter: { type: "string" },
    keep: { type: "boolean", default: false },
    mam: { type: "boolean", default: false },
    "write-prosody-accounts": { type: "string" },
    cluster: { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
  strict: true,
});

function int(name: keyof typeof args, min: number): number {
  const value = Number(args[name]);
  if (!Number.isInteger(value) || value < min) {
    process.stderr.write(`--${name}: expected a whole number of at least ${min}\n`);
    process.exit(2);
  }
  return value;
}

const log: Log = (line) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`);

/** The soft open-file limit this process (and its children) has. */
function fdLimit(): number {
  const out = spawnSync("sh", ["-c", "ulimit -n"], { encoding: "utf8" }).stdout.trim();
  return out === "unlimited" ? Number.POSITIVE_INFINITY : Number(out);
}

/** 10k sessions need >10k descriptors here and in the server: re-run under a raised `ulimit -n`. */
function ensureFdLimit(needed: number): void {
  if (fdLimit() >= needed) return;
  if (process.env.NATTER_BENCH_ULIMIT !== "1") {
    log(`open-file limit ${fdLimit()} < ${needed}: re-running under ulimit -n ${FD_LIMIT}`);
    const script = `ulimit -n ${FD_LIMIT} 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$0" "$@"`;
    const r = spawnSync("sh", ["-c", script, process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
      stdio: "inherit",
      env: { ...process.env, NATTER_BENCH_ULIMIT: "1" },
    });
    process.exit(r.status ?? 1);
  }
  log(`warning: open-file limit is ${fdLimit()}, below the ${needed} this run needs (raise it with ulimit -n)`);
}

async function writeProsodyAccountsFromEnv(dataPath: string): Promise<void> {
  const count = Number(process.env.BENCH_ACCOUNTS);
  const password = process.env.BENCH_PASSWORD ?? "";
  const domain = process.env.BENCH_DOMAIN ?? "localhost";
  const prefix = process.env.BENCH_USER_PREFIX ?? "bench-user-";
  if (!(count > 0) || password === "") throw new Error("BENCH_ACCOUNTS and BENCH_PASSWORD must be set");
  await writeProsodyAccounts(dataPath, domain, prefix, count, password, int("iterations", 4096));
}

// ---------------------------------------------------------------------------------------------

// presence last: against a --port server its rosters stay in the storage and would make later logins broadcast.
const ORDER = [
  "idle",
  "idle-tls",
  "ws-idle",
  "bosh-idle",
  "logins",
  "ws-logins",
  "bosh-logins",
  "fast-logins",
  "messages",
  "ws-messages",
  "muc",
  "mam",
  "presence",
  "s2s",
] as const;
type ScenarioName = (typeof ORDER)[number];

// "bosh" was the BOSH logins scenario's first name.
const scenarioNames = new Set(
  args.scenarios
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => (s === "bosh" ? "bosh-logins" : s)),
);
for (const s of scenarioNames) {
  if (!(ORDER as readonly string[]).includes(s)) {
    process.stderr.write(`--scenarios: unknown scenario "${s}" (${ORDER.join(", ")})\n`);
    process.exit(2);
  }
}
const wantsBosh = [...scenarioNames].some((s) => s.startsWith("bosh-"));

/** The presence scenario's rosters: accounts × contacts on a ring (bench/ring-contacts.ts). */
interface PresenceShape {
  accounts: number;
  contacts: number;
}

/** --presence-shapes 1000x10,2000x20, else the one shape of --presence-accounts × --presence-contacts. */
function presenceShapes(): PresenceShape[] {
  const list = args["presence-shapes"];
  const shapes =
    list === undefined
      ? [{ accounts: int("presence-accounts", 2), contacts: int("presence-contacts", 2) }]
      : list
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean)
          .map((s) => {
            const m = /^(\d+)[x×](\d+)$/.exec(s);
            return { accounts: Number(m?.[1] ?? Number.NaN), contacts: Number(m?.[2] ?? Number.NaN) };
          });
  for (const { accounts, contacts } of shapes) {
    if (!(contacts >= 2 && contacts % 2 === 0 && contacts < accounts)) {
      process.stderr.write(
        `--presence-*: contacts must be even, at least 2 and below the accounts (${accounts}x${contacts})\n`,
      );
      process.exit(2);
    }
  }
  if (shapes.length === 0) {
    process.stderr.write("--presence-shapes: expected accounts×contacts pairs such as 1000x10,2000x20\n");
    process.exit(2);
  }
  return shapes;
}

const load = {
  sessions: int("sessions", 1),
  boshSessions: int("bosh-sessions", 1),
  logins: int("logins", 1),
  concurrency: int("concurrency", 1),
  openConcurrency: int("open-concurrency", 1),
  pairs: int("pairs", 1),
  inflight: int("inflight", 1),
  duration: int("duration", 1),
  warmup: int("warmup", 0),
  settle: int("settle", 0),
  presence: !args["no-presence"],
  timeout: int("timeout", 100),
  mam: { items: int("mam-items", 1000), queries: int("mam-queries", 1), page: int("mam-page", 1) },
  presenceShapes: presenceShapes(),
  presenceRun: { updates: int("presence-updates", 0), settleLimit: int("presence-settle", 1) },
  muc: {
    inflight: int("muc-inflight", 1),
    archive: args["muc-archive"] !== "off",
  },
};

/** The MUC layouts to run, each its own run and rows: --muc-shapes, else --rooms × --occupants (--muc-senders). */
const mucShapes: MucShape[] = (() => {
  if (args["muc-shapes"] !== undefined) {
    try {
      return parseMucShapes(args["muc-shapes"]);
    } catch (err) {
      process.stderr.write(`--muc-shapes: ${(err as Error).message}\n`);
      process.exit(2);
    }
  }
  const occupants = int("occupants", 1);
  const senders = args["muc-senders"] === undefined ? occupants : Math.min(occupants, int("muc-senders", 1));
  return [{ rooms: int("rooms", 1), occupants, senders }];
})();
/** Runs per scenario and server; the table shows their medians. One against --port: that server cannot be restarted. */
const repeat = args.repeat === undefined ? (args.port === undefined ? 3 : 1) : int("repeat", 1);
/** Where the servers and the load generator run (bench/cpu-pinning.ts), for the header; set in main(). */
let pinning = "";

if (!["on", "off"].includes(args["muc-archive"])) {
  process.stderr.write("--muc-archive: on or off\n");
  process.exit(2);
}

/** Accounts every selected scenario together needs. */
function accountsNeeded(): number {
  let n = 10;
  if (scenarioNames.has("idle") || scenarioNames.has("idle-tls") || scenarioNames.has("ws-idle"))
    n = Math.max(n, load.sessions);
  if (scenarioNames.has("bosh-idle")) n = Math.max(n, load.boshSessions);
  if (scenarioNames.has("logins") || scenarioNames.has("ws-logins") || scenarioNames.has("bosh-logins"))
    n = Math.max(n, load.logins);
  if (scenarioNames.has("fast-logins")) n = Math.max(n, Math.min(load.logins, 2000));
  if (scenarioNames.has("messages") || scenarioNames.has("ws-messages")) n = Math.max(n, load.pairs * 2);
  if (scenarioNames.has("muc")) n = Math.max(n, ...mucShapes.map((m) => m.rooms * m.occupants));
  if (scenarioNames.has("presence")) n = Math.max(n, ...load.presenceShapes.map((s) => s.accounts));
  return n;
}

const TRANSPORT_TITLE: Record<Transport, string> = { tcp: "TCP", websocket: "WebSocket", bosh: "BOSH" };

/** A ws-* or bosh-* scenario: the TCP one over another transport, its figures keyed and labelled apart. */
async function overTransport(name: ScenarioName, target: Target, log: Log): Promise<Metric[]> {
  const [prefix, base] = name.split("-") as ["ws" | "bosh", ScenarioName];
  const transport: Transport = prefix === "ws" ? "websocket" : "bosh";
  if (target.httpPort === undefined) throw new Error(`${name} needs the server's HTTP port (--http-port)`);
  if (transport === "bosh") await assertBoshEndpoint(target.host, target.httpPort);
  const metrics = await runScenario({ id: base, scenario: base }, { ...target, transport }, log);
  return metrics.map((m) => ({ ...m, key: `${prefix}_${m.key}`, label: `${m.label} (${TRANSPORT_TITLE[transport]})` }));
}

/** The servers Natter is compared with in the built-in comparison (not a --port target). */
const PEERS = ["Prosody", "ejabberd"];
const isPeer = (target: Target) => args.port === undefined && PEERS.includes(target.name);

async function runScenario(unit: RunUnit, target: Target, log: Log): Promise<Metric[]> {
  const name = unit.scenario;
  switch (name) {
    case "idle-tls": {
      // idle with STARTTLS (RFC 6120 §5) before SASL on every session; the servers offer it with the bench's
      // certificate in this scenario only.
      const idle = {
        sessions: load.sessions,
        concurrency: load.openConcurrency,
        presence: load.presence,
        settle: load.settle,
      };
      const metrics = await runIdle({ ...target, starttls: true }, idle, log);
      return metrics.map((m) => ({ ...m, key: `tls_${m.key}`, label: `${m.label} (STARTTLS)` }));
    }
    case "ws-idle":
    case "ws-logins":
    case "ws-messages":
    case "bosh-logins":
    case "bosh-idle":
      return overTransport(name, target, log);
    case "idle": {
      const sessions = target.transport === "bosh" ? load.boshSessions : load.sessions;
      return runIdle(
        target,
        { sessions, concurrency: load.openConcurrency, presence: load.presence, settle: load.settle },
        log,
      );
    }
    case "fast-logins":
      // XEP-0484 FAST beside SCRAM-SHA-256, both over SASL2 and STARTTLS: Natter (or a --port target) only.
      if (isPeer(target)) return [];
      return runFastLogins(target, { count: Math.min(load.logins, 2000), concurrency: load.concurrency }, log);
    case "logins":
      return runLogins(
        target,
        { count: load.logins, concurrency: load.concurrency, presence: load.presence, hold: args["logins-hold"] },
        log,
      );
    case "messages":
      return runMessages(
        target,
        {
          pairs: load.pairs,
          inflight: load.inflight,
          duration: load.duration,
          warmup: load.warmup,
          presence: load.presence,
        },
        log,
      );
    case "mam":
      // Prosody and ejabberd are started without mod_mam: the archive scenario measures Natter (or a --port
      // target) only.
      if (isPeer(target)) return [];
      return runMam(target, { ...load.mam, inflight: 500, presence: load.presence }, log);
    case "muc":
      // All three: Natter's muc module, Prosody's and ejabberd's on conference.<domain> (bench/servers.ts,
      // bench/ejabberd-server.ts).
      return runMuc(
        target,
        {
          ...(unit.muc ?? mucShapes[0] ?? { rooms: 50, occupants: 20, senders: 20 }),
          ...load.muc,
          duration: load.duration,
          warmup: load.warmup,
          presence: load.presence,
          // Prosody and ejabberd run without muc_mam / mod_mam: their rooms archive nothing.
          archive: args.port !== undefined ? undefined : isPeer(target) ? false : load.muc.archive,
        },
        log,
      );
    case "presence":
      // The rosters of the unit's shape were written into the server's storage before it started (comparison()).
      return runPresence(
        target,
        {
          ...(unit.shape ?? (load.presenceShapes[0] as PresenceShape)),
          ...load.presenceRun,
          concurrency: load.concurrency,
        },
        log,
      );
    case "s2s":
      // Natter federating with Natter: run once, in the Natter column (or against a --port target's settings).
      if (isPeer(target)) return [];
      return runS2s(
        target,
        { pairs: load.pairs, inflight: load.inflight, duration: load.duration, warmup: load.warmup },
        log,
      );
  }
}

/**
 * What one run measures: a scenario, one layout of the muc scenario or one shape of the presence scenario (each
 * layout and shape its own runs and rows).
 */
interface RunUnit {
  /** In the log and in a failure's key (`<id>_failed`): "messages", "muc-10x20", "presence 1000x10". */
  id: string;
  scenario: ScenarioName;
  muc?: MucShape;
  shape?: PresenceShape;
}
const selectedUnits: RunUnit[] = ORDER.filter((s) => scenarioNames.has(s)).flatMap((scenario): RunUnit[] => {
  if (scenario === "muc") return mucShapes.map((muc) => ({ id: `muc-${mucShapeName(muc).key}`, scenario, muc }));
  if (scenario === "presence")
    return load.presenceShapes.map((shape) => ({ id: `presence ${shapeName(shape)}`, scenario, shape }));
  return [{ id: scenario, scenario }];
});

/**
 * One run of one scenario: `start` gives the target (a freshly started server in the built-in comparison, the
 * running one with --port) and a stop. A failure becomes a `<scenario>_failed` row instead of ending the bench.
 * The run's figures go to the log; the table shows the medians of all runs (bench/median-metrics.ts).
 */
async function runOnce(
  name: string,
  unit: RunUnit,
  run: number,
  start: () => Promise<{ target: Target; stop: () => Promise<void> }>,
): Promise<Metric[]> {
  const tlog: Log = (line) => log(`${name}: ${line}`);
  let stop: (() => Promise<void>) | undefined;
  let metrics: Metric[];
  try {
    const started = await start();
    stop = started.stop;
    metrics = await runScenario(unit, started.target, tlog);
  } catch (err) {
    tlog(`${unit.id} failed: ${(err as Error).stack ?? err}`);
    const key = unit.id.replace(/\s+/g, "_");
    metrics = [
      { key: `${key}_failed`, label: `${unit.id} scenario FAILED`, value: Number.NaN, unit: "", better: "info" },
    ];
  } finally {
    await stop?.();
  }
  if (metrics.length > 0) {
    tlog(`${unit.id} run ${run}/${repeat}: ${metrics.map((m) => `${m.label} ${format(m.value, m.unit)}`).join("; ")}`);
  }
  return metrics;
}

function baseTarget(
  name: string,
  port: number,
  httpPort: number | undefined,
  pid: number | undefined,
  password: string,
): Target {
  return {
    name,
    host: args.host,
    port,
    httpPort,
    transport: "tcp",
    domain: args.domain,
    pid,
    userPrefix: "bench-user-",
    password,
    mechanism: args.mechanism as Mechanism,
    stepTimeoutMs: load.timeout,
  };
}

function accountEnv(count: number, password: string, csv: string): Record<string, string> {
  return {
    BENCH_ACCOUNTS: String(count),
    BENCH_PASSWORD: password,
    BENCH_DOMAIN: args.domain,
    BENCH_USER_PREFIX: "bench-user-",
    BENCH_USERS_CSV: csv,
  };
}

// ---------------------------------------------------------------------------------------------

function format(value: number, unit: string): string {
  if (Number.isNaN(value)) return "n/a";
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  const text = value.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
  return unit === "" || unit === "/s" ? `${text}${unit}` : `${text} ${unit}`;
}

/**
 * With `ratio`, the first column (Natter) is divided by the better of the others for each metric (the highest
 * where higher is better, the lowest where lower is), among those that have a figure for it.
 */
function table(columns: { name: string; metrics: Metric[] }[], ratio: boolean): string {
  const rows: string[][] = [];
  const header = ["metric", ...columns.map((c) => c.name)];
  const peers = columns.slice(1).map((c) => c.name);
  if (ratio) header.push(`${columns[0]?.name}/${peers.length === 1 ? peers[0] : "better peer"}`, "better");
  const labels: Metric[] = [];
  for (const c of columns) for (const m of c.metrics) if (!labels.some((l) => l.key === m.key)) labels.push(m);
  for (const label of labels) {
    const values = columns.map((c) => c.metrics.find((m) => m.key === label.key));
    const row = [label.label, ...values.map((m) => (m ? format(m.value, m.unit) : "-"))];
    if (ratio) {
      const a = values[0]?.value;
      const figures = values.slice(1).flatMap((m) => (m === undefined || Number.isNaN(m.value) ? [] : [m.value]));
      const b =
        figures.length === 0 ? undefined : label.better === "lower" ? Math.min(...figures) : Math.max(...figures);
      row.push(
        a !== undefined && b !== undefined && b !== 0 && label.better !== "info" ? `${(a / b).toFixed(2)}×` : "",
      );
      row.push(label.better === "info" ? "" : label.better);
    }
    rows.push(row);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(" | ")} |`;
  return [
    line(header),
    `|${widths.map((w, i) => (i === 0 ? `:${"-".repeat(w + 1)}` : `${"-".repeat(w + 1)}:`)).join("|")}|`,
    ...rows.map(line),
  ].join("\n");
}

/** The issues' targets for Natter on a 2-core machine; `peers` (the other servers' figures) for issue 13's p99 rule. */
function targetsCheck(metrics: Metric[], peers: { name: string; metrics: Metric[] }[]): string[] {
  const get = (key: string) => metrics.find((m) => m.key === key)?.value;
  const lines: string[] = [];
  const sessions = get("idle_sessions");
  const kib = get("idle_kib_per_session");
  if (sessions !== undefined && kib !== undefined) {
    const ok = sessions >= 10_000 && kib < 20;
    lines.push(
      `${ok ? "PASS" : "MISS"}  ≥ 10,000 idle sessions at < 20 KiB each: ${format(sessions, "")} at ${format(kib, "KiB")}`,
    );
    const gc = get("idle_gc_kib_per_session");
    const held = get("idle_held_kib");
    const afterGc =
      gc === undefined || held === undefined
        ? ""
        : ` (${format(gc, "KiB")} after a full GC; held: ${format(held, "KiB")} of live heap and memory outside it)`;
    lines.push(
      `${kib <= 10 ? "PASS" : "MISS"}  idle session ≤ 10 KiB over plain TCP (issue 13): ${format(kib, "KiB")}${afterGc}`,
    );
  }
  const tlsKib = get("tls_idle_kib_per_session");
  if (tlsKib !== undefined) {
    const held = get("tls_idle_sessions") ?? 0;
    const gc = get("tls_idle_gc_kib_per_session");
    const heldTls = get("tls_idle_held_kib");
    const afterGc =
      gc === undefined || heldTls === undefined
        ? ""
        : `, ${format(gc, "KiB")} after a full GC, ${format(heldTls, "KiB")} held`;
    lines.push(
      `${tlsKib <= 24 ? "PASS" : "MISS"}  idle session ≤ 24 KiB over STARTTLS (issue 13): ${format(tlsKib, "KiB")} (${format(held, "")} sessions${afterGc})`,
    );
  }
  const loopP99 = get("message_loop_p99_ms");
  if (loopP99 !== undefined) {
    lines.push(
      `${loopP99 < 50 ? "PASS" : "MISS"}  event-loop delay p99 < 50 ms under the message load (issue 13 asks it at 1,000 pairs; this run ${format(load.pairs, "")}): ${format(loopP99, "ms")}`,
    );
  }
  const rate = get("messages_per_s");
  if (rate !== undefined) {
    const shape = `${format(load.pairs, "")} pairs, ${format(load.inflight, "")} in flight; the target is for 100 × 10`;
    lines.push(`${rate >= 40_000 ? "PASS" : "MISS"}  ≥ 40,000 messages/s (${shape}): ${format(rate, "/s")}`);
  }
  const wsRate = get("ws_messages_per_s");
  if (wsRate !== undefined && rate !== undefined) {
    const ratio = wsRate / rate;
    // Per server CPU-second as well: on a shared machine the server gets more or less CPU from run to run.
    const wsPerCpu = get("ws_messages_per_cpu_s");
    const perCpu = get("messages_per_cpu_s");
    const cost =
      wsPerCpu !== undefined && perCpu !== undefined
        ? `; per server CPU-second ${((wsPerCpu / perCpu) * 100).toFixed(0)}% of TCP's`
        : "";
    lines.push(
      `${ratio >= 0.85 ? "PASS" : "MISS"}  WebSocket messages/s within 15% of TCP: ${format(wsRate, "/s")} = ${(ratio * 100).toFixed(0)}% of ${format(rate, "/s")}${cost}`,
    );
  }
  const wsKib = get("ws_idle_kib_per_session");
  if (wsKib !== undefined) {
    lines.push(
      `${wsKib < 24 ? "PASS" : "MISS"}  idle WebSocket session < 24 KiB: ${format(wsKib, "KiB")} (${format(get("ws_idle_sessions") ?? 0, "")} sessions)`,
    );
  }
  const boshMib = get("bosh_idle_mib");
  if (boshMib !== undefined) {
    const held = get("bosh_idle_sessions") ?? 0;
    lines.push(
      `${held >= 1000 && boshMib < 64 ? "PASS" : "MISS"}  1,000 BOSH sessions (hold=1) in < 64 MiB: ${format(held, "")} in ${format(boshMib, "MiB")}`,
    );
  }
  const boshLogins = get("bosh_logins_per_s");
  if (boshLogins !== undefined) {
    lines.push(
      `info  BOSH logins/s: ${format(boshLogins, "/s")} (TCP ${format(get("logins_per_s") ?? Number.NaN, "/s")})`,
    );
  }
  const mamP99 = get("mam_query_p99");
  if (mamP99 !== undefined) {
    lines.push(
      `${mamP99 < 20 ? "PASS" : "MISS"}  MAM page query p99 < 20 ms on ${format(get("mam_items") ?? 0, "")} archived: ${format(mamP99, "ms")}`,
    );
  }
  // The 50 × 20 all-talk layout has issue 4's target; the others (issue 13's shapes) are reported.
  for (const shape of mucShapes) {
    const { key, label } = mucShapeName(shape);
    const rate = get(`muc_${key}_delivered_per_s`);
    if (rate === undefined) continue;
    const archive = get(`muc_${key}_archive`) === 0 ? "archive off" : "archive on";
    const text = `MUC ${label}: ${format(rate, "/s")} deliveries, p99 ${format(get(`muc_${key}_p99_ms`) ?? Number.NaN, "ms")} (${archive})`;
    if (key === "50x20") lines.push(`${rate >= 50_000 ? "PASS" : "MISS"}  ≥ 50,000 deliveries/s in ${text}`);
    else lines.push(`info  ${text}`);
  }
  // Issue 13: every p99 beside a throughput no worse than the better (lower) of the peers' in the same run.
  for (const m of metrics) {
    if (!m.key.endsWith("_p99_ms") || m.better !== "lower" || Number.isNaN(m.value)) continue;
    const theirs = peers.flatMap((p) => {
      const v = p.metrics.find((x) => x.key === m.key)?.value;
      return v === undefined || Number.isNaN(v) ? [] : [{ name: p.name, value: v }];
    });
    if (theirs.length === 0) continue;
    const best = theirs.reduce((a, b) => (b.value < a.value ? b : a));
    lines.push(
      `${m.value <= best.value ? "PASS" : "MISS"}  ${m.label} no worse than the better peer's: ${format(m.value, "ms")} (${best.name} ${format(best.value, "ms")})`,
    );
  }
  for (const shape of load.presenceShapes) {
    const key = `presence_${shapeName(shape)}`;
    const allIn = get(`${key}_all_logged_in_s`);
    if (allIn === undefined) continue;
    const failures = get(`${key}_failures`) ?? 0;
    const summary =
      `${format(shape.accounts, "")} × ${shape.contacts} logged in after ${format(allIn, "s")} (login p99 ${format(get(`${key}_login_p99_ms`) ?? Number.NaN, "ms")}, ` +
      `${format(get(`${key}_login_per_s`) ?? Number.NaN, "/s")} contact presences; every contact's presence after ${format(get(`${key}_settled_s`) ?? Number.NaN, "s")}` +
      `${failures > 0 ? `; ${format(failures, "")} failures` : ""})`;
    // Issue 3's target is for 100 contacts each; other shapes are reported, not judged.
    if (shape.accounts >= 1000 && shape.contacts >= 100) {
      lines.push(
        `${allIn <= 30 && failures === 0 ? "PASS" : "MISS"}  ≥ 1,000 accounts with 100 contacts logged in within 30 s: ${summary}`,
      );
    } else lines.push(`info  presence: ${summary}`);
  }
  return lines;
}

// ---------------------------------------------------------------------------------------------

async function external(): Promise<void> {
  const port = int("port", 1);
  const pid = args.pid === undefined ? undefined : int("pid", 1);
  const created = args["create-accounts"];
  const password = args.password ?? (created ? `bench-${Date.now().toString(36)}` : "bench-password");
  const count = accountsNeeded();
  if (created) {
    const dir = mkdtempSync(join(tmpdir(), "natter-bench-"));
    const csv = join(dir, "users.csv");
    writeUsersCsv(csv, args.domain, "bench-user-", count, password);
    log(`creating ${count} accounts: ${created}`);
    const t0 = performance.now();
    await runCreateAccounts(created, accountEnv(count, password, csv), join(dir, "create-accounts.log"));
    log(`accounts created in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    rmSync(dir, { recursive: true, force: true });
  }
  const httpPort = args["http-port"] === undefined ? undefined : int("http-port", 1);
  const target = baseTarget(args.name, port, httpPort, pid, password);
  // The bench cannot restart a server it did not start: repeated runs share its process.
  const runs: Record<string, Metric[][]> = {};
  for (const unit of selectedUnits) {
    const list: Metric[][] = [];
    runs[unit.id] = list;
    for (let r = 1; r <= repeat; r++) {
      list.push(await runOnce(target.name, unit, r, async () => ({ target, stop: async () => {} })));
    }
  }
  const metrics = selectedUnits.flatMap((u) => medianMetrics(runs[u.id] ?? []));
  process.stdout.write(
    `\n${pinning}; the target server is not pinned by the bench (start it under taskset -c 0); ` +
      `${repeat === 1 ? "one run" : `median of ${repeat} runs on the same server process`}\n\n`,
  );
  process.stdout.write(`${table([{ name: target.name, metrics }], false)}\n`);
  if (args.json)
    writeFileSync(
      args.json,
      JSON.stringify({ load, repeat, pinning, targets: { [target.name]: metrics }, runs }, null, 2),
    );
}

async function comparison(): Promise<void> {
  const count = accountsNeeded();
  const iterations = int("iterations", 4096);
  const results: { name: string; metrics: Metric[]; runs?: Record<string, Metric[][]> }[] = [];
  const notes: string[] = [];
  let failed = false;

  // Without --servers, every server that is installed; one that is not is skipped with a warning. One that
  // --servers names and that is not installed is a failure (its column says why).
  const ejabberdVersion = ejabberdInstalled(args["ejabberd-erl"], args["ejabberd-libs"]);
  const installed: Record<string, string | undefined> = {
    natter: undefined,
    prosody: existsSync(args.prosody) ? undefined : `${args.prosody} not found (apt-get install prosody)`,
    ejabberd:
      ejabberdVersion !== undefined
        ? undefined
        : `no ${args["ejabberd-erl"]} or no ejabberd-*/ebin under ${args["ejabberd-libs"]} (apt-get install ejabberd)`,
  };
  const named = args.servers
    ?.split(",")
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  for (const name of named ?? []) {
    if (!(name in installed)) {
      process.stderr.write(`--servers: unknown server "${name}" (natter, prosody, ejabberd)\n`);
      process.exit(2);
    }
  }
  const wanted: string[] = [];
  for (const name of named ?? Object.keys(installed)) {
    const missing = installed[name];
    if (missing === undefined) wanted.push(name);
    else if (named === undefined) {
      log(`warning: ${name} skipped: ${missing}`);
      notes.push(`${name} was not measured: ${missing}`);
    } else {
      notes.push(`${name} could not be measured: ${missing}`);
      results.push({ name: name === "prosody" ? "Prosody" : "ejabberd", metrics: [] });
      failed = true;
    }
  }

  /** A server to measure: its directory, accounts and a way to start it afresh for each run. */
  interface Contender {
    name: string;
    dir: string;
    password: string;
    start: (unit: RunUnit) => Promise<RunningServer>;
    /** By RunUnit id. */
    runs: Map<string, Metric[][]>;
  }
  const contenders: Contender[] = [];

  // idle-tls: one self-signed certificate for the domain, given to every server for that scenario only.
  let certificate: CertificateFiles | undefined;
  const tlsDir = scenarioNames.has("idle-tls") ? mkdtempSync(join(tmpdir(), "natter-bench-tls-")) : undefined;
  const tlsFor = (scenario: ScenarioName) => {
    if (scenario !== "idle-tls" || tlsDir === undefined) return undefined;
    certificate ??= benchCertificate(tlsDir, args.domain);
    return certificate;
  };

  /** A presence run's rosters, written into the restored storage before the server starts (timed in the log). */
  const writeRosters = async (name: string, shape: PresenceShape, write: () => Promise<number>) => {
    log(`${name}: writing ${shape.accounts} rosters of ${shape.contacts} contacts into its storage`);
    const t0 = performance.now();
    const items = await write();
    log(`${name}: ${items} roster items written in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  };

  /**
   * `prepare` creates the accounts once; a copy of the data directory as it left it is put back before every
   * run, so that no run sees what an earlier one stored (a MAM archive, rosters, offline messages).
   */
  const prepareOne = async (
    name: string,
    prepare: (dir: string, password: string) => Promise<void>,
    start: (dir: string, unit: RunUnit) => Promise<RunningServer>,
  ) => {
    const dir = mkdtempSync(join(tmpdir(), `natter-bench-${name.toLowerCase()}-`));
    const password = `bench-${Date.now().toString(36)}`;
    const data = join(dir, "data");
    const pristine = join(dir, "data.prepared");
    try {
      await prepare(dir, password);
      if (existsSync(data)) cpSync(data, pristine, { recursive: true });
      contenders.push({
        name,
        dir,
        password,
        start: async (unit) => {
          rmSync(data, { recursive: true, force: true });
          if (existsSync(pristine)) cpSync(pristine, data, { recursive: true });
          return start(dir, unit);
        },
        runs: new Map(),
      });
    } catch (err) {
      log(`${name}: ${(err as Error).message}`);
      notes.push(`${name} could not be measured: ${(err as Error).message.split("\n")[0]}`);
      notes.push(`${name}: configuration, data and logs kept in ${dir}`);
      results.push({ name, metrics: [] });
      failed = true;
    }
  };

  if (wanted.includes("natter")) {
    const command = args.natter ? ["sh", "-c", `exec ${args.natter} "$@"`, "natter"] : natterCommand();
    if (command === undefined) {
      notes.push("Natter was not measured: neither dist/src/main.js nor src/main.ts exists");
      results.push({ name: "Natter", metrics: [] });
    } else {
      // The bosh section only when this checkout has BOSH: an older Natter refuses keys it does not know.
      const opts = (dir: string) => ({
        dir,
        domain: args.domain,
        command,
        mam: args.mam,
        exemptLoopback: true,
        bosh: natterHasBosh(args.natter),
      });
      await prepareOne(
        "Natter",
        async (dir, password) => {
          const config = natterConfig(opts(dir), await freePort(), await freePort());
          const csv = join(dir, "users.csv");
          writeUsersCsv(csv, args.domain, "bench-user-", count, password);
          log(`Natter: creating ${count} accounts (natter adduser --from-file)`);
          const t0 = performance.now();
          await createNatterAccounts(opts(dir), config, csv);
          log(`Natter: accounts created in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
        },
        async (dir, { scenario, shape }) => {
          const port = await freePort();
          const httpPort = await freePort();
          // The archive scenario needs Natter's mam module whatever --mam says.
          const o = {
            ...opts(dir),
            mam: args.mam || scenario === "mam",
            mamMaxMessages: scenario === "mam" ? Math.max(100_000, load.mam.items) : undefined,
            tls: tlsFor(scenario),
          };
          const config = natterConfig(o, port, httpPort);
          if (scenario === "muc") writeMucConfig(config, load.muc.archive);
          if (shape !== undefined)
            await writeRosters("Natter", shape, () => provisionRosters(config, shape.accounts, shape.contacts));
          return startNatter(o, config, port, httpPort);
        },
      );
    }
  }
  if (wanted.includes("prosody")) {
    await prepareOne(
      "Prosody",
      async (dir, password) => {
        log(`Prosody: writing ${count} internal_hashed accounts`);
        await writeProsodyAccounts(join(dir, "data"), args.domain, "bench-user-", count, password, iterations);
      },
      async (dir, unit) => {
        const { shape } = unit;
        if (shape !== undefined) {
          await writeRosters("Prosody", shape, async () =>
            writeProsodyRosters(join(dir, "data"), args.domain, "bench-user-", shape.accounts, shape.contacts),
          );
        }
        return startProsody({
          dir,
          domain: args.domain,
          binary: args.prosody,
          mam: args.mam,
          tls: tlsFor(unit.scenario),
        });
      },
    );
  }
  if (wanted.includes("ejabberd")) {
    const opts = (dir: string) => ({
      dir,
      domain: args.domain,
      erl: args["ejabberd-erl"],
      libs: args["ejabberd-libs"],
      mam: args.mam,
    });
    await prepareOne(
      "ejabberd",
      async (dir, password) => {
        log(`ejabberd (${ejabberdVersion}): loading ${count} SCRAM-SHA-1 accounts into its Mnesia spool`);
        const t0 = performance.now();
        await createEjabberdAccounts(opts(dir), "bench-user-", count, password, iterations);
        log(`ejabberd: accounts created in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      },
      async (dir, unit) => {
        const { shape } = unit;
        if (shape !== undefined) {
          await writeRosters("ejabberd", shape, () =>
            loadEjabberdRosters(opts(dir), "bench-user-", shape.accounts, shape.contacts),
          );
        }
        return startEjabberd({ ...opts(dir), tls: tlsFor(unit.scenario) });
      },
    );
  }

  // Scenario by scenario, run r of every server before run r+1 of any: a slow spell on the machine then
  // touches each server's runs alike instead of one server's whole series.
  for (const unit of selectedUnits) {
    for (let r = 1; r <= repeat; r++) {
      for (const c of contenders) {
        const metrics = await runOnce(c.name, unit, r, async () => {
          const server = await c.start(unit);
          log(
            `${c.name}: started, pid ${server.pid} on cores ${allowedCores(server.pid)}, port ${server.port}, dir ${c.dir}`,
          );
          const target = baseTarget(c.name, server.port, server.httpPort, server.pid, c.password);
          return { target: { ...target, loopDelay: server.loopDelay }, stop: server.stop };
        });
        c.runs.set(unit.id, [...(c.runs.get(unit.id) ?? []), metrics]);
      }
    }
  }
  for (const c of contenders) {
    const metrics = selectedUnits.flatMap((u) => medianMetrics(c.runs.get(u.id) ?? []));
    const ok = !metrics.some((m) => m.key.endsWith("_failed"));
    if (!ok) {
      failed = true;
      notes.push(`${c.name}: configuration, data and logs kept in ${c.dir}`);
    } else if (!args.keep) rmSync(c.dir, { recursive: true, force: true });
    results.push({ name: c.name, metrics, runs: Object.fromEntries(c.runs) });
  }

  // Every CPU on the machine: nproc would count only the load generator's cores once it is pinned.
  process.stdout.write(
    `\n${repeat === 1 ? "One run" : `Median of ${repeat} runs`} per scenario and server, each on a freshly started server ` +
      `(runs alternate between the servers); ${pinning}\n`,
  );
  process.stdout.write(
    `Loopback, ${cpus().length} CPUs, SASL ${args.mechanism}, ${load.presence ? "with" : "without"} initial presence; ` +
      `message archive ${args.mam ? "on" : "off"}; ${load.sessions} idle sessions; ${load.logins} logins × ${load.concurrency} concurrent; ` +
      `${load.pairs} pairs × ${load.inflight} in flight for ${load.duration} s` +
      `${args["logins-hold"] ? "; login sessions held open" : ""}` +
      `${scenarioNames.has("muc") ? `; MUC ${mucShapes.map((m) => mucShapeName(m).label).join(" / ")}, ${load.muc.inflight} in flight per sender` : ""}` +
      `${wantsBosh ? `; ${load.boshSessions} BOSH sessions (hold=1, wait=60)` : ""}` +
      `${scenarioNames.has("presence") ? `; presence: ring rosters (subscription both), ${load.concurrency} logins in flight with roster get, then ${load.presenceRun.updates} updates each, one in flight` : ""}` +
      "; ws-/bosh- rows over WebSocket / BOSH on the HTTP port\n\n",
  );
  const ordered = ["Natter", "Prosody", "ejabberd"]
    .map((n) => results.find((r) => r.name === n))
    .filter((r) => r !== undefined);
  process.stdout.write(`${table(ordered, ordered.length >= 2 && ordered[0]?.name === "Natter")}\n`);
  const natter = results.find((r) => r.name === "Natter");
  if (natter && natter.metrics.length > 0)
    process.stdout.write(
      `\nNatter against the targets:\n  ${targetsCheck(
        natter.metrics,
        results.filter((r) => r !== natter),
      ).join("\n  ")}\n`,
    );
  for (const note of notes) process.stdout.write(`\nnote: ${note}\n`);
  if (tlsDir !== undefined && !args.keep) rmSync(tlsDir, { recursive: true, force: true });
  log(`client-side SCRAM key derivations: ${keyDerivations}`);
  if (args.json) writeFileSync(args.json, JSON.stringify({ load, repeat, pinning, results }, null, 2));
  if (failed) process.exitCode = 1;
}

/** `--cluster n`: the cluster scenario alone, its figures in one column, and the issue's targets. */
async function clusterBench(nodes: number): Promise<void> {
  const metrics = await runCluster(
    {
      nodes,
      pairs: load.pairs,
      inflight: load.inflight,
      duration: load.duration,
      warmup: load.warmup,
      sessions: load.sessions,
      concurrency: load.concurrency,
      settle: load.settle,
      keep: args.keep,
    },
    log,
  );
  process.stdout.write(`${table([{ name: `Natter, ${nodes} nodes`, metrics }], false)}\n`);
  const get = (key: string) => metrics.find((m) => m.key === key)?.value;
  const ratio = get("cluster_cpu_ratio");
  if (ratio !== undefined) {
    process.stdout.write(
      `${ratio < 2 ? "PASS" : "MISS"}  cross-node CPU per message < 2× local: ${format(ratio, "×")}\n`,
    );
  }
  const held = get("cluster_idle_sessions");
  const kib = get("cluster_idle_kib_per_session");
  if (held !== undefined && kib !== undefined) {
    const ok = held >= 10_000 && kib < 24;
    process.stdout.write(
      `${ok ? "PASS" : "MISS"}  10,000 idle sessions over the nodes at < 24 KiB each: ${format(held, "")} at ${format(kib, "KiB")} (+ ${format(get("cluster_redis_bytes_per_session") ?? Number.NaN, "B")} in Redis)\n`,
    );
  }
  if (args.json) writeFileSync(args.json, JSON.stringify({ load, nodes, pinning, metrics }, null, 2));
}

async function main(): Promise<void> {
  if (args.help) {
    process.stdout.write(USAGE);
    return;
  }
  if (args["write-prosody-accounts"]) return writeProsodyAccountsFromEnv(args["write-prosody-accounts"]);
  if (!["SCRAM-SHA-1", "PLAIN"].includes(args.mechanism)) {
    process.stderr.write("--mechanism: SCRAM-SHA-1 or PLAIN\n");
    process.exit(2);
  }
  if (args.host !== "127.0.0.1" && args.host !== "::1" && args.host !== "localhost") {
    process.stderr.write("--host: the benchmark only connects to loopback (127.0.0.1, ::1)\n");
    process.exit(2);
  }
  ensureFdLimit(Math.max(load.sessions, 2 * load.boshSessions) + load.pairs * 2 + 1000);
  pinning = pinLoadGenerator();
  log(pinning);
  if (args.cluster !== undefined) return clusterBench(int("cluster", 2));
  if (args.port !== undefined) await external();
  else await comparison();
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (err: unknown) => {
    log(`bench failed: ${(err as Error).stack ?? err}`);
    process.exit(1);
  },
);
