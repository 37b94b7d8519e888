// XEP-0292 vCard4 as @xmpp/client users see it: the PEP node urn:xmpp:vcard4 (item "current") published and
// read by a contact with a +notify notification, the same vCard through the IQ form, a set on someone else's
// account refused, a non-contact refused by the node's presence access model, and the disco feature.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { onlineWithCaps } from "../helpers/caps.js";
import { subscribeBoth } from "../helpers/roster.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { type ConnectedClient, connect, type XmlElement, xml } from "../helpers/xmpp-client.js";

const D = "localhost";
const NS_PUBSUB = "http://jabber.org/protocol/pubsub";
const NS_EVENT = "http://jabber.org/protocol/pubsub#event";
const NS_DISCO_INFO = "http://jabber.org/protocol/disco#info";
const NS_V4 = "urn:ietf:params:xml:ns:vcard-4.0";
const NODE = "urn:xmpp:vcard4";

const vcard = (fn: string) => xml("vcard", { xmlns: NS_V4 }, xml("fn", {}, xml("text", {}, fn)), xml("nickname", {}, xml("text", {}, "stpeter")));
const getV4 = async (c: ConnectedClient, owner: string) => (await c.xmpp.iqCaller.request(xml("iq", { type: "get", to: owner }, xml("vcard", { xmlns: NS_V4 })))).getChild("vcard", NS_V4)!;
const fnOf = (v: XmlElement) => v.getChild("fn")?.getChildText("text");

describe("vCard4 over XMPP (XEP-0292)", () => {
  let ts: TestServer;
  let peter: ConnectedClient;
  let sam: ConnectedClient;
  let eve: ConnectedClient;

  before(async () => {
    ts = await startTestServer();
    for (const u of ["peter", "sam", "eve"]) await ts.addUser(u, `${u}-secret`);
    peter = await onlineWithCaps(ts, "peter", "r", []);
    sam = await onlineWithCaps(ts, "sam", "r", [NODE]);
    eve = await onlineWithCaps(ts, "eve", "r", []);
    await subscribeBoth(peter, sam);
  });

  after(async () => {
    for (const c of [peter, sam, eve]) await c?.stop();
    await ts?.stop();
  });

  it("advertises the vCard4 namespace on the account", async () => {
    const info = await peter.xmpp.iqCaller.request(xml("iq", { type: "get", to: `peter@${D}` }, xml("query", { xmlns: NS_DISCO_INFO })));
    const vars = info.getChild("query")!.getChildren("feature").map((f: XmlElement) => f.attrs.var);
    assert.ok(vars.includes(NS_V4));
  });

  it("answers an empty <vcard/> when there is none", async () => {
    const v = await getV4(peter, `peter@${D}`);
    assert.equal(v.children.length, 0);
  });

  it("publishes to the urn:xmpp:vcard4 node; a +notify contact is told and reads it by PEP and by IQ", async () => {
    await peter.xmpp.iqCaller.request(
      xml("iq", { type: "set" }, xml("pubsub", { xmlns: NS_PUBSUB }, xml("publish", { node: NODE }, xml("item", { id: "current" }, vcard("Peter Saint-Andre"))))),
    );
    const note = await sam.waitFor((s) => s.is("message") && s.getChild("event", NS_EVENT)?.getChild("items")?.attrs.node === NODE);
    assert.equal(fnOf(note.getChild("event", NS_EVENT)!.getChild("items")!.getChild("item")!.getChild("vcard", NS_V4)!), "Peter Saint-Andre");
    const got = await sam.xmpp.iqCaller.request(xml("iq", { type: "get", to: `peter@${D}` }, xml("pubsub", { xmlns: NS_PUBSUB }, xml("items", { node: NODE }))));
    const item = got.getChild("pubsub", NS_PUBSUB)!.getChild("items")!.getChild("item")!;
    assert.equal(item.attrs.id, "current");
    assert.equal(fnOf(await getV4(sam, `peter@${D}`)), "Peter Saint-Andre");
  });

  it("stores a vCard set through the IQ form in the same PEP item", async () => {
    const mark = sam.received.length;
    await peter.xmpp.iqCaller.request(xml("iq", { type: "set", to: `peter@${D}` }, vcard("Peter")));
    const got = await sam.xmpp.iqCaller.request(xml("iq", { type: "get", to: `peter@${D}` }, xml("pubsub", { xmlns: NS_PUBSUB }, xml("items", { node: NODE }))));
    const its = got.getChild("pubsub", NS_PUBSUB)!.getChild("items")!.getChildren("item") as XmlElement[];
    assert.equal(its.length, 1);
    assert.equal(fnOf(its[0]!.getChild("vcard", NS_V4)!), "Peter");
    await sam.waitFor((s) => sam.received.indexOf(s) >= mark && s.is("message") && s.getChild("event", NS_EVENT)?.getChild("items")?.attrs.node === NODE);
  });

  it("refuses a set on another account and a read by a non-contact (presence access model)", async () => {
    const conditionOf = async (p: Promise<unknown>) => {
      try {
        await p;
      } catch (err) {
        return (err as { condition?: string }).condition;
      }
      return "none";
    };
    assert.equal(await conditionOf(sam.xmpp.iqCaller.request(xml("iq", { type: "set", to: `peter@${D}` }, vcard("Mallory")))), "forbidden");
    assert.equal(await conditionOf(getV4(eve, `peter@${D}`)), "not-authorized");
    assert.equal(fnOf(await getV4(peter, `peter@${D}`)), "Peter");
  });
});
