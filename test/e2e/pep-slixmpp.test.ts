// Interop with slixmpp (Debian's python3-slixmpp, /usr/bin/python3): its xep_0163/xep_0118 plugins publish a
// tune, and another slixmpp client, whose +notify interest the server learns from its XEP-0115 caps, gets
// the notification; it also reads the node with xep_0060 and gets a publish made with publish-options.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

const PYTHON = "/usr/bin/python3";
const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), "..", "interop", "slixmpp", "pep_tune.py");

interface PepResult {
  ok: boolean;
  error?: string;
  steps: { both: boolean; notified: boolean; items: string[]; notified_with_options: boolean; titles: string[] };
}

function runScript(args: Record<string, unknown>): Promise<PepResult> {
  return new Promise((resolve, reject) => {
    // -I: ignore PYTHON* variables and the user site; -B: no __pycache__ in the repo.
    const child = spawn(PYTHON, ["-I", "-B", SCRIPT, JSON.stringify(args)], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
    });
    const killer = setTimeout(() => child.kill("SIGKILL"), 55_000);
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(killer);
      try {
        resolve(JSON.parse(stdout.trim().split("\n").at(-1) ?? "") as PepResult);
      } catch {
        reject(new Error(`script exited ${code} without a JSON result\nstdout: ${stdout}\nstderr: ${stderr.slice(-3000)}`));
      }
    });
  });
}

describe("slixmpp interop: PEP (XEP-0163) with caps-filtered notifications", { timeout: 90_000 }, () => {
  let ts: TestServer;

  before(async () => {
    assert.ok(existsSync(PYTHON), `${PYTHON} is missing: install python3-slixmpp`);
    ts = await startTestServer();
    await ts.addUser("tina", "tina-secret");
    await ts.addUser("uma", "uma-secret");
  });

  after(async () => {
    await ts?.stop();
  });

  it("a slixmpp publisher's tune reaches a slixmpp contact that advertised tune+notify", async () => {
    const r = await runScript({
      host: "127.0.0.1",
      port: ts.port,
      a: { jid: `tina@${ts.domain}`, password: "tina-secret" },
      b: { jid: `uma@${ts.domain}`, password: "uma-secret" },
    });
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.equal(r.steps.notified, true);
    assert.deepEqual(r.steps.items, ["Introduction"]);
    assert.deepEqual(r.steps.titles, ["Introduction", "Rondo"]);
  });
});
