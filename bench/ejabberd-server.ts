// ejabberd (Debian's package, 23.01) for the built-in comparison: its own ejabberd.yml and Mnesia spool in the
// bench's temporary directory, started as a foreground Erlang VM on the server core, and its bench accounts
// loaded straight into Mnesia.
//
// Why `erl … -s ejabberd` and not `ejabberdctl foreground`: Debian's ejabberdctl is that same command line
// (`erl -sname ejabberd@localhost +K true +P 250000 -mnesia dir "<spool>" -s ejabberd -noinput`), but run as
// root it re-runs itself through `su ejabberd` (who cannot read the bench's 0700 temporary directory, and the
// pid the bench holds would be su's, not the VM's), and it names the node, which starts epmd, a daemon that
// outlives the bench. The VM here is not distributed (node nonode@nohost): no node name, cookie or epmd, so
// nothing can attach to it and any number of benches can run side by side. Mnesia keys its schema by node
// name, and nonode@nohost is the same in every run, so the prepared spool can be copied back before each run.

import { type ChildProcess } from "node:child_process";
import { createHash, createHmac, pbkdf2, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { checkRingShape, ringContacts } from "./ring-contacts.js";
import { pool } from "./stats.js";
import type { CertificateFiles } from "./tls-certificate.js";
import { freePort, type RunningServer, spawnServer, stopper, tail, waitForPort } from "./servers.js";

/** Where Debian puts ejabberd and its Erlang dependencies that are not in /usr/lib/erlang/lib (ejabberdctl's ERL_LIBS). */
export const DEBIAN_EJABBERD_LIBS = "/usr/lib/x86_64-linux-gnu";

export interface EjabberdOptions {
  dir: string;
  domain: string;
  /** The `erl` that runs it (Debian's ejabberdctl uses /usr/bin/erl). */
  erl: string;
  /** ERL_LIBS: the directory holding ejabberd-<version>/ebin. */
  libs: string;
  /** Load mod_mam archiving every chat message (`--mam`); Debian's default config has no mod_mam. */
  mam: boolean;
  /** Offer STARTTLS on c2s (`starttls: true`, not required) with this certificate (`certfiles`). */
  tls?: CertificateFiles;
}

/** The ejabberd version under `libs` (ejabberd-23.01), or undefined when it is not installed there. */
export function ejabberdInstalled(erl: string, libs: string): string | undefined {
  if (!existsSync(erl)) return undefined;
  try {
    return readdirSync(libs)
      .filter((d) => /^ejabberd-\d[\w.-]*$/.test(d) && existsSync(join(libs, d, "ebin", "ejabberd.app")))
      .sort()
      .at(-1);
  } catch {
    return undefined;
  }
}

const erlString = (s: string) => `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
const erlBinary = (s: string) => `<<${erlString(s)}>>`;

/**
 * ejabberd.yml: Debian's default config with what a load test on loopback needs changed (see bench/README.md):
 * plain c2s (no STARTTLS), no shapers or other throttles, no MAM (Debian's config has no mod_mam either), MUC on
 * conference.<domain>, WebSocket and BOSH on a plain HTTP port, SCRAM-SHA-1 credentials stored (not plain
 * passwords), and only the modules that serve the bench's clients.
 */
export function ejabberdConfig(opts: EjabberdOptions, port: number, httpPort: number): string {
  const config = join(opts.dir, "ejabberd.yml");
  writeFileSync(
    config,
    `# Written by natter bench: plain c2s on loopback for load tests. Not for production.
hosts: [${JSON.stringify(opts.domain)}]
loglevel: warning
log_rotate_count: 0
hide_sensitive_log_data: true
# No certificate fetched; one given only for the idle-tls scenario (STARTTLS offered, not required).
acme: { auto: false }
${opts.tls ? `certfiles: [${JSON.stringify(opts.tls.cert)}, ${JSON.stringify(opts.tls.key)}]\n` : ""}
# Debian's default is a 3000 B/s c2s shaper ("normal") for all but admins, and 10 sessions per account.
max_fsm_queue: 1000000
listen:
  - port: ${port}
    ip: "127.0.0.1"
    module: ejabberd_c2s
    max_stanza_size: 262144
    shaper: none
    access: c2s
    starttls: ${opts.tls ? "true" : "false"}
    starttls_required: false
    max_fsm_queue: 1000000
    backlog: 1024
  # WebSocket (RFC 7395) and BOSH (XEP-0206) at the paths Natter's and Prosody's HTTP listeners use.
  - port: ${httpPort}
    ip: "127.0.0.1"
    module: ejabberd_http
    backlog: 1024
    request_handlers:
      /xmpp-websocket: ejabberd_http_ws
      /http-bind: mod_bosh
# SASL on plain c2s: PLAIN and SCRAM-SHA-1 (the SCRAM hash stored is SHA-1, ejabberd's default).
disable_sasl_mechanisms: ["digest-md5", "x-oauth2"]
auth_method: [mnesia]
auth_password_format: scram
auth_scram_hash: sha
default_db: mnesia
acl:
  local: { user_regexp: "" }
access_rules:
  local: { allow: local }
  c2s: { allow: all }
  muc_create: { allow: local }
  pubsub_createnode: { allow: local }
shaper_rules:
  c2s_shaper: none
# Debian's default modules minus: mod_mam (absent there too; --mam adds it), mod_pres_counter and mod_fail2ban (throttles),
# mod_shared_roster (no Prosody equivalent loaded), mod_mqtt, mod_stun_disco, mod_push*, mod_http_api,
# mod_admin_extra, mod_configure, mod_announce, mod_avatar, mod_sic, mod_s2s_dialback (nothing the bench uses).
modules:
  mod_adhoc: {}
  mod_blocking: {}
  mod_bosh: {}
  mod_caps: {}
  mod_carboncopy: {}
  mod_client_state: {}
  mod_disco: {}
  mod_last: {}
  mod_muc:
    host: ${JSON.stringify(`conference.${opts.domain}`)}
    access: [allow]
    access_create: muc_create
    access_persistent: muc_create
    # 200 by default: exactly the 1 × 200 MUC scenario, with no room to spare.
    max_users: 10000
    # Nothing throttles a room (these are the defaults, spelled out): no minimum interval between one
    # occupant's messages or presences, no shapers; presence broadcast kept up to 10,000 occupants (1,000).
    min_message_interval: 0
    min_presence_interval: 0
    room_shaper: none
    user_message_shaper: none
    user_presence_shaper: none
    max_users_presence: 10000
    default_room_options: { max_users: 10000, mam: false }
${opts.mam ? "  mod_mam: { default: always }\n" : ""}  mod_offline: {}
  mod_ping: {}
  mod_privacy: {}
  mod_private: {}
  mod_pubsub:
    access_createnode: pubsub_createnode
    plugins: [flat, pep]
  mod_roster: { versioning: true }
  mod_stream_mgmt: {}
  mod_vcard: { search: false }
  mod_vcard_xupdate: {}
  mod_version: {}
`,
  );
  return config;
}

/**
 * Environment and argv of the VM, as Debian's ejabberdctl builds them (`foreground`), minus the node name.
 * `+Q`: ports (sockets) the VM may open; ejabberdctl's 32000 would cap the idle scenarios below the
 * descriptor limit the other servers get.
 */
function ejabberdVm(opts: EjabberdOptions, config: string, extra: string[]): { argv: string[]; env: NodeJS.ProcessEnv } {
  const argv = [
    opts.erl,
    "+K",
    "true",
    "+P",
    "250000",
    "+Q",
    "65536",
    "-noinput",
    "-env",
    "ERL_CRASH_DUMP_BYTES",
    "0",
    "-mnesia",
    "dir",
    erlString(join(opts.dir, "data")),
    "-s",
    "ejabberd",
    ...extra,
  ];
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: opts.dir,
    ERL_LIBS: opts.libs,
    EJABBERD_CONFIG_PATH: config,
    // ejabberd writes ejabberd.log and error.log in this file's directory.
    EJABBERD_LOG_PATH: join(opts.dir, "logs", "ejabberd.log"),
    ERL_CRASH_DUMP: join(opts.dir, "logs", "erl_crash.dump"),
  };
  mkdirSync(join(opts.dir, "logs"), { recursive: true });
  mkdirSync(join(opts.dir, "data"), { recursive: true });
  return { argv, env };
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((res) => child.once("exit", (code) => res(code)));
}

/**
 * Create `count` accounts with SCRAM-SHA-1 credentials, the way ejabberd stores them (ejabberd_auth_mnesia:
 * `#passwd{us = {User, Server}, password = #scram{}}`, base64 stored key, server key and salt, a fresh 16-byte
 * salt per account): the keys are derived here, 8 at a time, and written as Erlang terms, and one VM start
 * loads them into the prepared spool in one Mnesia transaction, then stops (`init:stop()` writes Mnesia to
 * disk). `ejabberdctl register` would derive the keys in the server one account at a time, each call a new
 * VM attaching to the node.
 */
export async function createEjabberdAccounts(
  opts: EjabberdOptions,
  prefix: string,
  count: number,
  password: string,
  iterations: number,
): Promise<void> {
  const lines: string[] = new Array(count);
  await pool(count, 8, async (i) => {
    const salt = randomBytes(16);
    const salted = await new Promise<Buffer>((res, rej) =>
      pbkdf2(password, salt, iterations, 20, "sha1", (err, key) => (err ? rej(err) : res(key))),
    );
    const storedKey = createHash("sha1").update(createHmac("sha1", salted).update("Client Key").digest()).digest("base64");
    const serverKey = createHmac("sha1", salted).update("Server Key").digest("base64");
    lines[i] =
      `{passwd,{${erlBinary(`${prefix}${i + 1}`)},${erlBinary(opts.domain)}},` +
      `{scram,<<"${storedKey}">>,<<"${serverKey}">>,<<"${salt.toString("base64")}">>,sha,${iterations}}}.`;
  });
  await loadMnesiaRecords(opts, "passwd", "accounts", lines);
}

/**
 * Write `records` (Erlang terms, one per line, each ending in a full stop) into `table` of the prepared spool:
 * one VM start with ejabberd (whose modules create their tables), one Mnesia transaction, then `init:stop()`,
 * which writes Mnesia to disk. The same way for accounts and rosters.
 */
async function loadMnesiaRecords(opts: EjabberdOptions, table: string, what: string, records: string[]): Promise<void> {
  const terms = join(opts.dir, `${what}.terms`);
  writeFileSync(terms, `${records.join("\n")}\n`);
  const config = ejabberdConfig(opts, await freePort(), await freePort());
  const load =
    `{ok, Rs} = file:consult(${erlString(terms)}), ok = mnesia:wait_for_tables([${table}], 60000), ` +
    "{atomic, ok} = mnesia:transaction(fun() -> lists:foreach(fun mnesia:write/1, Rs) end), " +
    `io:format("bench: ~B ${what} loaded~n", [length(Rs)]), init:stop().`;
  const logFile = join(opts.dir, `${what}.log`);
  rmSync(logFile, { force: true });
  const { argv, env } = ejabberdVm(opts, config, ["-eval", load]);
  const child = spawnServer(argv, opts.dir, logFile, env);
  const code = await exited(child);
  if (code !== 0 || !readFileSync(logFile, "utf8").includes(`bench: ${records.length} ${what} loaded`)) {
    throw new Error(`ejabberd: loading ${what} into Mnesia failed (${code}); see ${logFile}:\n${tail(logFile)}`);
  }
  rmSync(terms, { force: true });
}

/**
 * Load the presence scenario's ring rosters (bench/ring-contacts.ts) into the spool as mod_roster_mnesia stores
 * them: one `#roster{}` per item (ejabberd 23.01 include/mod_roster.hrl: usj = {User, Server, ContactLJID},
 * us = {User, Server}, jid = {ContactUser, ContactServer, <<>>}, name = <<>>, subscription = both, ask = none,
 * groups = [<<"bench">>], askmessage = <<>>, xs = []), in the `roster` table (indexed on us) that
 * mod_roster_mnesia creates. Run on the restored spool before the server starts. Returns the items written.
 */
export async function loadEjabberdRosters(opts: EjabberdOptions, prefix: string, count: number, contacts: number): Promise<number> {
  checkRingShape(count, contacts);
  const server = erlBinary(opts.domain);
  const records: string[] = [];
  for (let i = 1; i <= count; i++) {
    const user = erlBinary(`${prefix}${i}`);
    for (const c of ringContacts(i, count, contacts)) {
      const contact = `{${erlBinary(`${prefix}${c}`)},${server},<<>>}`;
      records.push(`{roster,{${user},${server},${contact}},{${user},${server}},${contact},<<>>,both,none,[<<"bench">>],<<>>,[]}.`);
    }
  }
  await loadMnesiaRecords(opts, "roster", "rosters", records);
  return records.length;
}

export async function startEjabberd(opts: EjabberdOptions): Promise<RunningServer> {
  const port = await freePort();
  const httpPort = await freePort();
  const config = ejabberdConfig(opts, port, httpPort);
  const logFile = join(opts.dir, "ejabberd.out");
  const { argv, env } = ejabberdVm(opts, config, []);
  const child = spawnServer(argv, opts.dir, logFile, env);
  await waitForPort("127.0.0.1", port, child, 60_000, logFile);
  await waitForPort("127.0.0.1", httpPort, child, 60_000, logFile);
  const stop = stopper(child);
  return {
    name: "ejabberd",
    port,
    httpPort,
    pid: child.pid ?? 0,
    dir: opts.dir,
    logFile,
    // SIGTERM: the VM runs init:stop() (Mnesia closes its files); then the run's spool goes.
    stop: async () => {
      await stop();
      rmSync(join(opts.dir, "data"), { recursive: true, force: true });
    },
  };
}
