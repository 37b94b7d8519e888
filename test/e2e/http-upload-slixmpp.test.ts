// XEP-0363 interop with slixmpp's xep_0363 plugin (Debian's python3-slixmpp, run with /usr/bin/python3): the
// plugin finds upload.localhost through disco, reads max-file-size, asks for a slot, PUTs with aiohttp and the
// slot's headers; the file comes back byte-identical.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { runSlixmpp, useSlixmpp } from "../helpers/slixmpp.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

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

const runScript = (args: Record<string, unknown>) => runSlixmpp<UploadResult>("upload_file.py", args);

describe("http-upload with slixmpp's xep_0363", { timeout: 120_000 }, () => {
  useSlixmpp();

  let ts: TestServer;
  // Slot URLs are https:// (the server's self-signed certificate, trusted by the script for this run).
  const base = () => ({
    host: "127.0.0.1",
    port: ts.port,
    jid: "alice@localhost",
    password: "alice-secret",
    cafile: join(ts.dataDir, "certs", "self-signed.crt"),
  });

  before(async () => {
    ts = await startTestServer({ yaml: ["modules:", "  http-upload:", `    max_file_size: ${MAX}`].join("\n") });
    await ts.addUser("alice", "alice-secret");
  });

  after(async () => {
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
    assert.match(r.url ?? "", new RegExp(`^https://localhost:${ts.httpsPort}/upload/localhost/[A-Za-z0-9_-]{32}/report%202024\\.pdf$`));
  });

  it("the plugin refuses a file over the announced max-file-size", async () => {
    const r = await runScript({ ...base(), size: MAX + 1, filename: "huge.bin", too_big: true });
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.equal(r.too_big, true);
    assert.equal(r.max_file_size, MAX);
  });
});
