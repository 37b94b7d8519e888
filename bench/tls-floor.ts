// The floor under a login's cost (issue 17): what a bare Node TLS server spends on a resumed handshake, with no XMPP
// at all. A FAST login can cost the server no less than this, so it says what a "5,000 logins/s on one core" target
// leaves for the stream, SASL2, Bind 2 and storage: 1 s / 5,000 = 200 µs of server CPU per login, all of it.
//
// The server accepts TCP and wraps the socket as Natter's STARTTLS does (`new TLSSocket(raw, {isServer: true,
// secureContext})`, src/transports/tcp/tcp-connection.ts) with an EC P-256 certificate (what Natter makes for itself
// and the bench gives it), writes one byte once secure, and closes when the client does. It runs pinned to core 0,
// the load generator (this process) on core 1 (bench/cpu-pinning.ts). Each of `--concurrency` clients is one
// "account" that resumes its previous connection's session (RFC 8446 §2.2 tickets for TLS 1.3; RFC 5077 tickets for
// TLS 1.2), as a reconnecting phone does. Figures: handshakes/s and the server's CPU per handshake (from
// /proc/<pid>/stat over the measured window; the rate is bounded by the one-core client as much as by the server,
// the CPU per handshake is the figure), for:
//   tcp            TCP connect, one byte, close: the socket floor without TLS
//   tls13-resumed  TLS 1.3 PSK resumption (psk_dhe_ke: an ECDHE still runs, no certificate signature)
//   tls12-resumed  TLS 1.2 session ticket resumption (abbreviated handshake: no key exchange at all)
//   tls13-full     TLS 1.3 full handshake (ECDHE + the certificate's ECDSA signature), for scale
//
//   node dist/bench/tls-floor.js [--handshakes 5000] [--concurrency 50] [--repeat 3] [--variants tcp,tls13-resumed,...]

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect, createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { readFileSync } from "node:fs";
import { connect as tlsConnect, createSecureContext, type SecureVersion, TLSSocket } from "node:tls";
import { onServerCore, pinLoadGenerator } from "./cpu-pinning.js";
import { cpuSeconds, ownCpuSeconds, pool } from "./stats.js";
import { benchCertificate } from "./tls-certificate.js";

const VARIANTS = ["tcp", "tls13-resumed", "tls12-resumed", "tls13-full"] as const;
type Variant = (typeof VARIANTS)[number];

/** The server side: prints its port, serves until stdin closes. */
function serve(variant: Variant, certDir: string): void {
  const files = benchCertificate(certDir, "localhost");
  const secureContext = createSecureContext({
    cert: readFileSync(files.cert, "utf8"),
    key: readFileSync(files.key, "utf8"),
  });
  const server = createServer({ noDelay: true }, (raw: Socket) => {
    raw.on("error", () => undefined);
    if (variant === "tcp") {
      raw.write("x");
      raw.on("end", () => raw.end());
      raw.resume();
      return;
    }
    const tls = new TLSSocket(raw, { isServer: true, secureContext });
    tls.on("error", () => raw.destroy());
    tls.once("secure", () => tls.write("x"));
    tls.on("end", () => tls.end());
    tls.resume();
  });
  server.listen(0, "127.0.0.1", () => {
    const address = server.address();
    process.stdout.write(`${typeof address === "object" && address ? address.port : 0}\n`);
  });
  process.stdin.on("end", () => process.exit(0));
  process.stdin.resume();
}

interface Client {
  session?: Buffer;
}

/** One connection: handshake (resuming `client.session` where the variant does), read the byte, close. */
function handshake(port: number, variant: Variant, client: Client, resumed: { yes: number; no: number }) {
  return new Promise<void>((resolve, reject) => {
    const onByte = (socket: Socket) => {
      socket.once("data", () => {
        socket.end();
        socket.once("close", () => resolve());
      });
    };
    if (variant === "tcp") {
      const socket = connect({ host: "127.0.0.1", port, noDelay: true });
      socket.once("error", reject);
      onByte(socket);
      return;
    }
    const version: SecureVersion = variant === "tls12-resumed" ? "TLSv1.2" : "TLSv1.3";
    const socket = tlsConnect({
      host: "127.0.0.1",
      port,
      servername: "localhost",
      rejectUnauthorized: false,
      minVersion: version,
      maxVersion: version,
      ...(variant !== "tls13-full" && client.session ? { session: client.session } : {}),
    });
    socket.on("session", (session: Buffer) => {
      client.session = session;
    });
    socket.once("error", reject);
    socket.once("secureConnect", () => {
      if (socket.isSessionReused()) resumed.yes++;
      else resumed.no++;
    });
    onByte(socket);
  });
}

async function startServer(variant: Variant, certDir: string): Promise<{ pid: number; port: number; stop(): void }> {
  const argv = onServerCore([
    process.execPath,
    fileURLToPath(import.meta.url),
    "--serve",
    variant,
    "--cert-dir",
    certDir,
  ]);
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ["pipe", "pipe", "inherit"] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.setEncoding("utf8");
    child.stdout.once("data", (line: string) => resolve(Number(line.trim())));
    child.once("exit", (code) => reject(new Error(`floor server exited (${code})`)));
  });
  return { pid: child.pid!, port, stop: () => child.stdin.end() };
}

interface Figures {
  perSecond: number;
  serverUsPerHandshake: number;
  clientUsPerHandshake: number;
  serverBusy: number;
  resumedShare: number;
}

async function measure(variant: Variant, count: number, concurrency: number, certDir: string): Promise<Figures> {
  const server = await startServer(variant, certDir);
  try {
    const clients: Client[] = Array.from({ length: concurrency }, () => ({}));
    const warm = { yes: 0, no: 0 };
    // Unmeasured pass: every client gets a session to resume, and both processes' code is warm.
    await pool(Math.max(concurrency * 4, 1000), concurrency, (i) =>
      handshake(server.port, variant, clients[i % concurrency]!, warm),
    );
    const resumed = { yes: 0, no: 0 };
    const cpu0 = cpuSeconds(server.pid);
    const own0 = ownCpuSeconds();
    const t0 = performance.now();
    let next = 0;
    await pool(count, concurrency, async () => {
      // A client takes whichever account is free: each account's connections are sequential, like a phone's.
      const client = clients[next++ % concurrency]!;
      await handshake(server.port, variant, client, resumed);
    });
    const seconds = (performance.now() - t0) / 1000;
    const serverCpu = cpuSeconds(server.pid) - cpu0;
    return {
      perSecond: count / seconds,
      serverUsPerHandshake: (serverCpu / count) * 1e6,
      clientUsPerHandshake: ((ownCpuSeconds() - own0) / count) * 1e6,
      serverBusy: serverCpu / seconds,
      resumedShare: resumed.yes / Math.max(1, resumed.yes + resumed.no),
    };
  } finally {
    server.stop();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      serve: { type: "string" },
      "cert-dir": { type: "string" },
      handshakes: { type: "string", default: "5000" },
      concurrency: { type: "string", default: "50" },
      repeat: { type: "string", default: "3" },
      variants: { type: "string", default: VARIANTS.join(",") },
    },
  });
  if (values.serve) {
    serve(values.serve as Variant, values["cert-dir"] ?? tmpdir());
    return;
  }
  const variants = values.variants.split(",").map((v) => v.trim()) as Variant[];
  for (const v of variants) if (!VARIANTS.includes(v)) throw new Error(`unknown variant ${v} (${VARIANTS.join(", ")})`);
  const count = Number(values.handshakes);
  const concurrency = Number(values.concurrency);
  const repeat = Number(values.repeat);
  process.stderr.write(`${pinLoadGenerator()}; ${count} handshakes × ${concurrency} in flight, median of ${repeat}\n`);
  const certDir = mkdtempSync(join(tmpdir(), "natter-tls-floor-"));
  try {
    console.log(
      "| variant | handshakes/s | server µs CPU/handshake (runs) | server core busy | client µs/handshake | resumed |",
    );
    console.log("|:--|--:|--:|--:|--:|--:|");
    for (const variant of variants) {
      const runs: Figures[] = [];
      for (let r = 0; r < repeat; r++) runs.push(await measure(variant, count, concurrency, certDir));
      const us = runs.map((f) => f.serverUsPerHandshake);
      console.log(
        `| ${variant} | ${median(runs.map((f) => f.perSecond)).toFixed(0)} | ${median(us).toFixed(0)} (${us.map((u) => u.toFixed(0)).join(", ")}) | ` +
          `${(median(runs.map((f) => f.serverBusy)) * 100).toFixed(0)}% | ${median(runs.map((f) => f.clientUsPerHandshake)).toFixed(0)} | ` +
          `${(median(runs.map((f) => f.resumedShare)) * 100).toFixed(0)}% |`,
      );
    }
  } finally {
    rmSync(certDir, { recursive: true, force: true });
  }
}

await main();
