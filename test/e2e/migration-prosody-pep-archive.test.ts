// A real Prosody (Debian's 0.12) export imported by the PEP and archive sections: users fill Prosody over XMPP
// (@xmpp/client: a XEP-0402 bookmark, an OMEMO device list, chat messages archived by its mod_mam), Prosody
// stops, `prosody-migrator` writes its data as XEP-0227 (mod_storage_xep0227), and the file is imported into
// an empty Natter. The users then see the bookmark, the device list and the archive with Prosody's ids.
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { pino } from "pino";
import { InternalAccountProvider } from "../../src/auth/internal-account-provider.js";
import { parseConfig } from "../../src/core/config/index.js";
import { parseFramedElement } from "../../src/core/xml/stream-parser.js";
import { archiveSection } from "../../src/migration/sections/archive.js";
import { pepSection } from "../../src/migration/sections/pep.js";
import { NS_PIE, type SectionChanges } from "../../src/migration/types.js";
import { NatterServer } from "../../src/server.js";
import { openStorage } from "../../src/storage/open-storage.js";
import { freePort, startTestServer, type TestServer } from "../helpers/test-server.js";
import { waitForPort } from "../helpers/wait-for-port.js";
import { type ConnectedClient, connect, type XmlElement, xml } from "../helpers/xmpp-client.js";

const PROSODY = "/usr/bin/prosody";
const MIGRATOR = "/usr/bin/prosody-migrator";
const skip =
  !(existsSync(PROSODY) && existsSync(MIGRATOR)) && !process.env.CI
    ? "prosody is not installed (CI installs it)"
    : false;
const NS_PUBSUB = "http://jabber.org/protocol/pubsub";
const NS_MAM = "urn:xmpp:mam:2";
const NS_BOOKMARKS = "urn:xmpp:bookmarks:1";
const NS_OMEMO_DEVICES = "eu.siacs.conversations.axolotl.devicelist";
const NS_OMEMO = "eu.siacs.conversations.axolotl";
const USERS = ["alice", "bob"];

let seq = 0;
async function iq(
  c: ConnectedClient,
  type: "get" | "set",
  to: string | undefined,
  child: XmlElement,
): Promise<XmlElement> {
  const id = `iq${++seq}`;
  await c.xmpp.send(xml("iq", { type, id, ...(to ? { to } : {}) }, child));
  return c.waitFor((s) => s.is("iq") && s.attrs.id === id && (s.attrs.type === "result" || s.attrs.type === "error"));
}

async function publish(
  c: ConnectedClient,
  node: string,
  id: string,
  payload: XmlElement,
  options: Record<string, string>,
): Promise<void> {
  const form = xml(
    "x",
    { xmlns: "jabber:x:data", type: "submit" },
    xml(
      "field",
      { var: "FORM_TYPE", type: "hidden" },
      xml("value", {}, "http://jabber.org/protocol/pubsub#publish-options"),
    ),
    ...Object.entries(options).map(([k, v]) => xml("field", { var: k }, xml("value", {}, v))),
  );
  const res = await iq(
    c,
    "set",
    undefined,
    xml(
      "pubsub",
      { xmlns: NS_PUBSUB },
      xml("publish", { node }, xml("item", { id }, payload)),
      xml("publish-options", {}, form),
    ),
  );
  assert.equal(res.attrs.type, "result", `publish to ${node}: ${res.toString()}`);
}

async function archived(c: ConnectedClient): Promise<[string, string][]> {
  const queryid = `q${++seq}`;
  const fin = await iq(c, "set", undefined, xml("query", { xmlns: NS_MAM, queryid }));
  assert.equal(fin.attrs.type, "result", fin.toString());
  return c.received
    .filter((s) => s.is("message") && s.getChild("result", NS_MAM)?.attrs.queryid === queryid)
    .map((s) => {
      const result = s.getChild("result", NS_MAM) as XmlElement;
      return [result.attrs.id as string, result.getChild("forwarded")?.getChild("message")?.getChildText("body") ?? ""];
    });
}

describe("XEP-0227 import of a Prosody export (PEP, archive)", { skip, timeout: 120_000 }, () => {
  let dir: string;
  let target: TestServer | undefined;
  let exported: string;
  let prosodyArchive: [string, string][];
  const clients: ConnectedClient[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "natter-prosody-export-"));
    const data = join(dir, "data");
    const out = join(dir, "out");
    mkdirSync(join(data, "localhost", "accounts"), { recursive: true });
    mkdirSync(out);
    for (const u of USERS)
      writeFileSync(join(data, "localhost", "accounts", `${u}.dat`), `return {\n\t["password"] = "${u}-pw";\n};\n`);
    const port = await freePort();
    const logFile = join(dir, "prosody.log");
    const common = `run_as_root = true
log = { { levels = { min = "info" }, to = "file", filename = ${JSON.stringify(logFile)} } }
modules_disabled = { "posix" }
authentication = "internal_plain"
`;
    writeFileSync(
      join(dir, "prosody.cfg.lua"),
      `${common}pidfile = ${JSON.stringify(join(dir, "prosody.pid"))}
data_path = ${JSON.stringify(data)}
interfaces = { "127.0.0.1" }
c2s_ports = { ${port} }
s2s_ports = {}
c2s_direct_tls_ports = {}
s2s_direct_tls_ports = {}
legacy_ssl_ports = {}
component_ports = {}
http_ports = {}
https_ports = {}
modules_enabled = { "roster", "saslauth", "disco", "pep", "mam" }
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
storage = "internal"
VirtualHost "localhost"
`,
    );
    const child = spawn(PROSODY, ["--config", join(dir, "prosody.cfg.lua"), "-F"], { cwd: dir, stdio: "ignore" });
    try {
      await waitForPort(port, child, { name: "prosody", logFile: logFile });
      const prosody = { port, domain: "localhost" } as TestServer;
      const alice = await connect(prosody, "alice", "alice-pw");
      const bob = await connect(prosody, "bob", "bob-pw");
      clients.push(alice, bob);
      // Prosody delivers chat messages to available resources only (RFC 6121 §8.5.3.2.1).
      for (const c of [alice, bob]) await c.xmpp.send(xml("presence"));
      await publish(
        alice,
        NS_BOOKMARKS,
        "lobby@conference.localhost",
        xml("conference", { xmlns: NS_BOOKMARKS, name: "The Lobby", autojoin: "true" }),
        {
          "pubsub#persist_items": "true",
          "pubsub#access_model": "whitelist",
        },
      );
      await publish(
        alice,
        NS_OMEMO_DEVICES,
        "current",
        xml("list", { xmlns: NS_OMEMO }, xml("device", { id: "27182" })),
        { "pubsub#access_model": "open" },
      );
      for (const body of ["hello from prosody", "second message"]) {
        const id = `m${++seq}`;
        await alice.xmpp.send(xml("message", { to: "bob@localhost", type: "chat", id }, xml("body", {}, body)));
        await bob.waitFor((s) => s.is("message") && s.attrs.id === id);
      }
      prosodyArchive = await archived(alice);
      assert.equal(prosodyArchive.length, 2);
      for (const c of clients.splice(0)) await c.stop();
    } finally {
      const exited = new Promise((r) => child.once("exit", r));
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
    }
    // prosody-migrator: Prosody's files → XEP-0227 (one <user>@<host>.xml per user, in the output data_path).
    writeFileSync(
      join(dir, "migrator.cfg.lua"),
      `input { type = "internal"; path = ${JSON.stringify(data)}; hosts = { ["localhost"] = { "accounts", "pep-pubsub", "archive-archive" } } }
output { type = "xep0227"; }
`,
    );
    // mod_storage_xep0227 writes to Prosody's data directory, which prosody-migrator takes from its built-in
    // CFG_DATADIR (/var/lib/prosody): a copy of the script names the test's output directory instead.
    const migrator = join(dir, "prosody-migrator");
    writeFileSync(
      migrator,
      readFileSync(MIGRATOR, "utf8").replace(/^CFG_DATADIR=.*$/m, `CFG_DATADIR=${JSON.stringify(out)};`),
      { mode: 0o755 },
    );
    // Run as root, prosody-migrator drops to the prosody user before it reads its config: that user must be
    // able to read the config and Prosody's files and write the output (a throwaway directory of this test).
    chmodSync(dir, 0o755);
    execFileSync("chmod", ["-R", "a+rX", data, join(dir, "migrator.cfg.lua")]);
    chmodSync(out, 0o777);
    try {
      execFileSync(migrator, ["--config", join(dir, "migrator.cfg.lua"), "input", "output"], {
        cwd: dir,
        stdio: "pipe",
      });
    } catch (err) {
      const e = err as { stdout?: Buffer; stderr?: Buffer };
      throw new Error(`prosody-migrator failed: ${e.stdout?.toString() ?? ""}${e.stderr?.toString() ?? ""}`);
    }
    exported = readFileSync(join(out, "alice@localhost.xml"), "utf8");
  });

  after(async () => {
    for (const c of clients) await c.stop();
    await target?.stop().catch(() => {});
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("imports Prosody's PEP nodes and archive; the user sees them in Natter with Prosody's ids", async () => {
    const doc = parseFramedElement(exported, { maxStanzaBytes: 16 << 20, maxDepth: 64 }, NS_PIE);
    const user = doc.getChild("host", NS_PIE)?.getChild("user", NS_PIE);
    assert.equal(user?.attrs.name, "alice", exported);
    target = await startTestServer();
    for (const u of USERS) await target.addUser(u, `${u}-pw`);
    await target.server.stop();
    const config = parseConfig(readFileSync(target.configPath, "utf8"), target.configPath, target.dataDir);
    const storage = await openStorage(config);
    const ctx = {
      storage,
      accounts: new InternalAccountProvider(storage, { iterations: 4096 }),
      log: pino({ level: "silent" }),
      modules: {},
    };
    const changes: SectionChanges[] = [];
    try {
      for (const section of [pepSection, archiveSection]) {
        const claimed =
          user?.elements().filter((e) => section.claims.some((c) => c.ns === e.ns && c.name === e.name)) ?? [];
        changes.push(await section.importUser(ctx, "localhost", "alice", claimed, { dryRun: false }));
      }
    } finally {
      await storage.close();
    }
    assert.deepEqual(
      changes.flatMap((c) => c.warnings),
      [],
      exported,
    );
    target.server = await NatterServer.start(config, { log: pino({ level: "silent" }) });

    const alice = await connect(target, "alice", "alice-pw");
    const bob = await connect(target, "bob", "bob-pw");
    clients.push(alice, bob);
    const bookmarks = await iq(
      alice,
      "get",
      "alice@localhost",
      xml("pubsub", { xmlns: NS_PUBSUB }, xml("items", { node: NS_BOOKMARKS })),
    );
    const item = bookmarks.getChild("pubsub")?.getChild("items")?.getChild("item");
    assert.equal(item?.attrs.id, "lobby@conference.localhost", bookmarks.toString());
    assert.equal(item?.getChild("conference", NS_BOOKMARKS)?.attrs.name, "The Lobby");
    // Prosody's whitelist came along: bob may not read alice's bookmarks, but her (open) device list.
    const denied = await iq(
      bob,
      "get",
      "alice@localhost",
      xml("pubsub", { xmlns: NS_PUBSUB }, xml("items", { node: NS_BOOKMARKS })),
    );
    assert.equal(denied.attrs.type, "error", denied.toString());
    const devices = await iq(
      bob,
      "get",
      "alice@localhost",
      xml("pubsub", { xmlns: NS_PUBSUB }, xml("items", { node: NS_OMEMO_DEVICES })),
    );
    assert.equal(
      devices.getChild("pubsub")?.getChild("items")?.getChild("item")?.getChild("list", NS_OMEMO)?.getChild("device")
        ?.attrs.id,
      "27182",
      devices.toString(),
    );
    assert.deepEqual(await archived(alice), prosodyArchive);
  });
});
