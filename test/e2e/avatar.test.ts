// XEP-0084 User Avatar through PEP and its XEP-0398 conversion as @xmpp/client users see it: data and
// metadata published and read by a contact with a +notify notification; the avatar turns up as the vcard-temp
// PHOTO and as the XEP-0153 hash in the next presence; a vCard set with a PHOTO turns up as XEP-0084 data and
// metadata; an empty metadata (XEP-0084 §4.6) removes the PHOTO; the disco feature on the account.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { capsFeatures, capsPresence, onlineWithCaps } from "../helpers/caps.js";
import { subscribeBoth } from "../helpers/roster.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { type ConnectedClient, connect, type XmlElement, xml } from "../helpers/xmpp-client.js";

const D = "localhost";
const NS_PUBSUB = "http://jabber.org/protocol/pubsub";
const NS_EVENT = "http://jabber.org/protocol/pubsub#event";
const NS_DISCO_INFO = "http://jabber.org/protocol/disco#info";
const NS_DATA = "urn:xmpp:avatar:data";
const NS_META = "urn:xmpp:avatar:metadata";
const NS_VCARD = "vcard-temp";
const NS_UPDATE = "vcard-temp:x:update";

const sha1 = (b: Buffer) => createHash("sha1").update(b).digest("hex");
const PNG = Buffer.from("\x89PNG\r\n\x1a\n an avatar published through PEP", "latin1");
const JPEG = Buffer.from("\xff\xd8\xff\xe0 an avatar set through vcard-temp", "latin1");

async function sendPresence(c: ConnectedClient, features = capsFeatures()): Promise<XmlElement> {
  const mark = c.received.length;
  await c.xmpp.send(capsPresence(features));
  return c.waitFor((s) => c.received.indexOf(s) >= mark && s.is("presence") && s.attrs.from === c.jid && s.attrs.type === undefined);
}

const publish = (c: ConnectedClient, node: string, id: string, payload: XmlElement) =>
  c.xmpp.iqCaller.request(xml("iq", { type: "set" }, xml("pubsub", { xmlns: NS_PUBSUB }, xml("publish", { node }, xml("item", { id }, payload)))));
const items = (c: ConnectedClient, owner: string, node: string) =>
  c.xmpp.iqCaller.request(xml("iq", { type: "get", to: owner }, xml("pubsub", { xmlns: NS_PUBSUB }, xml("items", { node }))));
const itemsOf = (r: XmlElement) => r.getChild("pubsub", NS_PUBSUB)!.getChild("items")!.getChildren("item") as XmlElement[];
const vCardOf = async (c: ConnectedClient, owner: string) => (await c.xmpp.iqCaller.request(xml("iq", { type: "get", to: owner }, xml("vCard", { xmlns: NS_VCARD })))).getChild("vCard", NS_VCARD)!;
const photoHash = (p: XmlElement) => p.getChild("x", NS_UPDATE)?.getChildText("photo");

describe("avatars (XEP-0084 with XEP-0398 conversion)", () => {
  let ts: TestServer;
  let alice: ConnectedClient;
  let bob: ConnectedClient;

  before(async () => {
    ts = await startTestServer();
    for (const u of ["alice", "bob"]) await ts.addUser(u, `${u}-secret`);
    alice = await onlineWithCaps(ts, "alice", "a1", []);
    bob = await onlineWithCaps(ts, "bob", "b1", [NS_META]);
    await subscribeBoth(alice, bob);
  });

  after(async () => {
    for (const c of [alice, bob]) await c?.stop();
    await ts?.stop();
  });

  it("announces urn:xmpp:pep-vcard-conversion:0 on the account (XEP-0398 §2)", async () => {
    const info = await alice.xmpp.iqCaller.request(xml("iq", { type: "get", to: `alice@${D}` }, xml("query", { xmlns: NS_DISCO_INFO })));
    const vars = info.getChild("query")!.getChildren("feature").map((f: XmlElement) => f.attrs.var);
    assert.ok(vars.includes("urn:xmpp:pep-vcard-conversion:0"));
  });

  it("publishes XEP-0084 data then metadata; a +notify contact is told and reads the data", async () => {
    // Alice keeps her vCard's other fields: the conversion only replaces the PHOTO.
    await alice.xmpp.iqCaller.request(xml("iq", { type: "set" }, xml("vCard", { xmlns: NS_VCARD }, xml("FN", {}, "Alice Liddell"))));
    const id = sha1(PNG);
    await publish(alice, NS_DATA, id, xml("data", { xmlns: NS_DATA }, PNG.toString("base64")));
    await publish(alice, NS_META, id, xml("metadata", { xmlns: NS_META }, xml("info", { id, bytes: String(PNG.length), type: "image/png" }), xml("info", { id: "0123", bytes: "99", type: "image/png", url: "https://example.org/a.png" })));
    const note = await bob.waitFor((s) => s.is("message") && s.getChild("event", NS_EVENT)?.getChild("items")?.attrs.node === NS_META);
    assert.equal(note.getChild("event", NS_EVENT)!.getChild("items")!.getChild("item")!.attrs.id, id);
    const data = itemsOf(await items(bob, `alice@${D}`, NS_DATA));
    assert.equal(data[0]?.attrs.id, id);
    assert.equal(Buffer.from(data[0]!.getChildText("data")!, "base64").toString("latin1"), PNG.toString("latin1"));
  });

  it("puts the published avatar into the vCard PHOTO and the presence hash (XEP-0398 §3.1, §4)", async () => {
    const id = sha1(PNG);
    const vcard = await vCardOf(bob, `alice@${D}`);
    assert.equal(vcard.getChildText("FN"), "Alice Liddell");
    const photo = vcard.getChild("PHOTO")!;
    assert.equal(photo.getChildText("TYPE"), "image/png");
    assert.equal(sha1(Buffer.from(photo.getChildText("BINVAL")!, "base64")), id);
    const own = await sendPresence(alice);
    assert.equal(photoHash(own), id);
    const atBob = await bob.waitFor((s) => s.is("presence") && s.attrs.from === alice.jid && photoHash(s) === id);
    assert.ok(atBob);
  });

  it("does not convert metadata whose data does not match its id (§3.1 SHOULD verify)", async () => {
    const bogus = "0000000000000000000000000000000000000000";
    await publish(alice, NS_DATA, bogus, xml("data", { xmlns: NS_DATA }, Buffer.from("other bytes").toString("base64")));
    await publish(alice, NS_META, bogus, xml("metadata", { xmlns: NS_META }, xml("info", { id: bogus, bytes: "11", type: "image/png" })));
    const photo = (await vCardOf(alice, `alice@${D}`)).getChild("PHOTO")!;
    assert.equal(sha1(Buffer.from(photo.getChildText("BINVAL")!, "base64")), sha1(PNG));
  });

  it("publishes a vCard PHOTO as XEP-0084 data and metadata, with a notification (XEP-0398 §3.2)", async () => {
    const id = sha1(JPEG);
    const mark = bob.received.length;
    await alice.xmpp.iqCaller.request(
      xml("iq", { type: "set" }, xml("vCard", { xmlns: NS_VCARD }, xml("FN", {}, "Alice"), xml("PHOTO", {}, xml("TYPE", {}, "image/jpeg"), xml("BINVAL", {}, JPEG.toString("base64"))))),
    );
    // Published before the vCard result came back.
    const meta = itemsOf(await items(bob, `alice@${D}`, NS_META));
    assert.equal(meta[0]?.attrs.id, id);
    const info = meta[0]!.getChild("metadata", NS_META)!.getChild("info")!;
    assert.deepEqual([info.attrs.id, info.attrs.bytes, info.attrs.type], [id, String(JPEG.length), "image/jpeg"]);
    const data = itemsOf(await items(bob, `alice@${D}`, NS_DATA)).find((i) => i.attrs.id === id);
    assert.equal(Buffer.from(data!.getChildText("data")!, "base64").toString("latin1"), JPEG.toString("latin1"));
    await bob.waitFor((s) => bob.received.indexOf(s) >= mark && s.is("message") && s.getChild("event", NS_EVENT)?.getChild("items")?.getChild("item")?.attrs.id === id);
    assert.equal(photoHash(await sendPresence(alice)), id);
  });

  it("removes the PHOTO when the avatar is disabled with an empty metadata (XEP-0084 §4.6)", async () => {
    await publish(alice, NS_META, "none", xml("metadata", { xmlns: NS_META }));
    const vcard = await vCardOf(alice, `alice@${D}`);
    assert.equal(vcard.getChild("PHOTO"), undefined);
    assert.equal(vcard.getChildText("FN"), "Alice");
    const own = await sendPresence(alice);
    assert.equal(own.getChild("x", NS_UPDATE)?.getChild("photo")?.getText() ?? "", "");
  });
});
