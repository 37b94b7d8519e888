// The ejabberd extauth protocol against a real program (test/fixtures/extauth.py, run by /usr/bin/python3):
// logins answered by it, existence asked with isuser, a program that dies restarted, one that hangs timed out
// (temporary-auth-failure, RFC 6120 §6.5.10) and replaced, the server serving throughout.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { type ConnectedClient, connect, xml } from "../helpers/xmpp-client.js";

const FIXTURE = new URL("../fixtures/extauth.py", import.meta.url).pathname;

async function outcome(ts: TestServer, user: string, password: string): Promise<string> {
  try {
    const c = await connect(ts, user, password);
    await c.stop();
    return "success";
  } catch (err) {
    return (err as { condition?: string }).condition ?? String(err);
  }
}

/** Retries a login until it succeeds (a restarted program may still be starting). */
async function eventually(ts: TestServer, user: string, password: string, ms = 8000): Promise<void> {
  const deadline = Date.now() + ms;
  let last = "";
  while (Date.now() < deadline) {
    last = await outcome(ts, user, password);
    if (last === "success") return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`${user} never logged in again (last: ${last})`);
}

describe("external program authentication (ejabberd extauth)", () => {
  let ts: TestServer;
  let starts: string;
  const clients: ConnectedClient[] = [];

  before(async () => {
    // The program writes a line at each start into a file beside the test's own temp files.
    starts = join(mkdtempSync(join(tmpdir(), "natter-extauth-")), "starts");
    ts = await startTestServer({
      auth: [
        "provider: external",
        // Every login reaches the program (the cache has its own unit tests).
        "cache_ttl: 0",
        "external:",
        "  command: /usr/bin/python3",
        `  args: [${JSON.stringify(FIXTURE)}, ${JSON.stringify(starts)}]`,
        "  timeout: 1",
        "  restart_delay: 0.1",
      ],
    });
  });

  after(async () => {
    for (const c of clients) await c.stop();
    await ts?.stop();
    if (starts) rmSync(dirname(starts), { recursive: true, force: true });
  });

  const startCount = () => readFileSync(starts, "utf8").split("\n").filter(Boolean).length;

  it("logs users in with the program's answer and refuses what it refuses", async () => {
    const alice = await connect(ts, "alice", "alice-ext-pw");
    clients.push(alice);
    assert.match(alice.jid, /^alice@localhost\//);
    assert.equal(await outcome(ts, "alice", "wrong"), "not-authorized");
    assert.equal(await outcome(ts, "mallory", "anything"), "not-authorized");
  });

  it("asks isuser for offline recipients: a stranger's message bounces, a known user's is kept", async () => {
    const alice = clients[0] as ConnectedClient;
    await alice.xmpp.send(xml("message", { to: "stranger@localhost", id: "x1", type: "chat" }, xml("body", {}, "?")));
    assert.equal((await alice.waitFor((s) => s.attrs.id === "x1")).attrs.type, "error");
    await alice.xmpp.send(xml("message", { to: "bob@localhost", id: "x2", type: "chat" }, xml("body", {}, "stored")));
    const bob = await connect(ts, "bob", "bob-ext-pw");
    clients.push(bob);
    await bob.xmpp.send(xml("presence"));
    await bob.waitFor((s) => s.name === "message" && s.getChildText("body") === "stored");
  });

  it("restarts a program that dies mid-request; that login gets temporary-auth-failure", async () => {
    const before = startCount();
    assert.equal(await outcome(ts, "crash", "x"), "temporary-auth-failure");
    await eventually(ts, "alice", "alice-ext-pw");
    assert.ok(startCount() > before, "a new program was started");
    assert.ok(ts.logs.some((l) => l.msg === "external authentication program exited"));
  });

  it("times out a program that hangs (temporary-auth-failure), kills and replaces it", async () => {
    const before = startCount();
    const started = Date.now();
    assert.equal(await outcome(ts, "hang", "x"), "temporary-auth-failure");
    assert.ok(Date.now() - started < 5000, "answered within the timeout, not left hanging");
    await eventually(ts, "alice", "alice-ext-pw");
    assert.ok(startCount() > before);
    assert.ok(ts.logs.some((l) => String(l.msg).includes("timed out")));
  });

  it("creates and changes accounts through the program (tryregister, setpass), as the CLI and admin API do", async () => {
    await ts.server.core.accounts.createUser("localhost", "carol", "carol-ext-pw");
    assert.equal(await outcome(ts, "carol", "carol-ext-pw"), "success");
    await ts.server.core.accounts.setPassword("localhost", "carol", "carol-new-pw");
    assert.equal(await outcome(ts, "carol", "carol-ext-pw"), "not-authorized");
    assert.equal(await outcome(ts, "carol", "carol-new-pw"), "success");
  });
});
