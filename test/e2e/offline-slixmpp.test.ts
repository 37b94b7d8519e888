// Interop with slixmpp (Debian's python3-slixmpp 1.8, /usr/bin/python3) for XEP-0160 offline messages,
// with a restart in between: one slixmpp client sends to a slixmpp user who has no session, the server
// restarts, and the recipient logs in with slixmpp and gets every message once, in order, with the
// XEP-0203 delay slixmpp's xep_0203 plugin reads (msg['delay']): stamped by the server when it stored it.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { runSlixmpp, useSlixmpp } from "../helpers/slixmpp.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

interface Received {
  body: string;
  type: string;
  id: string;
  from: string;
  to: string;
  delay_stamp: string | null;
  delay_from: string | null;
  delay_text: string;
}
interface OfflineResult {
  ok: boolean;
  error?: string;
  errors?: { id: string; condition: string }[];
  messages?: Received[];
}

const runScript = (args: Record<string, unknown>) => runSlixmpp<OfflineResult>("offline_messages.py", args);

describe("slixmpp offline messages across a restart (XEP-0160, XEP-0203)", { timeout: 120_000 }, () => {
  useSlixmpp();

  let ts: TestServer;
  const alice = { jid: "alice@localhost", password: "alice-secret" };
  const bob = { jid: "bob@localhost", password: "bob-secret" };

  before(async () => {
    ts = await startTestServer();
    await ts.addUser("alice", alice.password);
    await ts.addUser("bob", bob.password);
  });
  after(async () => {
    await ts?.stop();
  });

  it("stores what a slixmpp client sends to an offline slixmpp user and delivers it after a restart with a delay stamp", async () => {
    const bodies = ["first offline message", "second: <b>&amp; markup</b> ünïcode ✓", "normal:a type normal message", "last one"];
    const sentFrom = Date.now() - 1000; // the stamp has second precision at worst
    const sent = await runScript({ host: "127.0.0.1", port: ts.port, mode: "send", a: alice, b: bob, bodies });
    assert.equal(sent.ok, true, JSON.stringify(sent));
    assert.deepEqual(sent.errors, [], "stored, not bounced");
    const sentUntil = Date.now();

    await ts.restart();

    const got = await runScript({ host: "127.0.0.1", port: ts.port, mode: "receive", b: bob, expect: bodies.length, wait: 1.5 });
    assert.equal(got.ok, true, JSON.stringify(got));
    const messages = got.messages ?? [];
    // Each once, in the order sent.
    assert.deepEqual(
      messages.map((m) => m.body),
      bodies,
    );
    assert.deepEqual(
      messages.map((m) => m.type),
      ["chat", "chat", "normal", "chat"],
    );
    assert.deepEqual(
      messages.map((m) => m.id),
      bodies.map((_, n) => `off${n}`),
    );
    for (const m of messages) {
      assert.match(m.from, /^alice@localhost\/slix-sender$/, "from the sender's full JID");
      assert.equal(m.to.split("/")[0], "bob@localhost");
      // XEP-0203: slixmpp parsed the stamp; it names when the server stored the message, before the restart.
      assert.ok(m.delay_stamp !== null, `no delay on ${JSON.stringify(m)}`);
      const stamp = Date.parse(m.delay_stamp);
      assert.ok(stamp >= sentFrom && stamp <= sentUntil, `stamp ${m.delay_stamp} outside the sending window`);
      assert.equal(m.delay_from, "localhost", "stamped by the recipient's server");
    }

    // Delivered once: a second login after another restart gets nothing more.
    await ts.restart();
    const again = await runScript({ host: "127.0.0.1", port: ts.port, mode: "receive", b: bob, expect: 1, wait: 0, timeout: 3 });
    assert.equal(again.ok, false, "no offline message is left");
    assert.deepEqual(again.messages, []);
  });
});
