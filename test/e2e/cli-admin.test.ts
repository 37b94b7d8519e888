// Administration from the real `natter` command line against a real `natter start` process, through the control
// socket: status, sessions, kick (the @xmpp/client user sees it), rooms, reload, and API tokens (created with no
// server running too) that then open the admin HTTP API; readable tables and --json for scripts.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { NATTER_MAIN, runNatter, waitForLine } from "../helpers/natter-process.js";
import { freePort } from "../helpers/test-server.js";
import { connect, xml } from "../helpers/xmpp-client.js";

describe("natter CLI administration", () => {
  let dir: string;
  let cfg: string;
  let port: number;
  let httpPort: number;
  let server: ChildProcess | undefined;
  const natter = (...args: string[]) => runNatter(["-c", cfg, ...args]);
  const apiGet = (path: string, token: string) =>
    fetch(`http://127.0.0.1:${httpPort}/admin/api${path}`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "natter-cli-admin-"));
    port = await freePort();
    httpPort = await freePort();
    cfg = join(dir, "natter.yaml");
    writeFileSync(
      cfg,
      [
        "hosts: [localhost]",
        "data_dir: ./data",
        `listeners: { c2s: { port: ${port}, bind: [127.0.0.1] }, c2s_direct_tls: { enabled: false }, http: { port: ${httpPort}, bind: [127.0.0.1] }, https: { enabled: false } }`,
        "s2s: { enabled: false }",
      ].join("\n"),
    );
  });

  after(() => {
    server?.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  let offlineToken = "";
  let offlineId = "";

  it("creates and lists API tokens with no server running; other commands say the server is not reachable", () => {
    const created = natter("token", "create", "--scope", "users:read", "--name", "backup", "--json");
    assert.equal(created.code, 0, created.err);
    const json = JSON.parse(created.out) as { token: string; info: { id: string; scopes: string[]; name: string } };
    assert.match(json.token, /^natter_/);
    assert.deepEqual(json.info.scopes, ["users:read"]);
    offlineToken = json.token;
    offlineId = json.info.id;
    const listed = natter("token", "list");
    assert.equal(listed.code, 0, listed.err);
    assert.match(listed.out, /^ID\s+NAME\s+CREATED\s+EXPIRES\s+SCOPES$/m);
    assert.match(listed.out, new RegExp(`^${offlineId}\\s+backup\\s.*never\\s+users:read$`, "m"));
    assert.ok(!listed.out.includes(offlineToken.slice(`natter_${offlineId}_`.length)), "the secret is never listed");
    const bad = natter("token", "create", "--scope", "users:read,root");
    assert.equal(bad.code, 2);
    assert.match(bad.err, /unknown scope "root"/);
    const status = natter("status");
    assert.equal(status.code, 2);
    assert.match(status.err, /cannot reach a running server/);
    assert.equal(natter("adduser", "alice@localhost", "-p", "pw-alice").code, 0);
  });

  it("status, sessions, rooms, kick, reload and tokens through the running server", async () => {
    server = spawn(process.execPath, ["--import", "tsx", NATTER_MAIN, "-c", cfg, "start"], { stdio: ["ignore", "pipe", "pipe"] });
    await waitForLine(server, /Natter started/);

    const status = natter("status", "--json");
    assert.equal(status.code, 0, status.err);
    const s = JSON.parse(status.out);
    assert.deepEqual(s.hosts, ["localhost"]);
    assert.equal(s.sessions.total, 0);
    assert.match(natter("status").out, /^sessions: 0 \(tcp 0, websocket 0, bosh 0\)$/m);

    const ts = { port, tlsPort: 0, domain: "localhost" } as Parameters<typeof connect>[0];
    const alice = await connect(ts, "alice", "pw-alice", { resource: "desk" });
    await alice.xmpp.send(xml("presence"));
    await alice.xmpp.send(xml("presence", { to: "lobby@conference.localhost/alice" }, xml("x", { xmlns: "http://jabber.org/protocol/muc" })));
    await alice.waitFor((st) => st.is("presence") && st.attrs.from === "lobby@conference.localhost/alice");

    const sessions = JSON.parse(natter("sessions", "--json").out) as { jid: string; transport: string; available: boolean }[];
    assert.equal(sessions.length, 1);
    assert.equal(sessions[0]!.jid, "alice@localhost/desk");
    assert.equal(sessions[0]!.transport, "tcp");
    const table = natter("sessions", "alice@localhost");
    assert.equal(table.code, 0, table.err);
    assert.match(table.out, /^JID\s+ADDRESS\s+TRANSPORT/m);
    assert.match(table.out, /^alice@localhost\/desk\s+127\.0\.0\.1\s+tcp\s+yes\s+(off|on)\s+0\s+yes\s/m);
    assert.match(natter("sessions", "nobody@localhost").out, /no sessions/);

    const rooms = JSON.parse(natter("rooms", "--json").out) as { jid: string; occupants: number }[];
    assert.deepEqual(rooms.map((r) => [r.jid, r.occupants]), [["lobby@conference.localhost", 1]]);
    assert.match(natter("rooms").out, /^lobby@conference\.localhost\s+1\s+/m);

    // A token made through the server opens the API within its scopes; one made offline works too; revoked, neither.
    const created = natter("token", "create", "--scope", "sessions:read", "--expires", "30");
    assert.equal(created.code, 0, created.err);
    const token = created.out.split("\n")[0]!;
    assert.match(created.out, /not shown again/);
    assert.equal(await apiGet("/sessions", token), 200);
    assert.equal(await apiGet("/users", token), 403);
    assert.equal(await apiGet("/users", offlineToken), 200);
    const revoked = natter("token", "revoke", offlineId);
    assert.equal(revoked.code, 0, revoked.err);
    assert.equal(await apiGet("/users", offlineToken), 401);
    assert.equal(natter("token", "revoke", offlineId).code, 2, "no such token any more");
    const list = JSON.parse(natter("token", "list", "--json").out) as { id: string; expiresAt?: number }[];
    assert.equal(list.length, 1);
    assert.ok(list[0]!.expiresAt! > Date.now() + 29 * 86400_000);

    const ended = new Promise<string>((resolve) => alice.xmpp.on("error", (err: { condition?: string }) => resolve(err.condition ?? "")));
    const kicked = natter("kick", "alice@localhost", "--reason", "maintenance");
    assert.equal(kicked.code, 0, kicked.err);
    assert.equal(kicked.out, "ended 1 session of alice@localhost\n");
    assert.equal(await ended, "policy-violation");
    const again = natter("kick", "alice@localhost", "--json");
    assert.equal(again.code, 3);
    assert.deepEqual(JSON.parse(again.out), { count: 0 });

    const original = readFileSync(cfg, "utf8");
    writeFileSync(cfg, `${original}\nlog_level: debug\n`);
    const reload = natter("reload");
    assert.equal(reload.code, 0, reload.err);
    assert.match(reload.out, /^reloaded:\n {2}log_level/m);
    // A broken file is refused whole, with where it broke; the server keeps running.
    writeFileSync(cfg, `${original}\nlog_level: [debug\n`);
    const refused = natter("reload", "--json");
    assert.equal(refused.code, 2);
    assert.match(refused.err, /natter\.yaml:\d+/);
    writeFileSync(cfg, original);

    const exited = new Promise<number | null>((resolve) => server!.once("exit", (code) => resolve(code)));
    server.kill("SIGTERM");
    assert.equal(await exited, 0);
    server = undefined;
    await alice.stop();
  });
});
