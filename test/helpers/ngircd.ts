// Debian's ngircd started by a test on a free loopback port with its own config (no PAM, no ident, no DNS), and
// a raw IRC client speaking RFC 2812 over node:net, for the IRC gateway tests.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./test-server.js";
import { waitForPort } from "./wait-for-port.js";

export const NGIRCD = "/usr/sbin/ngircd";

export interface Ngircd {
  port: number;
  /** The TLS port, when started with a certificate. */
  tlsPort?: number;
  dir: string;
  /** Kills the server (a drop for every client) and starts it again on the same port. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** `tls`: a certificate and key (PEM) for an extra TLS port. */
export async function startNgircd(opts: { tls?: { cert: string; key: string } } = {}): Promise<Ngircd> {
  const dir = mkdtempSync(join(tmpdir(), "natter-ngircd-"));
  // ngircd drops to nobody when started as root: it must still read its files.
  chmodSync(dir, 0o755);
  mkdirSync(join(dir, "conf.d"));
  const port = await freePort();
  const tlsPort = opts.tls ? await freePort() : undefined;
  if (opts.tls) {
    writeFileSync(join(dir, "cert.pem"), opts.tls.cert);
    writeFileSync(join(dir, "key.pem"), opts.tls.key, { mode: 0o644 });
  }
  const conf = join(dir, "ngircd.conf");
  writeFileSync(
    conf,
    [
      "[Global]",
      "Name = irc.test",
      "Info = Natter test IRC server",
      "Listen = 127.0.0.1",
      `Ports = ${port}`,
      `PidFile = ${join(dir, "ngircd.pid")}`,
      "MotdPhrase = test",
      "[Limits]",
      "MaxConnectionsIP = 50",
      "MaxNickLength = 30",
      "PingTimeout = 300",
      "[Options]",
      `IncludeDir = ${join(dir, "conf.d")}`,
      "PAM = no",
      "Ident = no",
      "DNS = no",
      "OperCanUseMode = yes",
      // An IRC operator (OPER admin secret) may set channel modes anywhere: tests get ops whoever joined first.
      "[Operator]",
      "Name = admin",
      "Password = secret",
      ...(opts.tls
        ? ["[SSL]", `Ports = ${tlsPort}`, `CertFile = ${join(dir, "cert.pem")}`, `KeyFile = ${join(dir, "key.pem")}`]
        : []),
      "",
    ].join("\n"),
  );
  execFileSync(NGIRCD, ["--configtest", "-f", conf], { stdio: "ignore" });
  const logFile = join(dir, "ngircd.log");
  let child: ChildProcess;
  const launch = async () => {
    const out = openSync(logFile, "a");
    child = spawn(NGIRCD, ["-n", "-f", conf], { stdio: ["ignore", out, out] });
    await waitForPort(port, child, { name: "ngircd", logFile });
  };
  const kill = async () => {
    if (child.exitCode !== null) return;
    const gone = new Promise((r) => child.once("exit", r));
    child.kill("SIGKILL");
    await gone;
  };
  await launch();
  return {
    port,
    ...(tlsPort !== undefined ? { tlsPort } : {}),
    dir,
    async restart() {
      await kill();
      await launch();
    },
    async stop() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface IrcLine {
  prefix: string;
  command: string;
  params: string[];
  raw: string;
}

export interface RawIrcClient {
  nick: string;
  lines: IrcLine[];
  send(line: string): void;
  /** The next line (received ones count, each only once) that matches. */
  waitFor(pred: (l: IrcLine) => boolean, timeoutMs?: number): Promise<IrcLine>;
  close(): void;
}

function parse(raw: string): IrcLine {
  let rest = raw;
  let prefix = "";
  if (rest.startsWith(":")) {
    prefix = rest.slice(1, rest.indexOf(" "));
    rest = rest.slice(rest.indexOf(" ") + 1);
  }
  const trailing = rest.indexOf(" :");
  const head = trailing === -1 ? rest : rest.slice(0, trailing);
  const params = head.split(" ").filter((p) => p !== "");
  const command = params.shift() ?? "";
  if (trailing !== -1) params.push(rest.slice(trailing + 2));
  return { prefix, command, params, raw };
}

/** Connects and registers (waits for 001). */
export async function ircClient(port: number, nick: string): Promise<RawIrcClient> {
  const socket: Socket = connect({ host: "127.0.0.1", port });
  const lines: IrcLine[] = [];
  const taken = new Set<IrcLine>();
  const waiters: { pred: (l: IrcLine) => boolean; resolve: (l: IrcLine) => void }[] = [];
  let buffer = "";
  socket.setEncoding("utf8");
  socket.on("error", () => {});
  socket.on("data", (chunk: string) => {
    buffer += chunk;
    let nl = buffer.indexOf("\n");
    while (nl !== -1) {
      const line = parse(buffer.slice(0, nl).replace(/\r$/, ""));
      buffer = buffer.slice(nl + 1);
      nl = buffer.indexOf("\n");
      if (line.command === "PING") socket.write(`PONG :${line.params[0] ?? ""}\r\n`);
      lines.push(line);
      const w = waiters.find((x) => x.pred(line));
      if (w) {
        taken.add(line);
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  });
  const client: RawIrcClient = {
    nick,
    lines,
    send: (line) => socket.write(`${line}\r\n`),
    waitFor(pred, timeoutMs = 10_000) {
      const hit = lines.find((l) => !taken.has(l) && pred(l));
      if (hit) {
        taken.add(hit);
        return Promise.resolve(hit);
      }
      return new Promise((resolve, reject) => {
        const w = { pred, resolve };
        waiters.push(w);
        setTimeout(() => {
          const i = waiters.indexOf(w);
          if (i === -1) return;
          waiters.splice(i, 1);
          reject(new Error(`${nick}: timed out waiting for an IRC line; got:\n${lines.map((l) => l.raw).join("\n")}`));
        }, timeoutMs).unref();
      });
    },
    close: () => socket.destroy(),
  };
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  client.send(`NICK ${nick}`);
  client.send(`USER ${nick} 0 * :${nick}`);
  await client.waitFor((l) => l.command === "001");
  return client;
}
