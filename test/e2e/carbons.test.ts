// XEP-0280 Message Carbons as users see them: two resources see each other's sent messages and what the
// other received; bare-JID messages are not copied to resources that got them; <private/> and XEP-0334
// <no-copy/> stop copies; a resource that never enabled (or disabled) carbons gets none.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { type ConnectedClient, connect, type XmlElement, xml } from "../helpers/xmpp-client.js";

const NS_CARBONS = "urn:xmpp:carbons:2";
const NS_FORWARD = "urn:xmpp:forward:0";

/** A ping round trip: everything the client sent before has been routed (and its carbons delivered). */
async function sync(c: ConnectedClient): Promise<void> {
  await c.xmpp.iqCaller.request(xml("iq", { type: "get", to: "localhost" }, xml("ping", "urn:xmpp:ping")));
}

async function online(ts: TestServer, user: string, resource: string, priority = 0): Promise<ConnectedClient> {
  const c = await connect(ts, user, `${user}-secret`, { resource });
  await c.xmpp.send(xml("presence", {}, xml("priority", {}, String(priority))));
  await sync(c);
  return c;
}

const setCarbons = (c: ConnectedClient, on: boolean) =>
  c.xmpp.iqCaller.request(xml("iq", { type: "set" }, xml(on ? "enable" : "disable", NS_CARBONS)));

function chat(id: string, to: string, body = `body of ${id}`, type = "chat", ...extra: XmlElement[]): XmlElement {
  return xml("message", { to, type, id }, xml("body", {}, body), ...extra);
}

/** The message a carbon carries, when `s` is a carbon of that kind. */
function carried(s: XmlElement, kind: "sent" | "received"): XmlElement | undefined {
  if (!s.is("message")) return undefined;
  return s.getChild(kind, NS_CARBONS)?.getChild("forwarded", NS_FORWARD)?.getChild("message") as XmlElement | undefined;
}
const carbonOf = (kind: "sent" | "received", id: string) => (s: XmlElement) => carried(s, kind)?.attrs.id === id;
const anyCarbonOf = (c: ConnectedClient, id: string) =>
  c.received.filter((s) => carried(s, "sent")?.attrs.id === id || carried(s, "received")?.attrs.id === id);
const originals = (c: ConnectedClient, id: string) => c.received.filter((s) => s.is("message") && s.attrs.id === id);

describe("message carbons (XEP-0280)", () => {
  let ts: TestServer;
  let a1: ConnectedClient;
  let a2: ConnectedClient;
  let a3: ConnectedClient;
  let bob: ConnectedClient;

  before(async () => {
    ts = await startTestServer();
    await ts.addUser("alice", "alice-secret");
    await ts.addUser("bob", "bob-secret");
    a1 = await online(ts, "alice", "one", 1);
    a2 = await online(ts, "alice", "two");
    a3 = await online(ts, "alice", "three"); // never enables carbons
    bob = await online(ts, "bob", "phone");
    await setCarbons(a1, true);
    await setCarbons(a2, true);
    await setCarbons(a2, true); // §10.1: enabling twice is no error
  });

  after(async () => {
    for (const c of [a1, a2, a3, bob]) await c?.stop();
    await ts?.stop();
  });

  it("advertises urn:xmpp:carbons:2 on the server (§3)", async () => {
    const info = await a1.xmpp.iqCaller.request(
      xml("iq", { type: "get", to: "localhost" }, xml("query", "http://jabber.org/protocol/disco#info")),
    );
    const features = info.getChild("query")?.getChildren("feature").map((f) => f.attrs.var);
    assert.ok(features?.includes(NS_CARBONS));
  });

  it("two resources see each other's sent messages as <sent/> carbons (§8)", async () => {
    await a1.xmpp.send(chat("s1", "bob@localhost/phone", "from one"));
    const copy = await a2.waitFor(carbonOf("sent", "s1"));
    assert.equal(copy.attrs.from, "alice@localhost");
    assert.equal(copy.attrs.to, "alice@localhost/two");
    assert.equal(copy.attrs.type, "chat");
    const inner = carried(copy, "sent");
    assert.equal(inner?.attrs.from, "alice@localhost/one");
    assert.equal(inner?.attrs.to, "bob@localhost/phone");
    assert.equal(inner?.getChildText("body"), "from one");
    await bob.waitFor((s) => s.is("message") && s.attrs.id === "s1");

    await a2.xmpp.send(chat("s2", "bob@localhost", "from two"));
    await a1.waitFor(carbonOf("sent", "s2"));
    await sync(a1);
    await sync(a2);
    assert.equal(anyCarbonOf(a1, "s1").length, 0, "the sender gets no copy of its own message");
    assert.equal(anyCarbonOf(a2, "s2").length, 0, "the sender gets no copy of its own message");
    assert.equal(anyCarbonOf(a3, "s1").length + anyCarbonOf(a3, "s2").length, 0, "no carbons without <enable/>");
  });

  it("copies a message received by one resource to the others as <received/> (§7)", async () => {
    await bob.xmpp.send(chat("r1", "alice@localhost/one", "to one"));
    const copy = await a2.waitFor(carbonOf("received", "r1"));
    assert.equal(copy.attrs.from, "alice@localhost");
    assert.equal(copy.attrs.to, "alice@localhost/two");
    const inner = carried(copy, "received");
    assert.equal(inner?.attrs.from, "bob@localhost/phone");
    assert.equal(inner?.attrs.to, "alice@localhost/one");
    assert.equal(inner?.getChildText("body"), "to one");
    // The archive (XEP-0313, on by default) stamps its XEP-0359 id before the copy is made.
    assert.equal(inner?.getChild("stanza-id", "urn:xmpp:sid:0")?.attrs.by, "alice@localhost");
    await a1.waitFor((s) => s.is("message") && s.attrs.id === "r1");
    assert.equal(anyCarbonOf(a1, "r1").length, 0, "the addressee gets the message, not a copy");

    // Normal with a body is copied too (§6); a headline is not.
    await bob.xmpp.send(chat("r2", "alice@localhost/one", "normal", "normal"));
    await a2.waitFor(carbonOf("received", "r2"));
    await bob.xmpp.send(chat("r3", "alice@localhost/one", "news", "headline"));
    await bob.xmpp.send(chat("r4", "alice@localhost/one", "marker"));
    await a2.waitFor(carbonOf("received", "r4"));
    assert.equal(anyCarbonOf(a2, "r3").length, 0, "headlines are not copied");
    assert.equal(anyCarbonOf(a3, "r1").length + anyCarbonOf(a3, "r2").length, 0);
  });

  it("a message to the bare JID is copied only to resources that did not get it (§7)", async () => {
    // alice/one has the highest priority: it alone gets the message; two gets a copy.
    await bob.xmpp.send(chat("b1", "alice@localhost"));
    await a1.waitFor((s) => s.is("message") && s.attrs.id === "b1");
    await a2.waitFor(carbonOf("received", "b1"));
    assert.equal(originals(a2, "b1").length, 0);

    // Same priority: both get the message itself, and neither a copy.
    await a2.xmpp.send(xml("presence", {}, xml("priority", {}, "1")));
    await sync(a2);
    await bob.xmpp.send(chat("b2", "alice@localhost"));
    await a1.waitFor((s) => s.is("message") && s.attrs.id === "b2");
    await a2.waitFor((s) => s.is("message") && s.attrs.id === "b2");
    await bob.xmpp.send(chat("b3", "alice@localhost/one", "marker"));
    await a2.waitFor(carbonOf("received", "b3"));
    assert.equal(anyCarbonOf(a1, "b2").length + anyCarbonOf(a2, "b2").length, 0, "no copy beside the message");
    await a2.xmpp.send(xml("presence", {}, xml("priority", {}, "0")));
    await sync(a2);
  });

  it("respects <private/> (§9, stripped on delivery) and XEP-0334 <no-copy/>", async () => {
    await a1.xmpp.send(chat("p1", "bob@localhost/phone", "private", "chat", xml("private", NS_CARBONS)));
    const got = await bob.waitFor((s) => s.is("message") && s.attrs.id === "p1");
    assert.equal(got.getChild("private", NS_CARBONS), undefined, "the receiving server removes <private/>");
    await bob.xmpp.send(chat("p2", "alice@localhost/one", "private back", "chat", xml("private", NS_CARBONS)));
    await bob.xmpp.send(chat("p3", "alice@localhost/one", "no copy", "chat", xml("no-copy", "urn:xmpp:hints")));
    await a1.xmpp.send(chat("p4", "bob@localhost/phone", "no copy", "chat", xml("no-copy", "urn:xmpp:hints")));
    await sync(a1);
    await bob.xmpp.send(chat("p5", "alice@localhost/one", "marker"));
    await a2.waitFor(carbonOf("received", "p5"));
    for (const id of ["p1", "p2", "p3", "p4"]) assert.equal(anyCarbonOf(a2, id).length, 0, `${id} is not copied`);
    const p2 = await a1.waitFor((s) => s.is("message") && s.attrs.id === "p2");
    assert.equal(p2.getChild("private", NS_CARBONS), undefined);
  });

  it("a disabled resource gets no carbons (§5); it may disable twice (§10.1)", async () => {
    await setCarbons(a2, false);
    await setCarbons(a2, false);
    await a1.xmpp.send(chat("d1", "bob@localhost/phone"));
    await bob.xmpp.send(chat("d2", "alice@localhost/one"));
    await sync(a1);
    await sync(bob);
    await a2.xmpp.send(chat("d3", "bob@localhost/phone", "marker"));
    await a1.waitFor(carbonOf("sent", "d3")); // a1 still has them
    await sync(a2);
    assert.equal(anyCarbonOf(a2, "d1").length + anyCarbonOf(a2, "d2").length, 0);
    await setCarbons(a2, true);
  });

  it("refuses to enable carbons for another account with <not-allowed/> (§4.1)", async () => {
    await assert.rejects(
      bob.xmpp.iqCaller.request(xml("iq", { type: "set", to: "alice@localhost" }, xml("enable", NS_CARBONS))),
      (err: { condition?: string }) => {
        assert.equal(err.condition, "not-allowed");
        return true;
      },
    );
  });
});
