// XEP-0352 Client State Indication as users see it: an inactive client gets no presence updates until it is
// active again (then the latest of each contact), while a chat message comes at once, after what was held.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { type ConnectedClient, connect, type XmlElement, xml } from "../helpers/xmpp-client.js";
import { FEATURES_END, rawLogin } from "./raw-helpers.js";

const NS_CSI = "urn:xmpp:csi:0";
const NS_CHATSTATES = "http://jabber.org/protocol/chatstates";

async function sync(c: ConnectedClient): Promise<void> {
  await c.xmpp.iqCaller.request(xml("iq", { type: "get", to: "localhost" }, xml("ping", "urn:xmpp:ping")));
}

async function online(ts: TestServer, user: string, resource: string): Promise<ConnectedClient> {
  const c = await connect(ts, user, `${user}-secret`, { resource });
  await c.xmpp.send(xml("presence"));
  await sync(c);
  return c;
}

const status = (text: string, to?: string) => xml("presence", to ? { to } : {}, xml("status", {}, text));
const presenceWith = (text: string) => (s: XmlElement) => s.is("presence") && s.getChildText("status") === text;
const settle = () => new Promise((r) => setTimeout(r, 200));

describe("client state indication (XEP-0352)", () => {
  let ts: TestServer;
  let phone: ConnectedClient; // alice's client that goes inactive
  let desk: ConnectedClient; // alice's other resource: its presence reaches the phone
  let bob: ConnectedClient;

  before(async () => {
    ts = await startTestServer({ yaml: "modules:\n  client-state:\n    max_held: 4" });
    await ts.addUser("alice", "alice-secret");
    await ts.addUser("bob", "bob-secret");
    phone = await online(ts, "alice", "phone");
    desk = await online(ts, "alice", "desk");
    bob = await online(ts, "bob", "laptop");
  });

  after(async () => {
    for (const c of [phone, desk, bob]) await c?.stop();
    await ts?.stop();
  });

  it("offers <csi/> in the stream features after authentication (§4.1)", async () => {
    await ts.addUser("carol", "carol-secret");
    const { rc } = await rawLogin(ts, "carol", "carol-secret", "raw");
    await rc.waitFor(FEATURES_END);
    assert.match(rc.data, new RegExp(`<csi xmlns=["']${NS_CSI}["']`));
    rc.send("</stream:stream>");
  });

  it("holds presence updates while inactive and sends the latest of each contact on <active/>", async () => {
    await phone.xmpp.send(xml("inactive", NS_CSI));
    await sync(phone); // the ping's answer is not held: nothing was waiting yet
    const mark = phone.received.length;
    await desk.xmpp.send(status("desk-1"));
    await desk.xmpp.send(status("desk-2"));
    await bob.xmpp.send(status("bob-1", "alice@localhost/phone"));
    await bob.xmpp.send(status("bob-2", "alice@localhost/phone"));
    await bob.xmpp.send(xml("message", { to: "alice@localhost/phone", type: "chat" }, xml("composing", NS_CHATSTATES)));
    await sync(desk);
    await sync(bob);
    await settle();
    assert.equal(phone.received.length, mark, "nothing reaches an inactive client but what matters");

    await phone.xmpp.send(xml("active", NS_CSI));
    await phone.waitFor(presenceWith("desk-2"));
    await phone.waitFor(presenceWith("bob-2"));
    await phone.waitFor((s) => s.is("message") && s.getChild("composing", NS_CHATSTATES) !== undefined);
    await sync(phone);
    const got = phone.received.slice(mark);
    assert.equal(got.filter(presenceWith("desk-1")).length, 0, "only the latest presence of a resource");
    assert.equal(got.filter(presenceWith("bob-1")).length, 0, "only the latest presence of a contact");
    // And the client is active again: presence comes at once.
    await desk.xmpp.send(status("desk-3"));
    await phone.waitFor(presenceWith("desk-3"));
  });

  it("delivers a chat message at once to an inactive client, after what was held", async () => {
    await phone.xmpp.send(xml("inactive", NS_CSI));
    await sync(phone);
    const mark = phone.received.length;
    await desk.xmpp.send(status("desk-4"));
    await sync(desk);
    await settle();
    assert.equal(phone.received.length, mark);
    await bob.xmpp.send(xml("message", { to: "alice@localhost/phone", type: "chat", id: "hello1" }, xml("body", {}, "hello")));
    const msg = await phone.waitFor((s) => s.is("message") && s.attrs.id === "hello1");
    const got = phone.received.slice(mark);
    const p = got.findIndex(presenceWith("desk-4"));
    assert.ok(p !== -1 && p < got.indexOf(msg), "what was held comes first, in order");
    await phone.xmpp.send(xml("active", NS_CSI));
    await sync(phone);
  });

  it("sends what it holds once more than max_held wait", async () => {
    await phone.xmpp.send(xml("inactive", NS_CSI));
    await sync(phone);
    const mark = phone.received.length;
    // Receipts without a body wait, and none replaces another.
    for (const n of [1, 2, 3, 4]) {
      await bob.xmpp.send(
        xml("message", { to: "alice@localhost/phone", id: `rc${n}` }, xml("received", { xmlns: "urn:xmpp:receipts", id: `m${n}` })),
      );
    }
    await sync(bob);
    await settle();
    assert.equal(phone.received.length, mark, "four are held");
    await bob.xmpp.send(
      xml("message", { to: "alice@localhost/phone", id: "rc5" }, xml("received", { xmlns: "urn:xmpp:receipts", id: "m5" })),
    );
    await phone.waitFor((s) => s.attrs.id === "rc5");
    assert.deepEqual(
      phone.received.slice(mark).map((s) => s.attrs.id),
      ["rc1", "rc2", "rc3", "rc4", "rc5"],
    );
    await phone.xmpp.send(xml("active", NS_CSI));
  });
});
