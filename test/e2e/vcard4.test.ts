// XEP-0292 vCard4 as @xmpp/client users see it: the PEP node urn:xmpp:vcard4 (item "current") published and
// read by a contact with a +notify notification, the same vCard through the IQ form, a set on someone else's
// account refused, a non-contact refused by the node's presence access model, and the disco feature.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { type ConnectedClient, connect, type XmlElement, xml } from "../helpers/xmpp-client.js";

const D = "localhost";
const NS_PUBSUB = "http://jabber.org/protocol/pubsub";
const NS_EVENT = "http://jabber.org/protocol/pubsub#event";
const NS_DISCO_INFO = "http://jabber.org/protocol/disco#info";
const NS_CAPS = "http://jabber.org/protocol/caps";
const NS_ROSTER = "jabber:iq:roster";
const NS_V4 = "urn:ietf:params:xml:ns:vcard-4.0";
const NODE = "urn:xmpp:vcard4";
const CAPS_NODE = "https://example.org/test-client";

function verOf(features: string[]): string {
  const s = `client/pc//Natter test<${[...features].sort().map((f) => `${f}<`).join("")}`;
  return createHash("sha1").update(s, "utf8").digest("base64");
}
type IqCallee = { get(ns: string, name: string, handler: (ctx: { stanza: XmlElement; element: XmlElement }) => XmlElement): void };
const calleeOf = (c: ConnectedClient) => (c.xmpp as unknown as { iqCallee: IqCallee }).iqCallee;

async function online(ts: TestServer, user: string, notify: string[]): Promise<ConnectedClient> {
  const c = await connect(ts, user, `${user}-secret`, { resource: "r" });
  const features = [NS_DISCO_INFO, NS_CAPS, ...notify.map((n) => `${n}+notify`)];
  calleeOf(c).get(NS_DISCO_INFO, "query", (ctx) =>
    xml("query", { xmlns: NS_DISCO_INFO, node: ctx.element.attrs.node }, xml("identity", { category: "client", type: "pc", name: "Natter test" }), ...features.map((f) => xml("feature", { var: f }))),
  );
  await c.xmpp.iqCaller.request(xml("iq", { type: "get" }, xml("query", { xmlns: NS_ROSTER })));
  await c.xmpp.send(xml("presence", {}, xml("c", { xmlns: NS_CAPS, hash: "sha-1", node: CAPS_NODE, ver: verOf(features) })));
  await c.waitFor((s) => s.is("presence") && s.attrs.from === c.jid && s.attrs.type === undefined);
  return c;
}

async function befriend(a: ConnectedClient, b: ConnectedClient, aBare: string, bBare: string): Promise<void> {
  const push = (c: ConnectedClient, jid: string) =>
    c.waitFor((s) => s.is("iq") && s.attrs.type === "set" && s.getChild("query", NS_ROSTER)?.getChild("item")?.attrs.jid === jid && s.getChild("query", NS_ROSTER)?.getChild("item")?.attrs.subscription === "both");
  await a.xmpp.send(xml("presence", { to: bBare, type: "subscribe" }));
  await b.waitFor((s) => s.is("presence") && s.attrs.type === "subscribe" && s.attrs.from === aBare);
  await b.xmpp.send(xml("presence", { to: aBare, type: "subscribed" }));
  await b.xmpp.send(xml("presence", { to: aBare, type: "subscribe" }));
  await a.waitFor((s) => s.is("presence") && s.attrs.type === "subscribe" && s.attrs.from === bBare);
  await a.xmpp.send(xml("presence", { to: bBare, type: "subscribed" }));
  await push(a, bBare);
  await push(b, aBare);
}

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
    peter = await online(ts, "peter", []);
    sam = await online(ts, "sam", [NODE]);
    eve = await online(ts, "eve", []);
    await befriend(peter, sam, `peter@${D}`, `sam@${D}`);
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
