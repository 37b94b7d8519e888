// Memory per idle session over plain TCP or STARTTLS (issue 13), and heap snapshots of the server holding them.
// Starts a Natter (pinned as bench/cpu-pinning.ts does), logs N accounts in (STARTTLS when --tls, SASL PLAIN,
// bind, initial presence), then prints ΔRSS / sessions the way the `idle` scenario reads it. With --snapshot
// the server runs with --heapsnapshot-signal=SIGUSR2 and writes a heap snapshot with the sessions open.
//
//   node --import tsx bench/session-memory-probe.ts [--sessions 2000] [--tls] [--snapshot <dir>] [--natter-js <main.js>]
//                                                   [--accounts-dir <dir reused across runs>]
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { type Socket, connect } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { connect as tlsConnect } from "node:tls";
import { ScramSha1Client } from "./client.js";
import { pinLoadGenerator } from "./cpu-pinning.js";
import { createNatterAccounts, freePort, natterCommand, natterConfig, startNatter, writeUsersCsv } from "./servers.js";
import { cpuSeconds, pool, rssKiB, sleep } from "./stats.js";

function argText(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const SESSIONS = Number(argText("sessions") ?? 2000);
const TLS = process.argv.includes("--tls");
const SNAPSHOT = argText("snapshot");
const DOMAIN = "localhost";
const PASSWORD = "probe-password";

function reader(socket: Socket) {
  let text = "";
  let want: { re: RegExp; resolve: (s: string) => void } | undefined;
  const onData = (d: Buffer) => {
    text += d.toString("utf8");
    if (want?.re.test(text)) {
      const w = want;
      want = undefined;
      const t = text;
      text = "";
      w.resolve(t);
    }
  };
  socket.on("data", onData);
  return {
    until(re: RegExp): Promise<string> {
      return new Promise((resolve, reject) => {
        if (re.test(text)) {
          const t = text;
          text = "";
          return resolve(t);
        }
        want = { re, resolve };
        socket.once("close", () => reject(new Error(`closed waiting for ${re}: ${text.slice(-200)}`)));
      });
    },
    detach() {
      socket.off("data", onData);
    },
  };
}

const header = `<?xml version='1.0'?><stream:stream to='${DOMAIN}' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>`;

async function login(port: number, n: number): Promise<Socket> {
  let socket: Socket = connect({ port, host: "127.0.0.1" });
  socket.on("error", () => {});
  await new Promise<void>((res, rej) => socket.once("connect", () => res()).once("error", rej));
  let r = reader(socket);
  socket.write(header);
  await r.until(/<\/stream:features>/);
  if (TLS) {
    socket.write("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
    await r.until(/<proceed/);
    r.detach();
    const tls = tlsConnect({ socket, servername: DOMAIN, rejectUnauthorized: false });
    tls.on("error", () => {});
    await new Promise<void>((res, rej) => tls.once("secureConnect", () => res()).once("error", rej));
    socket = tls;
    r = reader(socket);
    socket.write(header);
    await r.until(/<\/stream:features>/);
  }
  // SCRAM-SHA-1 as the bench's own client does (PLAIN is not offered without TLS); its key cache makes it cheap.
  const scram = new ScramSha1Client(`probe-${n}`, PASSWORD);
  socket.write(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-1'>${scram.first()}</auth>`);
  const challenge = await r.until(/<\/challenge>|<failure[\s\S]*<\/failure>/);
  if (!challenge.includes("<challenge")) throw new Error(`auth failed: ${challenge}`);
  socket.write(
    `<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>${await scram.final(/>([^<]*)<\//.exec(challenge)?.[1] ?? "")}</response>`,
  );
  const outcome = await r.until(/<\/success>|<success[^>]*\/>|<\/failure>/);
  if (!outcome.includes("<success")) throw new Error(`auth failed: ${outcome}`);
  socket.write(header);
  await r.until(/<\/stream:features>/);
  socket.write(
    "<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>probe</resource></bind></iq>",
  );
  await r.until(/<\/iq>/);
  socket.write("<presence/>");
  r.detach();
  socket.on("data", () => {});
  return socket;
}

async function quiet(pid: number): Promise<void> {
  let before = cpuSeconds(pid);
  for (let i = 0; i < 15; i++) {
    await sleep(1000);
    const now = cpuSeconds(pid);
    if (now - before < 0.02) return;
    before = now;
  }
}

async function lowRss(pid: number, readings: number): Promise<number> {
  let low = rssKiB(pid);
  for (let i = 1; i < readings; i++) {
    await sleep(1000);
    low = Math.min(low, rssKiB(pid));
  }
  return low;
}

async function main(): Promise<void> {
  console.error(pinLoadGenerator());
  const compiled = argText("natter-js");
  const base = compiled ? [process.execPath, resolve(compiled)] : natterCommand();
  if (!base) throw new Error("no Natter build");
  const command = SNAPSHOT ? [base[0] as string, "--heapsnapshot-signal=SIGUSR2", ...base.slice(1)] : base;
  const dir = mkdtempSync(join(tmpdir(), "natter-session-probe-"));
  const [port, httpPort] = [await freePort(), await freePort()];
  const opts = { dir, domain: DOMAIN, command, mam: false, exemptLoopback: true };
  const config = natterConfig(opts, port, httpPort);
  // Accounts: created once per --accounts-dir (PBKDF2 for thousands of accounts takes a while), copied per run.
  const accounts = argText("accounts-dir");
  if (accounts && existsSync(join(accounts, "data"))) {
    cpSync(join(accounts, "data"), join(dir, "data"), { recursive: true });
  } else {
    const csv = join(dir, "users.csv");
    writeUsersCsv(csv, DOMAIN, "probe-", SESSIONS, PASSWORD);
    await createNatterAccounts(opts, config, csv);
    if (accounts) {
      mkdirSync(accounts, { recursive: true });
      cpSync(join(dir, "data"), join(accounts, "data"), { recursive: true });
    }
  }
  const server = await startNatter(opts, config, port, httpPort);
  const sockets: Socket[] = [];
  try {
    const warm = await Promise.all(Array.from({ length: 10 }, (_, i) => login(port, SESSIONS - i)));
    for (const s of warm) s.destroy();
    await quiet(server.pid);
    const before = await lowRss(server.pid, 3);
    // With --snapshot, one before the sessions too (diffing the two gives what the sessions hold; the RSS
    // figures of such a run include the snapshots' own cost and are not the ones to report).
    if (SNAPSHOT) await snapshot(server.pid, dir, "before");
    let failures = 0;
    let firstError = "";
    await pool(SESSIONS - 10, 200, async (i) => {
      try {
        sockets.push(await login(port, i + 1));
      } catch (err) {
        failures++;
        firstError ||= String(err);
      }
    });
    await sleep(5000);
    await quiet(server.pid);
    const after = await lowRss(server.pid, 5);
    const open = sockets.filter((s) => !s.destroyed).length;
    console.log(
      JSON.stringify({
        tls: TLS,
        sessions: open,
        failures,
        firstError,
        rssBeforeMiB: +(before / 1024).toFixed(1),
        rssAfterMiB: +(after / 1024).toFixed(1),
        kibPerSession: +((after - before) / open).toFixed(2),
      }),
    );
    if (SNAPSHOT) await snapshot(server.pid, dir, `${open}`);
  } finally {
    for (const s of sockets) s.destroy();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** SIGUSR2 (--heapsnapshot-signal): the server writes a snapshot into its working directory; copied to SNAPSHOT. */
async function snapshot(pid: number, dir: string, label: string): Promise<void> {
  mkdirSync(SNAPSHOT as string, { recursive: true });
  const had = new Set(readdirSync(dir));
  process.kill(pid, "SIGUSR2");
  for (let i = 0; i < 120; i++) {
    await sleep(1000);
    const file = readdirSync(dir).find((f) => f.endsWith(".heapsnapshot") && !had.has(f));
    if (file && (await quietFile(join(dir, file)))) {
      const to = join(SNAPSHOT as string, `${TLS ? "tls" : "plain"}-${label}.heapsnapshot`);
      cpSync(join(dir, file), to);
      console.error(`snapshot: ${to}`);
      return;
    }
  }
}

async function quietFile(file: string): Promise<boolean> {
  const { statSync } = await import("node:fs");
  const a = statSync(file).size;
  await sleep(1500);
  return a > 0 && statSync(file).size === a;
}

await main();
