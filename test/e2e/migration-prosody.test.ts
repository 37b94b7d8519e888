// A real export from Prosody (Debian's 0.12) imported into Natter: Prosody runs with its own config in a temp
// dir, users are created with prosodyctl and given data over XMPP, then prosody-migrator converts its storage
// to XEP-0227 with mod_storage_xep0227 (one file per user) and `natter import` reads the directory. The users
// log in to Natter with their Prosody passwords and find roster, vCard and private XML, with @xmpp/client and
// again with slixmpp (test/interop/slixmpp/imported_account.py).
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { runNatter } from "../helpers/natter-process.js";
import { useSlixmpp } from "../helpers/slixmpp.js";
import { slixmppImportedAccount } from "../helpers/slixmpp-imported-account.js";
import { freePort, startTestServer, type TestServer } from "../helpers/test-server.js";
import { waitForPort } from "../helpers/wait-for-port.js";
import { type ConnectedClient, connect, xml } from "../helpers/xmpp-client.js";

const PROSODY = "/usr/bin/prosody";
const skip = !existsSync(PROSODY) && !process.env.CI ? "prosody is not installed (CI installs it)" : false;
const D = "localhost";

describe("migration from Prosody (prosody-migrator → XEP-0227 → natter import)", { skip }, () => {
  useSlixmpp();
  let dir: string;
  let target: TestServer;
  let prosody: ChildProcess | undefined;
  let exportDir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "natter-prosody-migration-"));
    const data = join(dir, "data");
    exportDir = join(dir, "export");
    mkdirSync(data);
    mkdirSync(exportDir);
    const port = await freePort();
    const logFile = join(dir, "prosody.log");
    const config = join(dir, "prosody.cfg.lua");
    writeFileSync(
      config,
      `-- Written by test/e2e/migration-prosody.test.ts
run_as_root = true
pidfile = ${JSON.stringify(join(dir, "prosody.pid"))}
data_path = ${JSON.stringify(data)}
certificates = ${JSON.stringify(dir)}
log = { { levels = { min = "info" }, to = "file", filename = ${JSON.stringify(logFile)} } }
interfaces = { "127.0.0.1" }
c2s_ports = { ${port} }
s2s_ports = {}
c2s_direct_tls_ports = {}
s2s_direct_tls_ports = {}
legacy_ssl_ports = {}
component_ports = {}
http_ports = {}
https_ports = {}
modules_enabled = { "roster", "saslauth", "disco", "ping", "vcard", "private", "offline" }
modules_disabled = { "posix", "tls" }
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
authentication = "internal_hashed"
storage = "internal"
VirtualHost "${D}"
`,
    );
    for (const [user, pw] of [
      ["alice", "alice-secret"],
      ["bob", "bob-secret"],
    ]) {
      const r = spawnSync("prosodyctl", ["--config", config, "register", user as string, D, pw as string], {
        encoding: "utf8",
      });
      assert.equal(r.status, 0, r.stderr);
    }
    prosody = spawn(PROSODY, ["--config", config, "-F"], { cwd: dir, stdio: "ignore" });
    await waitForPort(port, prosody, { name: "prosody", logFile: logFile });
    const server = { domain: D, port } as unknown as TestServer;
    const alice: ConnectedClient = await connect(server, "alice", "alice-secret");
    const request = (payload: ReturnType<typeof xml>) =>
      alice.xmpp.iqCaller.request(xml("iq", { type: "set" }, payload));
    await request(
      xml(
        "query",
        { xmlns: "jabber:iq:roster" },
        xml("item", { jid: `bob@${D}`, name: "Bobby" }, xml("group", {}, "Family")),
      ),
    );
    await request(xml("vCard", { xmlns: "vcard-temp" }, xml("FN", {}, "Alice from Prosody")));
    await request(
      xml("query", { xmlns: "jabber:iq:private" }, xml("notes", { xmlns: "urn:example:notes" }, "kept in prosody")),
    );
    // A subscription request bob has not answered: ask='subscribe' for alice, a pending request for bob.
    await alice.xmpp.send(xml("presence", { to: `bob@${D}`, type: "subscribe" }));
    await new Promise((r) => setTimeout(r, 300));
    await alice.stop();
    const exited = new Promise((r) => prosody?.once("exit", r));
    prosody.kill("SIGTERM");
    await exited;

    // Debian's prosody-migrator writes XEP-0227 files into its compiled-in data directory (/var/lib/prosody);
    // a copy with that one line changed writes them here instead. It reads the store as the prosody user.
    const migrator = join(dir, "prosody-migrator.lua");
    writeFileSync(
      migrator,
      readFileSync("/usr/bin/prosody-migrator", "utf8").replace(
        /^CFG_DATADIR=.*$/m,
        `CFG_DATADIR=${JSON.stringify(exportDir)};`,
      ),
    );
    const migratorConfig = join(dir, "migrator.cfg.lua");
    writeFileSync(
      migratorConfig,
      `input { type = "internal"; path = ${JSON.stringify(data)}; hosts = { [${JSON.stringify(D)}] = { "accounts", "roster", "vcard", "private" } } }
output { type = "xep0227"; path = ${JSON.stringify(exportDir)}; }
`,
    );
    spawnSync("chmod", ["-R", "a+rwX", dir]);
    chmodSync(dir, 0o777);
    const m = spawnSync("lua5.4", [migrator, `--config=${migratorConfig}`, "input", "output"], {
      encoding: "utf8",
      cwd: dir,
    });
    assert.equal(m.status, 0, m.stdout + m.stderr);
    assert.ok(
      readdirSync(exportDir).includes(`alice@${D}.xml`),
      `prosody-migrator wrote ${readdirSync(exportDir).join(", ")}`,
    );
    target = await startTestServer();
    await target.server.stop();
  });

  after(async () => {
    if (prosody && prosody.exitCode === null) prosody.kill("SIGKILL");
    await target?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("imports the Prosody export: old passwords, roster with name, group and pending request, vCard, private XML", async () => {
    const dry = runNatter(["-c", target.configPath, "import", "--dry-run", "--no-progress", exportDir]);
    assert.equal(dry.code, 0, dry.out + dry.err);
    assert.match(dry.out, /accounts +2 would be added/);
    const r = runNatter(["-c", target.configPath, "import", "--no-progress", exportDir]);
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /accounts +2 added/);
    await target.restart();

    const alice = await connect(target, "alice", "alice-secret");
    const roster = await alice.xmpp.iqCaller.request(
      xml("iq", { type: "get" }, xml("query", { xmlns: "jabber:iq:roster" })),
    );
    const bob = roster
      .getChild("query")
      ?.getChildren("item")
      .find((i) => i.attrs.jid === `bob@${D}`);
    assert.equal(bob?.attrs.name, "Bobby");
    assert.deepEqual(
      bob?.getChildren("group").map((g) => g.getText()),
      ["Family"],
    );
    assert.equal(bob?.attrs.ask, "subscribe");
    const vcard = await alice.xmpp.iqCaller.request(xml("iq", { type: "get" }, xml("vCard", { xmlns: "vcard-temp" })));
    assert.equal(vcard.getChild("vCard", "vcard-temp")?.getChildText("FN"), "Alice from Prosody");
    const priv = await alice.xmpp.iqCaller.request(
      xml(
        "iq",
        { type: "get" },
        xml("query", { xmlns: "jabber:iq:private" }, xml("notes", { xmlns: "urn:example:notes" })),
      ),
    );
    assert.equal(priv.getChild("query")?.getChild("notes")?.getText(), "kept in prosody");
    await alice.stop();

    // Bob logs in with his Prosody password and gets alice's request, kept by Prosody as a pending subscription.
    const bobClient = await connect(target, "bob", "bob-secret");
    await bobClient.xmpp.send(xml("presence"));
    await bobClient.waitFor((s) => s.is("presence") && s.attrs.type === "subscribe" && s.attrs.from === `alice@${D}`);
    await bobClient.stop();

    // The same with slixmpp, a second independent client: the old passwords, alice's roster item as Prosody kept
    // it (name, group, no subscription yet, her request pending), bob shown alice's request again.
    const aliceSlix = await slixmppImportedAccount(target, `alice@${D}`, "alice-secret");
    assert.equal(aliceSlix.ok, true, JSON.stringify(aliceSlix));
    assert.deepEqual(aliceSlix.roster, [
      { jid: `bob@${D}`, name: "Bobby", groups: ["Family"], subscription: "none", ask: "subscribe" },
    ]);
    assert.deepEqual(aliceSlix.messages, [], "Prosody kept no offline message for alice");
    const bobSlix = await slixmppImportedAccount(target, `bob@${D}`, "bob-secret");
    assert.equal(bobSlix.ok, true, JSON.stringify(bobSlix));
    assert.deepEqual(bobSlix.subscribe_from, [`alice@${D}`]);

    const again = runNatter(["-c", target.configPath, "import", "--dry-run", "--no-progress", exportDir]);
    assert.match(again.out, /nothing would change/);
  });
});
