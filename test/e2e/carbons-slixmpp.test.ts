// Interop: slixmpp's own xep_0280 plugin (Debian python3-slixmpp) enables carbons on Natter and sees the
// <sent/> and <received/> copies of what its account's other resource sends and receives.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

const PYTHON = "/usr/bin/python3";
const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), "..", "interop", "slixmpp", "carbons_slix.py");

interface Copy {
  from: string;
  to: string;
  type: string;
  body: string;
  carbon_from: string;
}
interface CarbonsResult {
  ok: boolean;
  server_feature: boolean;
  sent: Copy;
  received: Copy;
  error?: string;
}

/** Runs the script with its JSON argument; its last stdout line is the JSON result (it stops itself after 30 s). */
function runScript(args: Record<string, unknown>): Promise<CarbonsResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, ["-I", "-B", SCRIPT, JSON.stringify(args)], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
    });
    const killer = setTimeout(() => child.kill("SIGKILL"), 45_000);
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(killer);
      try {
        resolve(JSON.parse(stdout.trim().split("\n").at(-1) ?? "") as CarbonsResult);
      } catch {
        reject(new Error(`carbons_slix.py exited ${code} without a JSON result\n${stdout}\n${stderr.slice(-2000)}`));
      }
    });
  });
}

describe("carbons with slixmpp's xep_0280 plugin", { timeout: 60_000 }, () => {
  let ts: TestServer;

  before(async () => {
    assert.ok(existsSync(PYTHON), `${PYTHON} is missing: install python3-slixmpp`);
    ts = await startTestServer({ requireEncryption: false });
    await ts.addUser("alice", "alice-secret");
    await ts.addUser("bob", "bob-secret");
  });

  after(async () => {
    await ts?.stop();
  });

  it("sees the other resource's sent message and the reply it received as carbons", async () => {
    const r = await runScript({
      host: "127.0.0.1",
      port: ts.port,
      a: { jid: "alice@localhost", password: "alice-secret" },
      b: { jid: "bob@localhost", password: "bob-secret" },
    });
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.equal(r.server_feature, true);
    assert.deepEqual(r.sent, {
      from: "alice@localhost/two",
      to: "bob@localhost",
      type: "chat",
      body: "hello from two",
      carbon_from: "alice@localhost",
    });
    assert.deepEqual(r.received, {
      from: "bob@localhost/phone",
      to: "alice@localhost/two",
      type: "chat",
      body: "re: hello from two",
      carbon_from: "alice@localhost",
    });
  });
});
