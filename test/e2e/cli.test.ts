// The `natter` command line as an operator uses it: accounts, bulk provisioning, check-config, send, and
// a real `natter start` process that shuts down gracefully on SIGTERM.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { RawClient, STREAM_OPEN } from "../helpers/raw-client.js";
import { NATTER_MAIN, runNatter, waitForLine } from "../helpers/natter-process.js";
import { freePort } from "../helpers/test-server.js";
import { connect } from "../helpers/xmpp-client.js";

describe("natter CLI", () => {
  let dir: string;
  let cfg: string;
  let port: number;
  let server: ChildProcess | undefined;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "natter-cli-"));
    port = await freePort();
    cfg = join(dir, "natter.yaml");
    writeFileSync(
      cfg,
      [
        "hosts: [localhost, example.org]",
        "data_dir: ./data",
        `listeners: { c2s: { port: ${port}, bind: [127.0.0.1] }, c2s_direct_tls: { enabled: false }, http: { enabled: false }, https: { enabled: false } }`,
        "send: { from: localhost }",
        "s2s: { enabled: false }",
      ].join("\n"),
    );
  });

  after(() => {
    server?.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  it("adduser with --password, from stdin, and refuses duplicates and foreign hosts", () => {
    assert.equal(runNatter(["-c", cfg, "adduser", "alice@localhost", "--password", "pw-alice"]).code, 0);
    assert.equal(runNatter(["-c", cfg, "adduser", "bob@localhost"], "pw-bob\n").code, 0);
    const dup = runNatter(["-c", cfg, "adduser", "alice@localhost", "-p", "x"]);
    assert.equal(dup.code, 2);
    assert.match(dup.err, /already exists/);
    const foreign = runNatter(["-c", cfg, "adduser", "carol@elsewhere.net", "-p", "x"]);
    assert.equal(foreign.code, 2);
    assert.match(foreign.err, /not a host of this server/);
    const bad = runNatter(["-c", cfg, "adduser", "not a jid@localhost", "-p", "x"]);
    assert.equal(bad.code, 2);
  });

  it("adduser --from-file provisions many accounts and reports bad lines", () => {
    const csv = join(dir, "users.csv");
    const lines = ["# organisation directory export"];
    for (let i = 0; i < 50; i++) lines.push(`user${i}@example.org,pw${i}`);
    lines.push("broken-line-without-password", "alice@localhost,dup");
    writeFileSync(csv, lines.join("\n"));
    const r = runNatter(["-c", cfg, "adduser", "--from-file", csv]);
    assert.match(r.out, /created 50 accounts, skipped 2/);
    assert.match(r.err, /users\.csv:52: skipped/);
    assert.match(r.err, /users\.csv:53: skipped: account exists/);
    assert.equal(r.code, 3);
    const users = runNatter(["-c", cfg, "users", "example.org"]);
    assert.equal(users.out.trim().split("\n").length, 50);
  });

  it("users lists every host's accounts; passwd and deluser change them", () => {
    const all = runNatter(["-c", cfg, "users"]).out;
    assert.match(all, /^alice@localhost$/m);
    assert.match(all, /^user7@example.org$/m);
    assert.equal(runNatter(["-c", cfg, "passwd", "bob@localhost", "-p", "pw-bob-2"]).code, 0);
    assert.equal(runNatter(["-c", cfg, "deluser", "user7@example.org"]).code, 0);
    assert.doesNotMatch(runNatter(["-c", cfg, "users"]).out, /user7@example.org/);
    assert.equal(runNatter(["-c", cfg, "deluser", "user7@example.org"]).code, 2);
  });

  it("check-config names the bad key and line", () => {
    assert.equal(runNatter(["-c", cfg, "check-config"]).code, 0);
    const badCfg = join(dir, "bad.yaml");
    writeFileSync(badCfg, "hosts: [localhost]\nlisteners:\n  c2s:\n    prot: 5222\n");
    const r = runNatter(["-c", badCfg, "check-config"]);
    assert.equal(r.code, 2);
    assert.match(r.err, /bad\.yaml:4:5: listeners\.c2s\.prot: unknown key/);
  });

  it("send fails clearly when no server runs", () => {
    const r = runNatter(["-c", cfg, "send", "alice@localhost"], "hello\n");
    assert.equal(r.code, 2);
    assert.match(r.err, /cannot reach a running server/);
  });

  it("start serves clients; send delivers from a script; SIGTERM closes streams with system-shutdown", async () => {
    server = spawn(process.execPath, ["--import", "tsx", NATTER_MAIN, "-c", cfg, "start"], { stdio: ["ignore", "pipe", "pipe"] });
    await waitForLine(server, /Natter started/);
    const ts = { port, tlsPort: 0, domain: "localhost" } as Parameters<typeof connect>[0];
    const alice = await connect(ts, "alice", "pw-alice", { resource: "desk" });
    await alice.xmpp.send((await import("../helpers/xmpp-client.js")).xml("presence"));
    await new Promise((r) => setTimeout(r, 200));
    const sent = runNatter(["-c", cfg, "send", "alice@localhost"], "disk is 95% full\n");
    assert.equal(sent.code, 0, sent.err);
    const msg = await alice.waitFor((s) => s.is("message"));
    assert.equal(msg.getChildText("body"), "disk is 95% full");
    assert.equal(msg.attrs.from, "localhost");

    const raw = await RawClient.connect(port);
    raw.send(STREAM_OPEN());
    await raw.waitFor(/<stream:features/);
    const exited = new Promise<number | null>((resolve) => server!.once("exit", (code) => resolve(code)));
    server.kill("SIGTERM");
    await raw.waitFor(/<system-shutdown xmlns="urn:ietf:params:xml:ns:xmpp-streams"\/>/);
    await raw.closed;
    assert.equal(await exited, 0);
    server = undefined;
    await alice.stop();
  });
});
