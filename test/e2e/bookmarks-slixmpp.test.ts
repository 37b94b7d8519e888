// Interop with slixmpp (Debian's python3-slixmpp): a legacy client using xep_0048 over XEP-0049 private storage
// sees the same list in private storage and in the legacy PEP node (XEP-0402 #compat, #compat-pep), and an
// @xmpp/client session of the same account reads it as XEP-0402 items.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { runSlixmpp, useSlixmpp } from "../helpers/slixmpp.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { connect, type XmlElement, xml } from "../helpers/xmpp-client.js";

const NS_PUBSUB = "http://jabber.org/protocol/pubsub";
const NS_BM = "urn:xmpp:bookmarks:1";

interface Result {
  ok: boolean;
  error?: string;
  steps: { features: string[]; private: [string, string, boolean, string][]; pep: [string, string, boolean, string][] };
}

const runScript = (args: Record<string, unknown>) => runSlixmpp<Result>("bookmarks_legacy.py", args, { timeoutMs: 55_000 });

describe("slixmpp interop: legacy XEP-0048 bookmarks unified with XEP-0402", { timeout: 90_000 }, () => {
  useSlixmpp();

  let ts: TestServer;

  before(async () => {
    ts = await startTestServer();
    await ts.addUser("hecate", "hecate-secret");
  });

  after(async () => {
    await ts?.stop();
  });

  it("a list stored through private storage reads back from private storage, the legacy PEP node and as XEP-0402 items", async () => {
    const r = await runScript({ host: "127.0.0.1", port: ts.port, a: { jid: `hecate@${ts.domain}`, password: "hecate-secret" } });
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.deepEqual(r.steps.features, [`${NS_BM}#compat`, `${NS_BM}#compat-pep`]);
    assert.deepEqual(r.steps.private, [
      ["coven@chat.shakespeare.lit", "The Coven", true, "Hecate"],
      ["globe@chat.shakespeare.lit", "The Globe", false, "Hecate"],
    ]);
    const c = await connect(ts, "hecate", "hecate-secret");
    try {
      const res = await c.xmpp.iqCaller.request(xml("iq", { type: "get" }, xml("pubsub", { xmlns: NS_PUBSUB }, xml("items", { node: NS_BM }))));
      const items = res.getChild("pubsub", NS_PUBSUB)!.getChild("items")!.getChildren("item") as XmlElement[];
      const byId = new Map(items.map((i) => [i.attrs.id, i.getChild("conference", NS_BM)!]));
      assert.equal(byId.get("coven@chat.shakespeare.lit")?.attrs.autojoin, "true");
      assert.equal(byId.get("coven@chat.shakespeare.lit")?.getChildText("nick"), "Hecate");
      assert.equal(byId.get("globe@chat.shakespeare.lit")?.attrs.name, "The Globe");
    } finally {
      await c.stop();
    }
  });
});
