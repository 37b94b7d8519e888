// XEP-0084 interop with slixmpp's xep_0084 plugin (Debian's python3-slixmpp 1.8, /usr/bin/python3): one
// slixmpp client publishes avatar data and metadata, a slixmpp contact whose caps carry
// urn:xmpp:avatar:metadata+notify gets the metadata notification and fetches the data it names, and the
// XEP-0398 conversion (on by default) shows the avatar as the vcard-temp PHOTO to an @xmpp/client user.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { runSlixmpp, slixmppTarget, useSlixmpp } from "../helpers/slixmpp.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { connect, xml } from "../helpers/xmpp-client.js";

const NS_VCARD = "vcard-temp";
const sha1 = (b: Buffer) => createHash("sha1").update(b).digest("hex");
const PNG = Buffer.from("\x89PNG\r\n\x1a\n an avatar published by slixmpp's xep_0084", "latin1");

interface AvatarResult {
  ok: boolean;
  error?: string;
  steps: {
    both: boolean;
    published_id: string;
    notified: { from: string; items: { id: string; type: string; bytes: string }[] };
    retrieved: { id: string; sha1: string; bytes: number };
  };
}

describe("slixmpp interop: user avatar (XEP-0084) and its vCard PHOTO (XEP-0398)", { timeout: 90_000 }, () => {
  useSlixmpp();

  let ts: TestServer;

  before(async () => {
    ts = await startTestServer();
    for (const u of ["vera", "walt", "xeno"]) await ts.addUser(u, `${u}-secret`);
  });

  after(async () => {
    await ts?.stop();
  });

  it("a contact is notified of the metadata and fetches the data; the vCard shows the PHOTO", async () => {
    const id = sha1(PNG);
    const r = await runSlixmpp<AvatarResult>(
      "avatar_pep.py",
      {
        ...slixmppTarget(ts),
        a: { jid: `vera@${ts.domain}`, password: "vera-secret" },
        b: { jid: `walt@${ts.domain}`, password: "walt-secret" },
        data: PNG.toString("base64"),
        type: "image/png",
      },
      { timeoutMs: 55_000 },
    );
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.equal(r.steps.both, true);
    assert.equal(r.steps.published_id, id, "the plugin names the item by the SHA-1 of the data (XEP-0084 §4.2)");
    assert.deepEqual(r.steps.notified, {
      from: `vera@${ts.domain}`,
      items: [{ id, type: "image/png", bytes: String(PNG.length) }],
    });
    assert.deepEqual(r.steps.retrieved, { id, sha1: id, bytes: PNG.length });

    // XEP-0398 §3.1: anyone asking for Vera's vCard sees the avatar as its PHOTO.
    const xeno = await connect(ts, "xeno", "xeno-secret");
    try {
      const res = await xeno.xmpp.iqCaller.request(xml("iq", { type: "get", to: `vera@${ts.domain}` }, xml("vCard", { xmlns: NS_VCARD })));
      const photo = res.getChild("vCard", NS_VCARD)?.getChild("PHOTO");
      assert.ok(photo, "the vCard has a PHOTO");
      assert.equal(photo.getChildText("TYPE"), "image/png");
      assert.equal(sha1(Buffer.from(photo.getChildText("BINVAL") ?? "", "base64")), id);
    } finally {
      await xeno.stop();
    }
  });
});
