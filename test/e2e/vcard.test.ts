// XEP-0054 vcard-temp and XEP-0153 avatar hashes as users see them: store and read vCards, the errors for
// someone else's vCard and oversized ones, the hash the server puts in presence, and persistence.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { type ConnectedClient, connect, type XmlElement, xml } from "../helpers/xmpp-client.js";

const NS_VCARD = "vcard-temp";
const NS_UPDATE = "vcard-temp:x:update";
const IMAGE = Buffer.from("\x89PNG\r\n\x1a\n not really a png, but bytes all the same");
const IMAGE_HASH = createHash("sha1").update(IMAGE).digest("hex");

const conditionIs = (cond: string) => (err: { condition?: string }) => err.condition === cond;

function aliceVCard(withPhoto: boolean): XmlElement {
  const b64 = IMAGE.toString("base64");
  // Base64 folded at 76 characters as RFC 2045 says; XEP-0153 §3.5: the server ignores the whitespace.
  const folded = b64.replace(/(.{20})/g, "$1\n");
  return xml(
    "vCard",
    NS_VCARD,
    xml("FN", {}, "Alice Liddell"),
    xml("N", {}, xml("FAMILY", {}, "Liddell"), xml("GIVEN", {}, "Alice")),
    xml("NICKNAME", {}, "alice"),
    ...(withPhoto ? [xml("PHOTO", {}, xml("TYPE", {}, "image/png"), xml("BINVAL", {}, folded))] : []),
  );
}

describe("vcard (XEP-0054, XEP-0153)", () => {
  let ts: TestServer;
  let alice: ConnectedClient;
  let bob: ConnectedClient;

  const photoSeenByBob = async (presence: XmlElement, id: string) => {
    presence.attrs.id = id;
    presence.attrs.to = bob.jid;
    await alice.xmpp.send(presence);
    const got = await bob.waitFor((s) => s.is("presence") && s.attrs.id === id);
    assert.equal(got.attrs.from, alice.jid);
    const xs = got.getChildren("x", NS_UPDATE);
    assert.equal(xs.length, 1, "one update element");
    return xs[0]!.getChildText("photo");
  };

  before(async () => {
    ts = await startTestServer();
    await ts.addUser("alice", "alice-secret");
    await ts.addUser("bob", "bob-secret");
    await ts.addUser("carol", "carol-secret");
    alice = await connect(ts, "alice", "alice-secret", { resource: "laptop" });
    bob = await connect(ts, "bob", "bob-secret", { resource: "phone" });
  });

  after(async () => {
    await alice?.stop();
    await bob?.stop();
    await ts?.stop();
  });

  it("advertises vcard-temp on the server and on accounts (XEP-0054 §4)", async () => {
    for (const to of ["localhost", "alice@localhost"]) {
      const res = await bob.xmpp.iqCaller.request(
        xml("iq", { type: "get", to }, xml("query", "http://jabber.org/protocol/disco#info")),
      );
      const features = res
        .getChild("query")!
        .getChildren("feature")
        .map((f) => f.attrs.var);
      assert.ok(features.includes(NS_VCARD), `vcard-temp on ${to}`);
    }
  });

  it("gives an empty vCard for one's own when none is stored (§3.1)", async () => {
    const res = await alice.xmpp.iqCaller.request(xml("iq", { type: "get" }, xml("vCard", NS_VCARD)));
    const vcard = res.getChild("vCard", NS_VCARD)!;
    assert.equal(vcard.children.length, 0);
  });

  it("stores a vCard and returns it to its owner, with and without `to`", async () => {
    const set = await alice.xmpp.iqCaller.request(xml("iq", { type: "set" }, aliceVCard(true)));
    assert.equal(set.attrs.type, "result");
    for (const attrs of [{ type: "get" }, { type: "get", to: "alice@localhost" }]) {
      const res = await alice.xmpp.iqCaller.request(xml("iq", attrs, xml("vCard", NS_VCARD)));
      const vcard = res.getChild("vCard", NS_VCARD)!;
      assert.equal(vcard.getChildText("FN"), "Alice Liddell");
      assert.equal(vcard.getChild("N")!.getChildText("GIVEN"), "Alice");
    }
  });

  it("lets another user read it at the owner's bare JID (§3.3)", async () => {
    const res = await bob.xmpp.iqCaller.request(
      xml("iq", { type: "get", to: "alice@localhost" }, xml("vCard", NS_VCARD)),
    );
    assert.equal(res.attrs.from, "alice@localhost");
    const vcard = res.getChild("vCard", NS_VCARD)!;
    assert.equal(vcard.getChildText("NICKNAME"), "alice");
    assert.equal(vcard.getChild("PHOTO")!.getChildText("TYPE"), "image/png");
  });

  it("answers service-unavailable for a user with no vCard and for no such user (§3.3, 1.3.0)", async () => {
    for (const to of ["carol@localhost", "nobody@localhost"]) {
      await assert.rejects(
        bob.xmpp.iqCaller.request(xml("iq", { type: "get", to }, xml("vCard", NS_VCARD))),
        conditionIs("service-unavailable"),
        to,
      );
    }
  });

  it("refuses to set someone else's vCard with forbidden (§3.2)", async () => {
    await assert.rejects(
      bob.xmpp.iqCaller.request(
        xml("iq", { type: "set", to: "alice@localhost" }, xml("vCard", NS_VCARD, xml("FN", {}, "Mallory"))),
      ),
      conditionIs("forbidden"),
    );
    const res = await bob.xmpp.iqCaller.request(
      xml("iq", { type: "get", to: "alice@localhost" }, xml("vCard", NS_VCARD)),
    );
    assert.equal(res.getChild("vCard")!.getChildText("FN"), "Alice Liddell");
  });

  it("refuses a vCard over max_size with not-acceptable, and a PHOTO that is not base64 with bad-request", async () => {
    const big = xml("vCard", NS_VCARD, xml("DESC", {}, "x".repeat(70_000)));
    await assert.rejects(
      bob.xmpp.iqCaller.request(xml("iq", { type: "set" }, big)),
      (err: { condition?: string; text?: string; element?: XmlElement }) =>
        err.condition === "not-acceptable" &&
        /65536 bytes/.test(err.element?.getChildText("text", "urn:ietf:params:xml:ns:xmpp-stanzas") ?? ""),
    );
    await assert.rejects(
      bob.xmpp.iqCaller.request(
        xml("iq", { type: "set" }, xml("vCard", NS_VCARD, xml("PHOTO", {}, xml("BINVAL", {}, "not*base64")))),
      ),
      conditionIs("bad-request"),
    );
    // Neither was stored.
    await assert.rejects(
      alice.xmpp.iqCaller.request(xml("iq", { type: "get", to: "bob@localhost" }, xml("vCard", NS_VCARD))),
      conditionIs("service-unavailable"),
    );
  });

  it("puts the avatar hash into available presence (XEP-0398 §4)", async () => {
    assert.equal(await photoSeenByBob(xml("presence"), "p1"), IMAGE_HASH);
    // An empty update element is overwritten; a stale hash too.
    assert.equal(await photoSeenByBob(xml("presence", {}, xml("x", NS_UPDATE)), "p2"), IMAGE_HASH);
    assert.equal(
      await photoSeenByBob(xml("presence", {}, xml("x", NS_UPDATE, xml("photo", {}, "00ff"))), "p3"),
      IMAGE_HASH,
    );
    // An empty <photo/> from the client is left alone.
    assert.equal(await photoSeenByBob(xml("presence", {}, xml("x", NS_UPDATE, xml("photo"))), "p4"), "");
  });

  it("follows the stored vCard: an empty <photo/> once the avatar is gone", async () => {
    await alice.xmpp.iqCaller.request(xml("iq", { type: "set" }, aliceVCard(false)));
    assert.equal(await photoSeenByBob(xml("presence"), "p5"), "");
    await alice.xmpp.iqCaller.request(xml("iq", { type: "set" }, aliceVCard(true)));
    assert.equal(await photoSeenByBob(xml("presence"), "p6"), IMAGE_HASH);
  });

  it("keeps vCards and hashes across a restart", async () => {
    await alice.stop();
    await bob.stop();
    await ts.restart();
    alice = await connect(ts, "alice", "alice-secret", { resource: "laptop" });
    bob = await connect(ts, "bob", "bob-secret", { resource: "phone" });
    const res = await bob.xmpp.iqCaller.request(
      xml("iq", { type: "get", to: "alice@localhost" }, xml("vCard", NS_VCARD)),
    );
    assert.equal(res.getChild("vCard", NS_VCARD)!.getChildText("FN"), "Alice Liddell");
    assert.equal(await photoSeenByBob(xml("presence"), "p7"), IMAGE_HASH);
  });
});
