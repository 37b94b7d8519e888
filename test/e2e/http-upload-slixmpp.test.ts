// XEP-0363 interop with slixmpp's xep_0363 plugin (Debian's python3-slixmpp, run with /usr/bin/python3): the
// plugin finds upload.localhost through disco, reads max-file-size, asks for a slot, PUTs with aiohttp and the
// slot's headers; the file comes back byte-identical.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

const PYTHON = "/usr/bin/python3";
const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), "..", "interop", "slixmpp", "upload_file.py");
const MAX = 1024 * 1024;

interface UploadResult {
  ok: boolean;
  service?: string;
  url?: string;
  sha256?: string;
  downloaded_sha256?: string;
  status?: number;
  content_type?: string;
  max_file_size?: number;
  too_big?: boolean;
  error?: string;
}

const children = new Set<ChildProcess>();

function runScript(args: Record<string, unknown>): Promise<UploadResult> {
  return new Promise((resolve, reject) => {
    // -I: ignore PYTHON* variables and the user site; -B: no __pycache__ in the repo.
    const child = spawn(PYTHON, ["-I", "-B", SCRIPT, JSON.stringify(args)], { stdio: ["ignore", "pipe", "pipe"] });
    children.add(child);
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
    child.once("close", (code, signal) => {
      clearTimeout(killer);
      children.delete(child);
      try {
        resolve(JSON.parse(stdout.trim().split("\n").at(-1) ?? "") as UploadResult);
      } catch {
        reject(new Error(`upload_file.py exited ${code ?? signal} without a JSON result\nstdout: ${stdout}\nstderr: ${stderr.slice(-3000)}`));
      }
    });
  });
}

describe("http-upload with slixmpp's xep_0363", { timeout: 120_000 }, () => {
  let ts: TestServer;
  const base = () => ({ host: "127.0.0.1", port: ts.port, jid: "alice@localhost", password: "alice-secret" });

  before(async () => {
    assert.ok(existsSync(PYTHON), `${PYTHON} is missing: install python3-slixmpp (.ci/run does)`);
    ts = await startTestServer({ yaml: ["modules:", "  http-upload:", `    max_file_size: ${MAX}`].join("\n") });
    await ts.addUser("alice", "alice-secret");
  });

  after(async () => {
    for (const child of children) child.kill("SIGKILL");
    await ts?.stop();
  });

  it("uploads a file end to end and it downloads back byte-identical", async () => {
    const r = await runScript({ ...base(), size: 300_000, filename: "report 2024.pdf", content_type: "application/pdf" });
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.equal(r.service, "upload.localhost");
    assert.equal(r.max_file_size, MAX);
    assert.equal(r.status, 200);
    assert.equal(r.downloaded_sha256, r.sha256);
    assert.equal(r.content_type, "application/pdf");
    assert.match(r.url ?? "", new RegExp(`^http://localhost:${ts.httpPort}/upload/localhost/[A-Za-z0-9_-]{32}/report%202024\\.pdf$`));
  });

  it("the plugin refuses a file over the announced max-file-size", async () => {
    const r = await runScript({ ...base(), size: MAX + 1, filename: "huge.bin", too_big: true });
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.equal(r.too_big, true);
    assert.equal(r.max_file_size, MAX);
  });
});
