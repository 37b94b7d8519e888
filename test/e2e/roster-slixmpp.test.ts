// Interop with slixmpp (Debian's python3-slixmpp, run with /usr/bin/python3): RFC 6121 roster and
// subscriptions both ways up to "both", presence with show/status, and roster removal (§2.5.2).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { runSlixmpp, useSlixmpp } from "../helpers/slixmpp.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

interface Item {
  subscription: string;
  pending_out: boolean;
}
interface RosterResult {
  ok: boolean;
  error?: string;
  steps: {
    roster_ver_offered: boolean;
    both: { ok: boolean; a_sees_b: Item | null; b_sees_a: Item | null; b_got_subscribe_from: string[] };
    presence: { a_sees_b_online: boolean; b_sees_a_online: boolean };
    status: { show?: string; status?: string };
    removed: { a_removed: boolean; b_sees_a: Item | null; b_sees_a_offline: boolean; b_none: boolean };
  };
}

const runScript = (args: Record<string, unknown>) => runSlixmpp<RosterResult>("roster_subscription.py", args);

describe("slixmpp interop: roster and subscriptions (RFC 6121)", { timeout: 90_000 }, () => {
  useSlixmpp();

  let ts: TestServer;

  before(async () => {
    ts = await startTestServer();
    await ts.addUser("rita", "rita-secret");
    await ts.addUser("sam", "sam-secret");
  });

  after(async () => {
    await ts?.stop();
  });

  it("subscribes both ways to 'both', shares presence, and unwinds on roster removal", async () => {
    const r = await runScript({
      host: "127.0.0.1",
      port: ts.port,
      a: { jid: `rita@${ts.domain}`, password: "rita-secret" },
      b: { jid: `sam@${ts.domain}`, password: "sam-secret" },
    });
    assert.equal(r.ok, true, JSON.stringify(r));
    const s = r.steps;
    assert.equal(s.roster_ver_offered, true);
    assert.deepEqual(s.both.a_sees_b, { subscription: "both", pending_out: false });
    assert.deepEqual(s.both.b_sees_a, { subscription: "both", pending_out: false });
    assert.deepEqual(s.both.b_got_subscribe_from, [`rita@${ts.domain}`]);
    assert.deepEqual(s.status, { show: "dnd", status: "busy coding" });
    assert.equal(s.removed.a_removed, true);
    assert.deepEqual(s.removed.b_sees_a, { subscription: "none", pending_out: false });
    assert.equal(s.removed.b_sees_a_offline, true);
  });
});
