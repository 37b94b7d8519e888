// Interop: slixmpp's own xep_0280 plugin (Debian python3-slixmpp) enables carbons on Natter and sees the
// <sent/> and <received/> copies of what its account's other resource sends and receives.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { runSlixmpp, useSlixmpp } from "../helpers/slixmpp.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

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

const runScript = (args: Record<string, unknown>) => runSlixmpp<CarbonsResult>("carbons_slix.py", args);

describe("carbons with slixmpp's xep_0280 plugin", { timeout: 60_000 }, () => {
  useSlixmpp();

  let ts: TestServer;

  before(async () => {
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
