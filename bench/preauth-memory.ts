// What unauthenticated strangers can make a Natter hold (issue 11): starts a Natter as a child process (on core 0
// with taskset where there is one, itself on the other cores: bench/cpu-pinning.ts), opens N connections that
// never authenticate, each sending a stream header and the largest unfinished stanza the pre-auth limits allow,
// then prints the server's RSS over its idle RSS.
//
//   node --import tsx bench/preauth-memory.ts [--connections 500] [--bytes 4000] [--elements 63] [--attributes 0] [--settle 3] [--starttls]
//                                             [--natter-src /path/to/checkout | --natter-js /path/to/dist/src/main.js]
//                                             [--server prosody] (Debian's Prosody, same pinning, same load)
//
// Connections come from 127.0.0.1 … 127.0.0.N/20 (Linux answers all of 127/8 on loopback), 20 per address,
// so the default per-address cap admits them all and the config is the same for old and new code.
// --natter-src runs another checkout's src/main.ts through tsx, --natter-js a compiled main.js (e.g. the code
// before the fix, for a before figure). Compiled code gives the truer figure: tsx's compile garbage inflates
// the idle RSS and the heap then absorbs small growth.

import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { type Socket, connect } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { allowedCores, cpuPinning, pinLoadGenerator } from "./cpu-pinning.js";
import { type RunningServer, freePort, natterCommand, natterConfig, startNatter, startProsody } from "./servers.js";
import { sleep } from "./stats.js";

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
function argText(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const CONNECTIONS = arg("connections", 500);
/** Bytes of the unfinished stanza: just under c2s.pre_auth.max_stanza_size (4096). */
const BYTES = arg("bytes", 4000);
/** Elements in it, the stanza included: just under c2s.pre_auth.max_elements_per_stanza (64). */
const ELEMENTS = arg("elements", 63);
/** Attributes per element (c2s.max_attributes_per_element is 64). */
const ATTRIBUTES = arg("attributes", 0);
/** Seconds between the last connection and the measurement (parsing a large payload on 500 streams takes a while). */
const SETTLE = arg("settle", 3);
/** Complete STARTTLS first (c2s.require_encryption): the stanza is then sent inside TLS, whose state costs too. */
const STARTTLS = process.argv.includes("--starttls");
/** natter (default) or prosody: the same strangers against Debian's Prosody, for comparison. */
const SERVER = argText("server") ?? "natter";
const PER_ADDRESS = 20;
const DOMAIN = "localhost";

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) : Number.NaN;
}

/** An unfinished <message>: ELEMENTS-1 children with ATTRIBUTES attributes each, then text up to BYTES. */
function payload(): string {
  const attrs = Array.from({ length: ATTRIBUTES }, (_, i) => ` a${i}='${i}'`).join("");
  let out = `<message${attrs}>`;
  for (let i = 1; i < ELEMENTS && out.length + 6 + attrs.length < BYTES; i++) out += `<a${attrs}/>`;
  if (out.length < BYTES) out += "x".repeat(BYTES - out.length);
  return out;
}

/** Natter's argv; servers.ts puts it on the server core (bench/cpu-pinning.ts). */
function command(): string[] {
  const src = argText("natter-src");
  const compiled = argText("natter-js");
  if (compiled) return [process.execPath, resolve(compiled)];
  if (src) return [process.execPath, "--import", import.meta.resolve("tsx"), join(src, "src", "main.ts")];
  const own = natterCommand();
  if (!own) throw new Error("no Natter build or sources found");
  return own;
}

/** Resolves once what `socket` received matches. */
function received(socket: Socket, pattern: RegExp): Promise<void> {
  return new Promise((resolve, reject) => {
    let text = "";
    const onData = (d: Buffer) => {
      text += d.toString("utf8");
      if (!pattern.test(text)) return;
      socket.off("data", onData);
      resolve();
    };
    socket.on("data", onData);
    socket.once("close", () => reject(new Error(`closed before ${pattern}: ${text.slice(-300)}`)));
  });
}

async function open(port: number, index: number, header: string, stanza: string): Promise<Socket> {
  const localAddress = `127.0.0.${1 + Math.floor(index / PER_ADDRESS)}`;
  let socket: Socket = connect({ port, host: "127.0.0.1", localAddress });
  socket.on("error", () => {});
  await new Promise<void>((resolve, reject) => socket.once("connect", () => resolve()).once("error", reject));
  if (STARTTLS) {
    const features = received(socket, /<\/stream:features>/);
    socket.write(header);
    await features;
    const proceed = received(socket, /<proceed/);
    socket.write("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
    await proceed;
    socket.removeAllListeners("data");
    const tls = tlsConnect({ socket, servername: DOMAIN, rejectUnauthorized: false });
    tls.on("error", () => {});
    await new Promise<void>((resolve, reject) => tls.once("secureConnect", () => resolve()).once("error", reject));
    socket = tls;
  }
  socket.write(header + stanza);
  return socket;
}

async function main(): Promise<void> {
  const pinning = pinLoadGenerator();
  console.error(pinning);
  const dir = mkdtempSync(join(tmpdir(), "natter-preauth-bench-"));
  let server: RunningServer;
  let described: string;
  if (SERVER === "prosody") {
    server = await startProsody({ dir, domain: DOMAIN, binary: argText("prosody") ?? "/usr/bin/prosody", mam: false });
    described = "prosody";
  } else {
    const [natterPort, httpPort] = [await freePort(), await freePort()];
    const opts = { dir, domain: DOMAIN, command: command(), mam: false };
    server = await startNatter(opts, natterConfig(opts, natterPort, httpPort), natterPort, httpPort);
    described = opts.command.join(" ");
  }
  const port = server.port;
  const sockets: Socket[] = [];
  try {
    await sleep(2000);
    const idle = rssKiB(server.pid);
    const stanza = payload();
    const header = `<?xml version='1.0'?><stream:stream to='${DOMAIN}' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>`;
    let closed = 0;
    let refused = 0;
    for (let i = 0; i < CONNECTIONS; i++) {
      const s = await open(port, i, header, stanza);
      s.once("close", () => closed++);
      let seen = "";
      s.on("data", (d: Buffer) => {
        if (seen.includes("<stream:error")) return;
        seen += d.toString("utf8");
        if (seen.includes("<stream:error")) refused++;
      });
      sockets.push(s);
    }
    await sleep(SETTLE * 1000);
    const loaded = rssKiB(server.pid);
    const overMiB = (loaded - idle) / 1024;
    console.log(
      JSON.stringify({
        command: described,
        pinning: cpuPinning().description,
        serverCores: allowedCores(server.pid),
        connections: CONNECTIONS,
        stanzaBytes: Buffer.byteLength(stanza),
        elements: Math.min(ELEMENTS, (stanza.match(/</g) ?? []).length),
        attributesPerElement: ATTRIBUTES,
        starttls: STARTTLS,
        closedByServer: closed,
        streamErrors: refused,
        idleRssMiB: +(idle / 1024).toFixed(1),
        loadedRssMiB: +(loaded / 1024).toFixed(1),
        overIdleMiB: +overMiB.toFixed(1),
        perConnectionKiB: +((loaded - idle) / CONNECTIONS).toFixed(1),
      }),
    );
    console.log(`${server.name}: RSS over idle with ${CONNECTIONS} unauthenticated connections: ${overMiB.toFixed(1)} MiB (target < 64 MiB)`);
  } finally {
    for (const s of sockets) s.destroy();
    await server.stop();
    if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
  }
}

await main();
