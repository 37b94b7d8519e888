// Interop with slixmpp (Debian's python3-slixmpp): its xep_0060 plugin finds the pubsub service by disco,
// creates and configures a node, subscribes, publishes, reads, retracts, changes the access model and an
// affiliation, and deletes the node, with the notifications a subscriber gets on the way.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { runSlixmpp, useSlixmpp } from "../helpers/slixmpp.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

interface PubsubResult {
  ok: boolean;
  error?: string;
  steps: {
    service: string;
    title: string;
    subscription: string;
    published: { id: string; title: string | null }[];
    items: string[];
    retracted: string[];
    create_again: string | null;
    publish_by_b: string | null;
    whitelist_read: string | null;
    member_read: number;
    deleted: string[];
    gone: string | null;
  };
}

describe("slixmpp interop: pubsub service (XEP-0060)", { timeout: 90_000 }, () => {
  useSlixmpp();

  let ts: TestServer;

  before(async () => {
    ts = await startTestServer({ yaml: "modules:\n  pubsub: {}" });
    await ts.addUser("sam", "sam-secret");
    await ts.addUser("tess", "tess-secret");
  });

  after(async () => {
    await ts?.stop();
  });

  it("a slixmpp owner runs a node's life cycle and a slixmpp subscriber follows it", async () => {
    const r = await runSlixmpp<PubsubResult>(
      "pubsub_service.py",
      {
        host: "127.0.0.1",
        port: ts.port,
        a: { jid: `sam@${ts.domain}`, password: "sam-secret" },
        b: { jid: `tess@${ts.domain}`, password: "tess-secret" },
        node: "slix-news",
      },
      { timeoutMs: 55_000 },
    );
    assert.equal(r.ok, true, JSON.stringify(r));
    const s = r.steps;
    assert.equal(s.service, `pubsub.${ts.domain}`);
    assert.equal(s.title, "Slixmpp news");
    assert.equal(s.subscription, "subscribed");
    assert.deepEqual(
      s.published.map((p) => `${p.id}:${p.title}`),
      ["item-1:one", "item-2:two", "item-3:three"],
    );
    assert.deepEqual(s.items, ["item-2", "item-3"], "max_items 2 keeps the newest two");
    assert.deepEqual(s.retracted, ["item-3"]);
    assert.equal(s.create_again, "conflict");
    assert.equal(s.publish_by_b, "forbidden");
    assert.equal(s.whitelist_read, "not-allowed");
    assert.equal(s.member_read, 1);
    assert.deepEqual(s.deleted, ["slix-news"]);
    assert.equal(s.gone, "item-not-found");
  });
});
