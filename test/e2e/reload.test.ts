// Live reload (issue 14): a changed config file is applied to a running server while two clients keep chatting,
// and a broken file is refused with its line while everything keeps working. The server is started from a real
// file and reloads from it, as `natter start` does; the last test sends SIGHUP to a real `natter start` process.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { get as httpGet } from "node:http";
import { createServer as createNetServer, connect as netConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { connect as tlsConnect } from "node:tls";
import { after, before, describe, it } from "node:test";
import { pino } from "pino";
import { loadConfig } from "../../src/core/config/index.js";
import { NatterServer } from "../../src/server.js";
import { NATTER_MAIN } from "../helpers/natter-process.js";
import { RawClient, STREAM_OPEN } from "../helpers/raw-client.js";
import { createTestCa, issueCertificate, type TestCa } from "../helpers/test-ca.js";
import { freePort, startTestServer, type TestServer } from "../helpers/test-server.js";
import { type ConnectedClient, connect, type XmlElement, xml } from "../helpers/xmpp-client.js";

/** The config of a real `natter start` child: loopback listeners on free ports, no federation, `extra` lines first. */
async function startConfigLines(dir: string, extra: string[] = []): Promise<string[]> {
  return [
    "hosts: [localhost]",
    `data_dir: ${JSON.stringify(join(dir, "data"))}`,
    ...extra,
    "listeners:",
    `  c2s: { port: ${await freePort()}, bind: ["127.0.0.1"] }`,
    `  c2s_direct_tls: { port: ${await freePort()}, bind: ["127.0.0.1"] }`,
    `  http: { port: 0, bind: ["127.0.0.1"] }`,
    `  https: { port: 0, bind: ["127.0.0.1"] }`,
    "s2s: { enabled: false }",
  ];
}
const NS_DISCO_INFO = "http://jabber.org/protocol/disco#info";
const NS_VERSION = "jabber:iq:version";
const NS_PING = "urn:xmpp:ping";

interface Settings {
  hosts: string[];
  c2sPort: number;
  tlsPort: number;
  logLevel: string;
  showOs: boolean;
  ping: boolean;
  dataDir: string;
  httpPort: number;
  httpsEnabled: boolean;
  /** modules.private-storage, as YAML ("{}" by default). */
  privateStorage: string;
  /** modules.muc, as YAML ("{}" by default). */
  muc: string;
}

function yaml(dir: string, s: Settings): string {
  return [
    `hosts: [${s.hosts.join(", ")}]`,
    `data_dir: ${JSON.stringify(s.dataDir)}`,
    `log_level: ${s.logLevel}`,
    "listeners:",
    `  c2s: { port: ${s.c2sPort}, bind: ["127.0.0.1"] }`,
    `  c2s_direct_tls: { port: ${s.tlsPort}, bind: ["127.0.0.1"] }`,
    `  http: { port: ${s.httpPort}, bind: ["127.0.0.1"] }`,
    `  https: { enabled: ${s.httpsEnabled}, port: 0, bind: ["127.0.0.1"] }`,
    "s2s: { enabled: false }",
    "tls:",
    `  certificates: [{ cert: ${JSON.stringify(join(dir, "server.crt"))}, key: ${JSON.stringify(join(dir, "server.key"))} }]`,
    "auth:",
    "  throttle:",
    "    per_ip: { delay_after: 0, attempts: 0 }",
    "    per_ip_account: { delay_after: 0, attempts: 0 }",
    "    per_account: { delay_after: 0 }",
    "modules:",
    `  version: { show_os: ${s.showOs} }`,
    `  ping: ${s.ping}`,
    `  muc: ${s.muc}`,
    `  private-storage: ${s.privateStorage}`,
    "",
  ].join("\n");
}

function fingerprintOf(pem: string): string {
  return new X509Certificate(pem).fingerprint256;
}

/** The certificate a new direct-TLS connection is shown (with SNI `servername`, or none). */
function presentedCertificate(port: number, servername?: string, alpn = "xmpp-client"): Promise<{ fingerprint256: string; subjectaltname?: string }> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: "127.0.0.1", port, rejectUnauthorized: false, ALPNProtocols: [alpn], ...(servername ? { servername } : {}) });
    socket.once("secureConnect", () => {
      resolve(socket.getPeerCertificate());
      socket.destroy();
    });
    socket.once("error", reject);
  });
}

async function presentedFingerprint(port: number, servername?: string, alpn = "xmpp-client"): Promise<string> {
  return (await presentedCertificate(port, servername, alpn)).fingerprint256;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = netConnect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

let counter = 0;
/** `from` sends a chat message to `to`, which must receive it. */
async function chat(from: ConnectedClient, to: ConnectedClient): Promise<void> {
  const body = `hello ${++counter}`;
  await from.xmpp.send(xml("message", { to: to.jid, type: "chat" }, xml("body", {}, body)));
  await to.waitFor((s: XmlElement) => s.is("message") && s.getChildText("body") === body, 10_000);
}

async function features(c: ConnectedClient, host: string): Promise<string[]> {
  const res = await c.xmpp.iqCaller.request(xml("iq", { type: "get", to: host }, xml("query", NS_DISCO_INFO)));
  return res.getChild("query", NS_DISCO_INFO)!.getChildren("feature").map((f: XmlElement) => f.attrs.var as string);
}

describe("live reload", { timeout: 120_000 }, () => {
  let dir: string;
  let file: string;
  let ca: TestCa;
  let settings: Settings;
  let server: NatterServer;
  let ts: TestServer;
  const logs: Record<string, unknown>[] = [];
  let alice: ConnectedClient;
  let bob: ConnectedClient;
  let firstCert: string;

  const write = (change: Partial<Settings>) => {
    settings = { ...settings, ...change };
    writeFileSync(file, yaml(dir, settings));
  };
  const writeCertificate = async (): Promise<string> => {
    const issued = await issueCertificate(ca, ["localhost"]);
    writeFileSync(join(dir, "server.crt"), issued.cert);
    writeFileSync(join(dir, "server.key"), issued.key);
    return issued.cert;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "natter-reload-"));
    file = join(dir, "natter.yaml");
    ca = await createTestCa();
    firstCert = await writeCertificate();
    const [c2sPort, tlsPort] = [await freePort(), await freePort()];
    settings = { hosts: ["localhost"], c2sPort, tlsPort, logLevel: "info", showOs: false, ping: true, dataDir: join(dir, "data"), muc: "{}", privateStorage: "{}", httpPort: 0, httpsEnabled: true };
    write({});
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const line of chunk.toString("utf8").split("\n")) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
        cb();
      },
    });
    server = await NatterServer.start(loadConfig(file), { log: pino({ level: "info" }, sink), configSource: () => loadConfig(file) });
    ts = { server, domain: "localhost", port: c2sPort, tlsPort } as TestServer;
    await server.core.accounts.createUser("localhost", "alice", "pw-alice");
    await server.core.accounts.createUser("localhost", "bob", "pw-bob");
    alice = await connect(ts, "alice", "pw-alice");
    // Bob over direct TLS: his connection must keep its certificate and go on after the swap.
    bob = await connect(ts, "bob", "pw-bob", { directTls: true });
    await chat(alice, bob);
  });

  after(async () => {
    await alice?.stop();
    await bob?.stop();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("applies a module option change: the module is reloaded with the new options", async () => {
    const ask = async () => {
      const res = await alice.xmpp.iqCaller.request(xml("iq", { type: "get", to: "localhost" }, xml("query", NS_VERSION)));
      return res.getChild("query", NS_VERSION)!.getChild("os");
    };
    assert.equal(await ask(), undefined);
    write({ showOs: true });
    const result = await server.reload();
    assert.deepEqual(result, { ok: true, changes: ["modules.version: options changed; reloaded"] });
    assert.ok(await ask(), "the reloaded module answers with the operating system");
    await chat(alice, bob);
    await chat(bob, alice);
  });

  it("reloads a module that keeps its data in storage: the data survives, the new limit applies", async () => {
    const NS_PRIVATE = "jabber:iq:private";
    const store = (name: string) =>
      alice.xmpp.iqCaller.request(xml("iq", { type: "set" }, xml("query", NS_PRIVATE, xml(name, { xmlns: "urn:example:reload" }, name))));
    await store("first");
    write({ privateStorage: "{ max_entries: 1 }" });
    assert.deepEqual(await server.reload(), { ok: true, changes: ["modules.private-storage: options changed; reloaded"] });
    const res = await alice.xmpp.iqCaller.request(xml("iq", { type: "get" }, xml("query", NS_PRIVATE, xml("first", { xmlns: "urn:example:reload" }))));
    assert.equal(res.getChild("query", NS_PRIVATE)?.getChildText("first"), "first", "stored before the reload, read after it");
    await assert.rejects(store("second"), (err: { condition?: string }) => err.condition === "resource-constraint");
    write({ privateStorage: "{}" });
    assert.deepEqual(await server.reload(), { ok: true, changes: ["modules.private-storage: options changed; reloaded"] });
    await store("second");
  });

  it("changes the log level, for loggers made before the reload too", async () => {
    const moduleLog = server.log.child({ module: "made-before" });
    assert.equal(moduleLog.isLevelEnabled("debug"), false);
    write({ logLevel: "debug" });
    const result = await server.reload();
    assert.deepEqual(result, { ok: true, changes: ["log_level: info → debug"] });
    assert.equal(moduleLog.isLevelEnabled("debug"), true);
    moduleLog.debug("a debug line after the reload");
    assert.ok(logs.some((l) => l.msg === "a debug line after the reload"));
  });

  it("swaps the certificate: new connections see the new one, the old connection keeps going", async () => {
    assert.equal(await presentedFingerprint(settings.tlsPort, "localhost"), fingerprintOf(firstCert));
    // Renewal writes the new files over the old ones; the config does not change.
    const secondCert = await writeCertificate();
    const result = await server.reload();
    assert.equal(result.ok, true);
    assert.ok(result.ok && result.changes.some((c) => c.startsWith("tls: new certificates")), JSON.stringify(result));
    assert.equal(await presentedFingerprint(settings.tlsPort, "localhost"), fingerprintOf(secondCert));
    // Without SNI (the default certificate of the TLS server) too.
    assert.equal(await presentedFingerprint(settings.tlsPort), fingerprintOf(secondCert));
    // HTTPS (WebSocket, BOSH, uploads) as well, with and without SNI.
    assert.equal(await presentedFingerprint(server.ports.https!, "localhost", "http/1.1"), fingerprintOf(secondCert));
    assert.equal(await presentedFingerprint(server.ports.https!, undefined, "http/1.1"), fingerprintOf(secondCert));
    // A new client over STARTTLS logs in with the new certificate.
    const carol = await connect(ts, "alice", "pw-alice", { resource: "after-swap" });
    await carol.stop();
    await chat(alice, bob);
    await chat(bob, alice);
  });

  it("adds a host: a client logs in on it and chats with the first host", async () => {
    write({ hosts: ["localhost", "example.net"] });
    const result = await server.reload();
    assert.equal(result.ok, true, JSON.stringify(result));
    assert.ok(result.ok && result.changes.some((c) => /^hosts: added example\.net \(\d+ modules loaded\)$/.test(c)), JSON.stringify(result));
    // The configured certificate does not cover it: a self-signed one is made for it and chosen by SNI.
    assert.match((await presentedCertificate(settings.tlsPort, "example.net")).subjectaltname ?? "", /DNS:example\.net/);
    await server.core.accounts.createUser("example.net", "dave", "pw-dave");
    const dave = await connect({ ...ts, domain: "example.net" } as TestServer, "dave", "pw-dave");
    try {
      assert.ok((await features(dave, "example.net")).includes(NS_PING), "the new host has its modules");
      await chat(dave, alice);
      await chat(bob, dave);
    } finally {
      await dave.stop();
    }
  });

  it("turns a module off: its feature leaves disco and its IQs get service-unavailable", async () => {
    assert.ok((await features(alice, "localhost")).includes(NS_PING));
    write({ ping: false });
    const result = await server.reload();
    assert.deepEqual(result, { ok: true, changes: ["modules.ping: turned off"] });
    assert.ok(!(await features(alice, "localhost")).includes(NS_PING));
    await assert.rejects(
      alice.xmpp.iqCaller.request(xml("iq", { type: "get", to: "localhost" }, xml("ping", NS_PING))),
      (err: { condition?: string }) => err.condition === "service-unavailable",
    );
    await chat(alice, bob);
  });

  it("moves the c2s listener: the new port is open before the old closes, sessions on the old port go on", async () => {
    const oldPort = settings.c2sPort;
    const newPort = await freePort();
    write({ c2sPort: newPort });
    const result = await server.reload();
    assert.deepEqual(result, {
      ok: true,
      changes: [`listeners.c2s: moved from port ${oldPort} on 127.0.0.1 to port ${newPort} on 127.0.0.1`],
    });
    assert.equal(server.ports.c2s, newPort);
    assert.equal(await canConnect(oldPort), false);
    const erin = await connect({ ...ts, port: newPort } as TestServer, "bob", "pw-bob", { resource: "new-port" });
    await erin.stop();
    // Alice's connection was accepted on the old port.
    await chat(alice, bob);
  });

  it("moves the HTTP listener and closes the HTTPS one", async () => {
    const oldHttp = server.ports.http!;
    const oldHttps = server.ports.https!;
    const newHttp = await freePort();
    write({ httpPort: newHttp, httpsEnabled: false });
    const result = await server.reload();
    assert.deepEqual(result, {
      ok: true,
      changes: [
        `listeners.http: moved from port ${oldHttp} on 127.0.0.1 to port ${newHttp} on 127.0.0.1`,
        `listeners.https: closed (port ${oldHttps} on 127.0.0.1)`,
      ],
    });
    assert.deepEqual([server.ports.http, server.ports.https], [newHttp, undefined]);
    const status = await new Promise<number | undefined>((resolve, reject) => {
      httpGet({ host: "127.0.0.1", port: newHttp, path: "/.well-known/host-meta", headers: { host: "localhost" } }, (res) => {
        res.resume();
        resolve(res.statusCode);
      }).once("error", reject);
    });
    assert.equal(status, 200);
    assert.equal(await canConnect(oldHttp), false);
    assert.equal(await canConnect(oldHttps), false);
    // Upload slot URLs now name the new listener.
    assert.equal(server.core.http.publicUrl, `http://localhost:${newHttp}`);
  });

  it("removes a host: its sessions end with host-gone, the others stay", async () => {
    const dave = await connect({ ...ts, port: settings.c2sPort, domain: "example.net" } as TestServer, "dave", "pw-dave");
    const ended = new Promise<string>((resolve) => dave.xmpp.on("error", (err: { condition?: string }) => resolve(err.condition ?? "")));
    // A client still negotiating with the host (stream opened, not authenticated).
    const negotiating = await RawClient.connect(settings.c2sPort);
    negotiating.send(STREAM_OPEN("example.net"));
    await negotiating.waitFor(/<\/stream:features>/);
    write({ hosts: ["localhost"] });
    const result = await server.reload();
    assert.ok(result.ok && result.changes.includes("hosts: removed example.net (1 session ended with host-gone)"), JSON.stringify(result));
    assert.equal(await ended, "host-gone");
    await negotiating.waitFor(/<host-gone xmlns=["']urn:ietf:params:xml:ns:xmpp-streams["']\/>/);
    await negotiating.closed;
    await dave.stop();
    await chat(alice, bob);
  });

  it("keeps MUC rooms: an option change applies in place, a new domain waits for a restart and says so", async () => {
    const MUC = "conference.localhost";
    const NS_MUC = "http://jabber.org/protocol/muc";
    const NS_OWNER = "http://jabber.org/protocol/muc#owner";
    const enter = async (c: ConnectedClient, nick: string) => {
      await c.xmpp.send(xml("presence", { to: `lobby@${MUC}/${nick}` }, xml("x", { xmlns: NS_MUC })));
      await c.waitFor((st: XmlElement) => st.is("presence") && st.attrs.from === `lobby@${MUC}/${nick}` && st.attrs.type === undefined);
    };
    await enter(alice, "Alice");
    // XEP-0045 §10.1.2: an instant room, unlocked by an empty submit.
    await alice.xmpp.iqCaller.request(xml("iq", { type: "set", to: `lobby@${MUC}` }, xml("query", { xmlns: NS_OWNER }, xml("x", { xmlns: "jabber:x:data", type: "submit" }))));
    await enter(bob, "Bob");
    write({ muc: "{ max_rooms: 500, domain: rooms.localhost }" });
    const result = await server.reload();
    assert.equal(result.ok, true);
    assert.ok(
      result.ok &&
        result.changes.length === 2 &&
        result.changes[0] === "modules.muc: options changed; applied in place, keeping rooms and their occupants" &&
        /^modules\.muc\.domain: changed but not applied: .*rooms and their occupants.*restart to apply$/.test(result.changes[1]!),
      JSON.stringify(result),
    );
    assert.deepEqual(server.config.modules.muc, { max_rooms: 500 }, "the running config keeps the running domain");
    // Both are still in the room: Bob's message reaches Alice.
    await bob.xmpp.send(xml("message", { to: `lobby@${MUC}`, type: "groupchat" }, xml("body", {}, "still here")));
    await alice.waitFor((st: XmlElement) => st.is("message") && st.attrs.from === `lobby@${MUC}/Bob` && st.getChildText("body") === "still here");
    // The next reload says it again: the change still waits for a restart.
    const again = await server.reload();
    assert.ok(again.ok && again.changes.length === 1 && again.changes[0]!.startsWith("modules.muc.domain:"));
    write({ muc: "{}" });
    assert.deepEqual(await server.reload(), { ok: true, changes: ["modules.muc: options changed; applied in place, keeping rooms and their occupants"] });
  });

  it("says which changed settings wait for a restart, and keeps their running values", async () => {
    writeFileSync(file, `${yaml(dir, settings)}health: { readiness_timeout: 9 }\n`);
    const result = await server.reload();
    assert.deepEqual(result, { ok: true, changes: ["health: changed in the file; applies at the next restart"] });
    assert.equal(server.config.health.readiness_timeout, 2);
    write({});
    assert.deepEqual(await server.reload(), { ok: true, changes: [] });
  });

  it("refuses a YAML syntax error with its line, and keeps running as before", async () => {
    // Line 3 (log_level) becomes a mapping inside a mapping.
    writeFileSync(file, yaml(dir, settings).replace(`log_level: ${settings.logLevel}`, "log_level: info: debug"));
    const result = await server.reload();
    assert.equal(result.ok, false);
    assert.match(!result.ok ? result.error : "", /natter\.yaml:3:\d+: Nested mappings are not allowed/);
    assert.equal(server.log.level, "debug");
    assert.ok(logs.some((l) => l.msg === "reload refused; the running configuration is kept"));
    await chat(alice, bob);
  });

  it("refuses a schema error, and a module option error, with their lines; nothing is applied", async () => {
    // Line 3 is log_level; the same file also turns ping back on, which must not happen.
    writeFileSync(file, yaml(dir, { ...settings, logLevel: "loud", ping: true }));
    let result = await server.reload();
    assert.equal(result.ok, false);
    assert.match(!result.ok ? result.error : "", /natter\.yaml:3:\d+: log_level: expected one of/);
    assert.ok(!(await features(alice, "localhost")).includes(NS_PING));
    assert.equal(server.log.level, "debug");

    writeFileSync(file, yaml(dir, settings).replace("show_os: true", 'show_os: "yes"'));
    result = await server.reload();
    assert.equal(result.ok, false);
    const line = yaml(dir, settings).split("\n").findIndex((l) => l.includes("show_os")) + 1;
    assert.match(!result.ok ? result.error : "", new RegExp(`natter\\.yaml:${line}:\\d+: modules\\.version\\.show_os: expected a boolean`));
    await chat(bob, alice);
  });

  it("refuses a listener address that cannot be bound: what it opened is closed, nothing else is applied", async () => {
    const port = await freePort();
    // The port is taken on the second of two addresses: the first binds, then must be closed again.
    const blocker = createNetServer();
    await new Promise<void>((resolve) => blocker.listen(port, "127.0.0.2", resolve));
    try {
      const text = yaml(dir, { ...settings, logLevel: "warn" }).replace(
        `c2s: { port: ${settings.c2sPort}, bind: ["127.0.0.1"] }`,
        `c2s: { port: ${port}, bind: ["127.0.0.1", "127.0.0.2"] }`,
      );
      writeFileSync(file, text);
      const result = await server.reload();
      assert.equal(result.ok, false);
      assert.match(!result.ok ? result.error : "", /^listeners\.c2s: cannot listen on port \d+ on 127\.0\.0\.1, 127\.0\.0\.2: .*EADDRINUSE/);
      assert.equal(await canConnect(port), false, "the address bound before the failure is closed again");
      assert.equal(server.log.level, "debug", "the log level in the same file is not applied");
      assert.equal(server.ports.c2s, settings.c2sPort);
      await chat(alice, bob);
    } finally {
      blocker.close();
      write({});
    }
  });

  it("refuses a certificate that cannot be read, naming the file; the running certificate stays", async () => {
    const before = await presentedFingerprint(settings.tlsPort, "localhost");
    writeFileSync(file, yaml(dir, settings).replaceAll(join(dir, "server.crt"), join(dir, "missing.crt")));
    const result = await server.reload();
    assert.deepEqual(result, { ok: false, error: `${join(dir, "missing.crt")}: cannot read the TLS certificate: file not found` });
    assert.equal(await presentedFingerprint(settings.tlsPort, "localhost"), before);
  });

  it("refuses a change of what cannot change live (data_dir), naming it", async () => {
    writeFileSync(file, yaml(dir, { ...settings, dataDir: join(dir, "elsewhere") }));
    const result = await server.reload();
    assert.equal(result.ok, false);
    assert.match(!result.ok ? result.error : "", /^data_dir cannot change while the server runs .*restart to apply it/);
    write({});
    assert.deepEqual(await server.reload(), { ok: true, changes: [] });
    await chat(alice, bob);
  });
});

describe("SIGHUP on natter start", { timeout: 90_000 }, () => {
  let dir: string;
  let child: ChildProcess | undefined;
  after(() => {
    child?.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  it("reloads the file and logs the result; a broken file is refused with its line", async () => {
    dir = mkdtempSync(join(tmpdir(), "natter-sighup-"));
    const file = join(dir, "natter.yaml");
    const base = await startConfigLines(dir, ["log_level: info"]);
    writeFileSync(file, `${base.join("\n")}\n`);
    child = spawn(process.execPath, ["--import", "tsx", NATTER_MAIN, "-c", file, "start"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.stderr!.on("data", (d: Buffer) => {
      out += d.toString();
    });
    const waitFor = async (pattern: RegExp): Promise<Record<string, unknown>> => {
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline) {
        for (const line of out.split("\n")) {
          if (!pattern.test(line)) continue;
          try {
            return JSON.parse(line) as Record<string, unknown>;
          } catch {}
        }
        if (child!.exitCode !== null) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.fail(`no log line matching ${pattern}: ${out.slice(-2000)}`);
    };
    await waitFor(/"msg":"Natter started"/);

    writeFileSync(file, `${base.join("\n")}\nmodules:\n  ping: false\n`);
    child.kill("SIGHUP");
    const reloaded = await waitFor(/"msg":"configuration reloaded"/);
    assert.deepEqual(reloaded.changes, ["modules.ping: turned off"]);

    writeFileSync(file, `${base.join("\n")}\nmodules:\n  ping: maybe\n`);
    out = "";
    child.kill("SIGHUP");
    const refused = await waitFor(/"msg":"reload refused; the running configuration is kept"/);
    assert.match(String(refused.error), /natter\.yaml:11:\d+: modules\.ping: expected the module's options/);
    assert.equal(child.exitCode, null, "the server is still running");
  });

  it("tells systemd it is ready (READY=1 with its pid) on NOTIFY_SOCKET once listening", async () => {
    const notifyDir = mkdtempSync(join(tmpdir(), "natter-notify-"));
    const socketPath = join(notifyDir, "notify.sock");
    // systemd's side: a unix datagram socket (Node has none; Python does), printing what it receives.
    const receiver = spawn(
      "python3",
      [
        "-c",
        [
          "import socket, sys",
          "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)",
          "s.bind(sys.argv[1])",
          "print('listening', flush=True)",
          "s.settimeout(60)",
          "print(s.recv(4096).decode().replace(chr(10), ' '), flush=True)",
        ].join("\n"),
        socketPath,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    let received = "";
    receiver.stdout!.on("data", (d: Buffer) => {
      received += d.toString();
    });
    const file = join(notifyDir, "natter.yaml");
    writeFileSync(file, `${(await startConfigLines(notifyDir)).join("\n")}\n`);
    let proc: ChildProcess | undefined;
    try {
      const deadline = Date.now() + 30_000;
      while (!received.includes("listening")) {
        if (Date.now() > deadline) assert.fail("the notify socket did not open");
        await new Promise((r) => setTimeout(r, 20));
      }
      proc = spawn(process.execPath, ["--import", "tsx", NATTER_MAIN, "-c", file, "start"], {
        stdio: ["ignore", "pipe", "inherit"],
        env: { ...process.env, NOTIFY_SOCKET: socketPath },
      });
      let out = "";
      proc.stdout!.on("data", (d: Buffer) => {
        out += d.toString();
      });
      while (!received.includes("READY=1")) {
        if (Date.now() > deadline || proc.exitCode !== null) assert.fail(`no READY=1; received: ${received}; server: ${out.slice(-1000)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.match(received, new RegExp(`MAINPID=${proc.pid}\\b`));
      while (!out.includes('"msg":"Natter started"')) {
        if (Date.now() > deadline) assert.fail(`READY=1 but the server never logged its start: ${out.slice(-1000)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      proc?.kill("SIGKILL");
      receiver.kill("SIGKILL");
      rmSync(notifyDir, { recursive: true, force: true });
    }
  });

  it("reopens its log file on SIGUSR1 (rotation): lines after it go to a new file at the same path", async () => {
    const logDir = mkdtempSync(join(tmpdir(), "natter-logfile-"));
    const file = join(logDir, "natter.yaml");
    const logFile = join(logDir, "natter.log");
    writeFileSync(file, `${(await startConfigLines(logDir, ["log_file: natter.log"])).join("\n")}\n`);
    const proc = spawn(process.execPath, ["--import", "tsx", NATTER_MAIN, "-c", file, "start"], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    proc.stdout!.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    proc.stderr!.resume();
    const until = async (what: string, check: () => boolean) => {
      const deadline = Date.now() + 30_000;
      while (!check()) {
        if (Date.now() > deadline || proc.exitCode !== null) assert.fail(`${what}; stdout: ${stdout.slice(-1000)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    const read = (path: string) => (existsSync(path) ? readFileSync(path, "utf8") : "");
    try {
      await until("Natter started in the log file", () => read(logFile).includes('"msg":"Natter started"'));
      renameSync(logFile, `${logFile}.1`); // what logrotate does
      proc.kill("SIGUSR1");
      await until("a new log file after SIGUSR1", () => existsSync(logFile));
      proc.kill("SIGHUP");
      await until("the reload logged in the new file", () => read(logFile).includes('"msg":"configuration reloaded: nothing changed"'));
      assert.ok(!read(`${logFile}.1`).includes("configuration reloaded"), "nothing more is written to the rotated file");
      assert.equal(stdout, "", "with log_file, nothing goes to stdout");
    } finally {
      proc.kill("SIGKILL");
      rmSync(logDir, { recursive: true, force: true });
    }
  });
});

describe("reload with federation: s2s policy and listeners", { timeout: 90_000 }, () => {
  let a: TestServer;
  let b: TestServer;
  let romeo: ConnectedClient;
  let juliet: ConnectedClient;

  before(async () => {
    const [portA, portB] = [await freePort(), await freePort()];
    const resolve = (domain: string, port: number) => ["resolve:", `  ${JSON.stringify(domain)}: "127.0.0.1:${port}"`];
    [a, b] = await Promise.all([
      startTestServer({ domain: "verona.test", s2sPort: portA, s2s: ["secure: false", ...resolve("mantua.test", portB)] }),
      startTestServer({ domain: "mantua.test", s2sPort: portB, s2s: ["secure: false", ...resolve("verona.test", portA)] }),
    ]);
    await a.addUser("romeo", "pw");
    await b.addUser("juliet", "pw");
    romeo = await connect(a, "romeo", "pw");
    juliet = await connect(b, "juliet", "pw");
  });

  after(async () => {
    await romeo?.stop();
    await juliet?.stop();
    await a?.stop();
    await b?.stop();
  });

  it("a domain newly denied loses its link at once and gets not-allowed; allowed again, it federates again", async () => {
    await chat(romeo, juliet);
    assert.equal(a.server.s2s!.connections().outbound.length, 1);
    writeFileSync(a.configPath, a.configYaml.replace("s2s:\n", "s2s:\n  deny_domains: [mantua.test]\n"));
    const result = await a.server.reload();
    assert.ok(result.ok && /^s2s policy: changed \(\d+ links? with domains no longer allowed ended\)$/.test(result.changes[0]!), JSON.stringify(result));
    assert.equal(a.server.s2s!.connections().outbound.length, 0);
    const error = await romeo.xmpp.iqCaller
      .request(xml("iq", { type: "get", to: "mantua.test" }, xml("ping", NS_PING)))
      .then(() => "no error", (err: { condition?: string }) => err.condition);
    assert.equal(error, "not-allowed");

    writeFileSync(a.configPath, a.configYaml);
    assert.deepEqual(await a.server.reload(), { ok: true, changes: ["s2s policy: changed"] });
    await chat(romeo, juliet);
    await chat(juliet, romeo);
  });

  it("moves the s2s listener: the new port accepts, the old is closed, federation goes on", async () => {
    const oldPort = a.s2sPort!;
    const newPort = await freePort();
    writeFileSync(a.configPath, a.configYaml.replace(`s2s: { port: ${oldPort},`, `s2s: { port: ${newPort},`));
    const result = await a.server.reload();
    assert.deepEqual(result, { ok: true, changes: [`listeners.s2s: moved from port ${oldPort} on 127.0.0.1 to port ${newPort} on 127.0.0.1`] });
    assert.equal(a.server.ports.s2s, newPort);
    assert.equal(await canConnect(oldPort), false);
    assert.equal(await canConnect(newPort), true);
    // The links made before go on.
    await chat(romeo, juliet);
    await chat(juliet, romeo);
    // Where B finds A (s2s.resolve) applies to B's next link to A. A's old port is closed, so once B's link
    // is ended (a deny and an allow) only the new address can carry B's stanzas.
    const moved = b.configYaml.replace(`"verona.test": "127.0.0.1:${oldPort}"`, `"verona.test": "127.0.0.1:${newPort}"`);
    writeFileSync(b.configPath, moved.replace("s2s:\n", "s2s:\n  deny_domains: [verona.test]\n"));
    const resolved = await b.server.reload();
    assert.ok(resolved.ok && resolved.changes[0] === "s2s: new limits, timeouts and resolve overrides for new links", JSON.stringify(resolved));
    assert.equal(b.server.s2s!.connections().outbound.length, 0);
    writeFileSync(b.configPath, moved);
    assert.deepEqual(await b.server.reload(), { ok: true, changes: ["s2s policy: changed"] });
    await chat(juliet, romeo);
    await chat(romeo, juliet);
  });
});
