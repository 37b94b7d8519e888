// XEP-0065 interop with slixmpp's xep_0065 plugin (Debian's python3-slixmpp): two clients find proxy.localhost
// through disco, negotiate a bytestream through it, and 4 MiB of random bytes arrive byte-identical (SHA-256).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { runSlixmpp, slixmppTarget, useSlixmpp } from "../helpers/slixmpp.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

interface TransferResult {
  ok: boolean;
  proxies?: Record<string, [string, number]>;
  sent_sha256?: string;
  received_sha256?: string;
  received?: number;
  seconds?: number;
  error?: string;
}

const SIZE = 4 * 1024 * 1024;

describe("bytestream-proxy with slixmpp's xep_0065", { timeout: 120_000 }, () => {
  useSlixmpp();
  let ts: TestServer;

  before(async () => {
    ts = await startTestServer({
      yaml: [
        "modules:",
        "  bytestream-proxy:",
        "    port: 0",
        '    bind: ["127.0.0.1"]',
        '    public_host: "127.0.0.1"',
        "    bandwidth_per_user: 0",
      ].join("\n"),
    });
    await ts.addUser("alice", "alice-secret");
    await ts.addUser("bob", "bob-secret");
  });

  after(async () => {
    await ts?.stop();
  });

  it("relays a 4 MiB file from one client to the other byte-identical", async () => {
    const r = await runSlixmpp<TransferResult>(
      "bytestream_transfer.py",
      {
        ...slixmppTarget(ts),
        a: { jid: "alice@localhost", password: "alice-secret" },
        b: { jid: "bob@localhost", password: "bob-secret" },
        size: SIZE,
      },
      { timeoutMs: 100_000 },
    );
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.equal(r.received, SIZE);
    assert.equal(r.received_sha256, r.sent_sha256);
    const [host, port] = r.proxies?.["proxy.localhost"] ?? [];
    assert.equal(host, "127.0.0.1");
    assert.ok(typeof port === "number" && port > 0);
    // The server logged the stream's end (once the script's sockets closed) with every byte counted.
    const counted = () =>
      ts.logs.some((l) => l.msg === "bytestream ended" && l.bytes === SIZE && l.requester === "alice@localhost");
    for (let i = 0; i < 50 && !counted(); i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(counted(), JSON.stringify(ts.logs.filter((l) => String(l.msg).startsWith("bytestream"))));
  });
});
