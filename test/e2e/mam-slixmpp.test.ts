// Interop with slixmpp's xep_0313 plugin (Debian's python3-slixmpp 1.8, /usr/bin/python3): a Python client
// pages through both parties' archives with RSM, reads the query form, filters by `with`, and sees the
// XEP-0359 stanza-id of each delivered message name its archive item.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { runSlixmpp, useSlixmpp } from "../helpers/slixmpp.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

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

const runScript = (args: Record<string, unknown>) => runSlixmpp<MamResult>("mam_history.py", args, { timeoutMs: 60_000 });

describe("slixmpp xep_0313 interop", { timeout: 120_000 }, () => {
  useSlixmpp();

  let ts: TestServer;
  before(async () => {
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
