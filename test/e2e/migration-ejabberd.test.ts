// A real export from ejabberd (Debian's 23.01) imported into Natter: ejabberd runs as a foreground Erlang VM with
// its own ejabberd.yml and Mnesia spool in a temp dir (as bench/ejabberd-server.ts starts it: no node name, so no
// epmd and no ejabberdctl; its commands are reached through mod_http_api on loopback instead). Users are
// registered with the `register` command, given data over XMPP, and `export_piefxis` writes the XEP-0227 files
// (a main file that xi:includes one per host, plaintext passwords as ejabberd stores them here). The users log
// in to Natter with their ejabberd passwords and find roster, vCard and private XML (@xmpp/client), the roster
// again and the offline message with its delay in slixmpp (test/interop/slixmpp/imported_account.py).
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { runNatter } from "../helpers/natter-process.js";
import { useSlixmpp } from "../helpers/slixmpp.js";
import { slixmppImportedAccount } from "../helpers/slixmpp-imported-account.js";
import { freePort, startTestServer, type TestServer } from "../helpers/test-server.js";
import { waitForPort } from "../helpers/wait-for-port.js";
import { connect, xml } from "../helpers/xmpp-client.js";

const ERL = "/usr/bin/erl";
const LIBS = "/usr/lib/x86_64-linux-gnu";
const installed = existsSync(ERL) && existsSync(LIBS) && readdirSync(LIBS).some((d) => /^ejabberd-\d/.test(d));
const skip = !installed && !process.env.CI ? "ejabberd is not installed (CI installs it)" : false;
const D = "localhost";

describe("migration from ejabberd (export_piefxis → XEP-0227 → natter import)", { skip }, () => {
  useSlixmpp();
  let dir: string;
  let exportDir: string;
  let ejabberd: ChildProcess | undefined;
  let target: TestServer;
  let sentBefore: number;
  let sentAfter: number;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "natter-ejabberd-migration-"));
    exportDir = join(dir, "export");
    for (const d of ["data", "logs", "export"]) mkdirSync(join(dir, d));
    const [c2s, http] = [await freePort(), await freePort()];
    const config = join(dir, "ejabberd.yml");
    writeFileSync(
      config,
      `# Written by test/e2e/migration-ejabberd.test.ts
hosts: ["${D}"]
loglevel: warning
log_rotate_count: 0
acme: { auto: false }
listen:
  - { port: ${c2s}, ip: "127.0.0.1", module: ejabberd_c2s, starttls: false }
  - { port: ${http}, ip: "127.0.0.1", module: ejabberd_http, request_handlers: { /api: mod_http_api } }
disable_sasl_mechanisms: ["digest-md5", "x-oauth2"]
auth_method: [mnesia]
auth_password_format: plain
default_db: mnesia
acl:
  local: { user_regexp: "" }
access_rules:
  local: { allow: local }
  c2s: { allow: all }
api_permissions:
  "loopback":
    from: [mod_http_api]
    who: { ip: "127.0.0.1/8" }
    what: "*"
modules:
  mod_disco: {}
  mod_offline: {}
  mod_private: {}
  mod_roster: {}
  mod_vcard: { search: false }
`,
    );
    ejabberd = spawn(
      ERL,
      ["+K", "true", "-noinput", "-mnesia", "dir", JSON.stringify(join(dir, "data")), "-s", "ejabberd"],
      {
        cwd: dir,
        stdio: "ignore",
        env: {
          ...process.env,
          HOME: dir,
          ERL_LIBS: LIBS,
          EJABBERD_CONFIG_PATH: config,
          EJABBERD_LOG_PATH: join(dir, "logs", "ejabberd.log"),
        },
      },
    );
    await waitForPort(c2s, ejabberd, { name: "ejabberd", timeoutMs: 60_000 });
    await waitForPort(http, ejabberd, { name: "ejabberd", timeoutMs: 60_000 });
    const api = async (command: string, args: Record<string, string>) => {
      const res = await fetch(`http://127.0.0.1:${http}/api/${command}`, {
        method: "POST",
        body: JSON.stringify(args),
      });
      assert.equal(res.status, 200, `${command}: ${await res.text()}`);
    };
    await api("register", { user: "alice", host: D, password: "alice-secret" });
    await api("register", { user: "bob", host: D, password: "bob-secret" });

    const server = { domain: D, port: c2s } as unknown as TestServer;
    const alice = await connect(server, "alice", "alice-secret");
    const set = (payload: ReturnType<typeof xml>) => alice.xmpp.iqCaller.request(xml("iq", { type: "set" }, payload));
    await set(
      xml(
        "query",
        { xmlns: "jabber:iq:roster" },
        xml("item", { jid: `bob@${D}`, name: "Bobby" }, xml("group", {}, "Family")),
      ),
    );
    await set(xml("vCard", { xmlns: "vcard-temp" }, xml("FN", {}, "Alice from ejabberd")));
    await set(
      xml("query", { xmlns: "jabber:iq:private" }, xml("notes", { xmlns: "urn:example:notes" }, "kept in ejabberd")),
    );
    sentBefore = Date.now();
    await alice.xmpp.send(
      xml("message", { to: `bob@${D}`, type: "chat" }, xml("body", {}, "offline hello from ejabberd")),
    );
    await new Promise((r) => setTimeout(r, 500));
    sentAfter = Date.now();
    await alice.stop();
    await api("export_piefxis", { dir: exportDir });
    const exited = new Promise((r) => ejabberd?.once("exit", r));
    ejabberd.kill("SIGTERM");
    await exited;
    target = await startTestServer();
    await target.server.stop();
  });

  after(async () => {
    if (ejabberd && ejabberd.exitCode === null) ejabberd.kill("SIGKILL");
    await target?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("imports the ejabberd export: plaintext passwords, roster, vCard, private XML, offline message with its delay", async () => {
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
    const vcard = await alice.xmpp.iqCaller.request(xml("iq", { type: "get" }, xml("vCard", { xmlns: "vcard-temp" })));
    assert.equal(vcard.getChild("vCard", "vcard-temp")?.getChildText("FN"), "Alice from ejabberd");
    const priv = await alice.xmpp.iqCaller.request(
      xml(
        "iq",
        { type: "get" },
        xml("query", { xmlns: "jabber:iq:private" }, xml("notes", { xmlns: "urn:example:notes" })),
      ),
    );
    assert.equal(priv.getChild("query")?.getChild("notes")?.getText(), "kept in ejabberd");
    await alice.stop();

    // slixmpp, a second independent client, sees alice's roster as ejabberd kept it and is the one that receives
    // bob's offline message (it is delivered once): XEP-0203 stamped when ejabberd received it, not at the import.
    const aliceSlix = await slixmppImportedAccount(target, `alice@${D}`, "alice-secret");
    assert.equal(aliceSlix.ok, true, JSON.stringify(aliceSlix));
    assert.deepEqual(aliceSlix.roster, [
      { jid: `bob@${D}`, name: "Bobby", groups: ["Family"], subscription: "none", ask: null },
    ]);
    assert.deepEqual(aliceSlix.messages, []);
    const bobSlix = await slixmppImportedAccount(target, `bob@${D}`, "bob-secret", { expect: 1 });
    assert.equal(bobSlix.ok, true, JSON.stringify(bobSlix));
    assert.deepEqual(
      bobSlix.messages?.map((m) => [m.body, m.type, m.from.split("/")[0]]),
      [["offline hello from ejabberd", "chat", `alice@${D}`]],
      "the offline message, once",
    );
    const stamp = Date.parse(bobSlix.messages?.[0]?.delay_stamp ?? "");
    assert.ok(
      stamp >= sentBefore - 2000 && stamp <= sentAfter,
      `the delay is when ejabberd received it (${bobSlix.messages?.[0]?.delay_stamp}), before the export and import`,
    );
  });
});
