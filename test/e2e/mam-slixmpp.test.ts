// Interop with slixmpp's xep_0313 plugin (Debian's python3-slixmpp 1.8, /usr/bin/python3): a Python client
// pages through both parties' archives with RSM, reads the query form, filters by `with`, and sees the
// XEP-0359 stanza-id of each delivered message name its archive item.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

const PYTHON = "/usr/bin/python3";
const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), "..", "interop", "slixmpp", "mam_history.py");

interface Item {
  id: string;
  body: string;
  from: string;
  to: string;
  result_from: string;
}
interface MamResult {
  ok: boolean;
  error?: string;
  delivered: { body: string; stanza_id: string | null }[];
  a_history: Item[];
  b_history: Item[];
  b_last: Item[];
  b_with_a: number;
  fields: string[];
  disco: string[];
}

function runScript(args: Record<string, unknown>): Promise<MamResult> {
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
    const killer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.once("close", (code) => {
      clearTimeout(killer);
      const last = stdout.trim().split("\n").at(-1) ?? "";
      try {
        resolve(JSON.parse(last) as MamResult);
      } catch {
        reject(new Error(`mam_history.py exited ${code} without JSON\nstdout: ${stdout}\nstderr: ${stderr.slice(-3000)}`));
      }
    });
  });
}

describe("slixmpp xep_0313 interop", { timeout: 120_000 }, () => {
  let ts: TestServer;
  before(async () => {
    assert.ok(existsSync(PYTHON), `${PYTHON} is missing: install python3-slixmpp (.ci/run does)`);
    ts = await startTestServer();
    await ts.addUser("alice", "alice-secret");
    await ts.addUser("bob", "bob-secret");
  });
  after(async () => {
    await ts?.stop();
  });

  it("retrieves both parties' history page by page, with the delivered stanza-ids", async () => {
    const count = 25;
    const r = await runScript({
      host: "127.0.0.1",
      port: ts.port,
      a: { jid: "alice@localhost", password: "alice-secret" },
      b: { jid: "bob@localhost", password: "bob-secret" },
      count,
      page: 10,
    });
    assert.equal(r.ok, true, JSON.stringify(r).slice(0, 2000));
    const bodies = Array.from({ length: count }, (_, i) => `history ${i}`);
    assert.deepEqual(
      r.a_history.map((m) => m.body),
      bodies,
    );
    assert.deepEqual(
      r.b_history.map((m) => m.body),
      bodies,
    );
    assert.ok(r.a_history.every((m) => m.to === "bob@localhost" && m.from.startsWith("alice@localhost/")));
    assert.ok(r.b_history.every((m) => m.result_from === "bob@localhost"));
    // The stanza-id on each delivered message is the recipient's archive id.
    assert.deepEqual(
      r.delivered.map((d) => d.stanza_id),
      r.b_history.map((m) => m.id),
    );
    assert.equal(r.b_with_a, count);
    assert.deepEqual(
      r.b_last.map((m) => m.body),
      [...bodies].reverse(),
    );
    for (const f of ["with", "start", "end", "before-id", "after-id", "ids"]) assert.ok(r.fields.includes(f), `form field ${f}`);
    for (const f of ["urn:xmpp:mam:2", "urn:xmpp:mam:2#extended", "urn:xmpp:sid:0"]) assert.ok(r.disco.includes(f), `disco ${f}`);
  });
});
