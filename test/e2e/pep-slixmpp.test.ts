// Interop with slixmpp (Debian's python3-slixmpp, /usr/bin/python3): its xep_0163/xep_0118 plugins publish a
// tune, and another slixmpp client, whose +notify interest the server learns from its XEP-0115 caps, gets
// the notification; it also reads the node with xep_0060 and gets a publish made with publish-options.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { runSlixmpp, useSlixmpp } from "../helpers/slixmpp.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

interface PepResult {
  ok: boolean;
  error?: string;
  steps: { both: boolean; notified: boolean; items: string[]; notified_with_options: boolean; titles: string[] };
}

const runScript = (args: Record<string, unknown>) => runSlixmpp<PepResult>("pep_tune.py", args, { timeoutMs: 55_000 });

describe("slixmpp interop: PEP (XEP-0163) with caps-filtered notifications", { timeout: 90_000 }, () => {
  useSlixmpp();

  let ts: TestServer;

  before(async () => {
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
