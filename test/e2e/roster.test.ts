// RFC 6121 roster (§2) and subscriptions (§3) as @xmpp/client users see them: roster get/set/remove and
// their errors, versioning (§2.6), the full subscription handshake to "both", pending requests kept for an
// offline user, cancelling both ways, pre-approval (§3.4), and the stream features.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { client } from "@xmpp/client";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { type ConnectedClient, connect, hideSasl2, type XmlElement, xml } from "../helpers/xmpp-client.js";

const NS_ROSTER = "jabber:iq:roster";
const D = "localhost";

async function rosterGet(c: ConnectedClient, ver?: string): Promise<XmlElement> {
  return c.xmpp.iqCaller.request(
    xml("iq", { type: "get" }, xml("query", ver === undefined ? { xmlns: NS_ROSTER } : { xmlns: NS_ROSTER, ver })),
  );
}

function rosterSet(c: ConnectedClient, ...items: XmlElement[]): Promise<XmlElement> {
  return c.xmpp.iqCaller.request(xml("iq", { type: "set" }, xml("query", { xmlns: NS_ROSTER }, ...items)));
}

/** A roster push (RFC 6121 §2.1.6) whose single item matches. */
function isPush(jid: string, attrs: Record<string, string | undefined>) {
  return (s: XmlElement) => {
    if (!s.is("iq") || s.attrs.type !== "set") return false;
    const item = s.getChild("query", NS_ROSTER)?.getChild("item");
    if (!item || item.attrs.jid !== jid) return false;
    return Object.entries(attrs).every(([k, v]) => item.attrs[k] === v);
  };
}

const isPresence = (from: string, type?: string) => (s: XmlElement) =>
  s.is("presence") && s.attrs.from === from && s.attrs.type === type;

const errorOf = (err: unknown) => (err as { condition?: string }).condition;

async function online(ts: TestServer, user: string, resource: string): Promise<ConnectedClient> {
  const c = await connect(ts, user, `${user}-secret`, { resource });
  await rosterGet(c);
  await c.xmpp.send(xml("presence"));
  await c.waitFor(isPresence(`${user}@${D}/${resource}`)); // own presence comes back (RFC 6121 §4.2.2)
  return c;
}

describe("roster and subscriptions (RFC 6121 §2, §3)", () => {
  let ts: TestServer;
  const clients: ConnectedClient[] = [];
  const track = (c: ConnectedClient) => {
    clients.push(c);
    return c;
  };

  before(async () => {
    ts = await startTestServer();
    for (const u of ["alice", "bob", "carol", "dave", "erin", "frank", "gina"]) await ts.addUser(u, `${u}-secret`);
  });

  after(async () => {
    for (const c of clients) await c.stop();
    await ts?.stop();
  });

  it("offers roster versioning and pre-approval in the stream features, and jabber:iq:roster in disco", async () => {
    const xmpp = client({
      service: `xmpp://127.0.0.1:${ts.port}`,
      domain: D,
      username: "gina",
      password: "gina-secret",
    });
    xmpp.reconnect.stop();
    // The features after RFC 6120 authentication: a SASL2 + Bind 2 login (XEP-0386) sees none after binding.
    hideSasl2(xmpp);
    xmpp.on("error", () => {});
    const features: XmlElement[] = [];
    xmpp.on("nonza", (el: XmlElement) => {
      if (el.is("features", "http://etherx.jabber.org/streams")) features.push(el);
    });
    await xmpp.start();
    try {
      const last = features.at(-1);
      assert.ok(last?.getChild("ver", "urn:xmpp:features:rosterver"), "rosterver offered");
      assert.ok(last?.getChild("sub", "urn:xmpp:features:pre-approval"), "pre-approval offered");
      const info = await xmpp.iqCaller.request(
        xml("iq", { type: "get", to: `gina@${D}` }, xml("query", "http://jabber.org/protocol/disco#info")),
      );
      const vars = info
        .getChild("query")!
        .getChildren("feature")
        .map((f: XmlElement) => f.attrs.var);
      assert.ok(vars.includes(NS_ROSTER));
    } finally {
      await xmpp.stop().catch(() => {});
    }
  });

  it("subscribes alice and bob to each other up to 'both', with the pushes and presence of §3.1", async () => {
    const alice = track(await online(ts, "alice", "a1"));
    const bob = track(await online(ts, "bob", "b1"));

    // §3.1.2: alice asks; her roster shows none + ask; bob gets the request from her bare JID.
    await alice.xmpp.send(xml("presence", { to: `bob@${D}`, type: "subscribe" }));
    await alice.waitFor(isPush(`bob@${D}`, { subscription: "none", ask: "subscribe" }));
    const request = await bob.waitFor((s) => s.is("presence") && s.attrs.type === "subscribe");
    assert.equal(request.attrs.from, `alice@${D}`);

    // §3.1.5: bob approves; bob: from, alice: to; alice gets subscribed and bob's current presence.
    await bob.xmpp.send(xml("presence", { to: `alice@${D}`, type: "subscribed" }));
    await bob.waitFor(isPush(`alice@${D}`, { subscription: "from", ask: undefined }));
    await alice.waitFor(isPush(`bob@${D}`, { subscription: "to", ask: undefined }));
    await alice.waitFor(isPresence(`bob@${D}`, "subscribed"));
    await alice.waitFor(isPresence(`bob@${D}/b1`));

    // And the other way round.
    await bob.xmpp.send(xml("presence", { to: `alice@${D}`, type: "subscribe" }));
    await bob.waitFor(isPush(`alice@${D}`, { subscription: "from", ask: "subscribe" }));
    await alice.waitFor(isPresence(`bob@${D}`, "subscribe"));
    await alice.xmpp.send(xml("presence", { to: `bob@${D}`, type: "subscribed" }));
    await alice.waitFor(isPush(`bob@${D}`, { subscription: "both" }));
    await bob.waitFor(isPush(`alice@${D}`, { subscription: "both", ask: undefined }));
    await bob.waitFor(isPresence(`alice@${D}/a1`));

    const roster = await rosterGet(alice);
    const items = roster.getChild("query", NS_ROSTER)!.getChildren("item");
    assert.deepEqual(
      items.map((i: XmlElement) => [i.attrs.jid, i.attrs.subscription, i.attrs.ask]),
      [[`bob@${D}`, "both", undefined]],
    );
  });

  it("cancels both ways: unsubscribe (§3.3) and unsubscribed (§3.2), with unavailable presence", async () => {
    const [alice, bob] = clients as [ConnectedClient, ConnectedClient];
    alice.received.length = 0;
    bob.received.length = 0;
    // alice stops watching bob: alice both → from, bob both → to; alice sees bob go unavailable (§3.3.3).
    await alice.xmpp.send(xml("presence", { to: `bob@${D}`, type: "unsubscribe" }));
    await alice.waitFor(isPush(`bob@${D}`, { subscription: "from" }));
    await bob.waitFor(isPush(`alice@${D}`, { subscription: "to" }));
    await bob.waitFor(isPresence(`alice@${D}`, "unsubscribe"));
    await alice.waitFor(isPresence(`bob@${D}/b1`, "unavailable"));
    // alice stops bob watching her: both none; bob sees alice go unavailable (§3.2.2).
    await alice.xmpp.send(xml("presence", { to: `bob@${D}`, type: "unsubscribed" }));
    await alice.waitFor(isPush(`bob@${D}`, { subscription: "none" }));
    await bob.waitFor(isPush(`alice@${D}`, { subscription: "none" }));
    await bob.waitFor(isPresence(`alice@${D}`, "unsubscribed"));
    await bob.waitFor(isPresence(`alice@${D}/a1`, "unavailable"));
  });

  it("keeps a subscription request for an offline user and delivers it at each login until answered (§3.1.3)", async () => {
    const carol = track(await online(ts, "carol", "c1"));
    await carol.xmpp.send(xml("presence", { to: `dave@${D}`, type: "subscribe" }, xml("status", {}, "hi, it's carol")));
    await carol.waitFor(isPush(`dave@${D}`, { subscription: "none", ask: "subscribe" }));
    await new Promise((r) => setTimeout(r, 100));

    const dave = await online(ts, "dave", "d1");
    const req = await dave.waitFor(isPresence(`carol@${D}`, "subscribe"));
    assert.equal(req.getChildText("status"), "hi, it's carol");
    await dave.stop();
    // Not answered: delivered again at the next login.
    const dave2 = track(await online(ts, "dave", "d2"));
    await dave2.waitFor(isPresence(`carol@${D}`, "subscribe"));
    // §3.2: declined; carol's roster shows none without ask.
    await dave2.xmpp.send(xml("presence", { to: `carol@${D}`, type: "unsubscribed" }));
    await carol.waitFor(isPush(`dave@${D}`, { subscription: "none", ask: undefined }));
    await carol.waitFor(isPresence(`dave@${D}`, "unsubscribed"));
    const dave3 = track(await online(ts, "dave", "d3"));
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(dave3.received.filter((s) => s.is("presence") && s.attrs.type === "subscribe").length, 0);
  });

  it("pre-approval (§3.4): erin approves frank before he asks; his request is answered at once", async () => {
    const erin = track(await online(ts, "erin", "e1"));
    const frank = track(await online(ts, "frank", "f1"));
    await erin.xmpp.send(xml("presence", { to: `frank@${D}`, type: "subscribed" }));
    await erin.waitFor(isPush(`frank@${D}`, { subscription: "none", approved: "true" }));
    await frank.xmpp.send(xml("presence", { to: `erin@${D}`, type: "subscribe" }));
    await frank.waitFor(isPush(`erin@${D}`, { subscription: "to" }));
    await frank.waitFor(isPresence(`erin@${D}`, "subscribed"));
    await frank.waitFor(isPresence(`erin@${D}/e1`));
    await erin.waitFor(isPush(`frank@${D}`, { subscription: "from", approved: undefined }));
    assert.equal(erin.received.filter((s) => s.is("presence") && s.attrs.type === "subscribe").length, 0);
  });

  it("roster set: adds and updates an item with name and groups, pushed to the user's interested resources", async () => {
    const gina = track(await connect(ts, "gina", "gina-secret", { resource: "g1" }));
    const gina2 = track(await connect(ts, "gina", "gina-secret", { resource: "g2" }));
    await rosterGet(gina2); // only interested resources get pushes (§2.1.6)
    await rosterSet(
      gina,
      xml("item", { jid: `alice@${D}`, name: "Alice" }, xml("group", {}, "Friends"), xml("group", {}, "Work")),
    );
    const push = await gina2.waitFor(isPush(`alice@${D}`, { name: "Alice", subscription: "none" }));
    assert.deepEqual(
      push
        .getChild("query")!
        .getChild("item")!
        .getChildren("group")
        .map((g: XmlElement) => g.getText()),
      ["Friends", "Work"],
    );
    assert.equal(
      gina.received.filter(isPush(`alice@${D}`, {})).length,
      0,
      "a resource that never asked for the roster gets no push",
    );
    const res = await rosterGet(gina);
    const item = res.getChild("query")!.getChild("item")!;
    assert.equal(item.attrs.name, "Alice");
  });

  it("roster set errors: two items → bad-request, own JID → not-allowed, empty group / long name → not-acceptable", async () => {
    const gina = clients.at(-2)!;
    await assert.rejects(
      rosterSet(gina, xml("item", { jid: `a@${D}` }), xml("item", { jid: `b@${D}` })),
      (e) => errorOf(e) === "bad-request",
    );
    await assert.rejects(rosterSet(gina, xml("item", { jid: `gina@${D}` })), (e) => errorOf(e) === "not-allowed");
    await assert.rejects(
      rosterSet(gina, xml("item", { jid: `a@${D}` }, xml("group"))),
      (e) => errorOf(e) === "not-acceptable",
    );
    await assert.rejects(
      rosterSet(gina, xml("item", { jid: `a@${D}`, name: "x".repeat(1100) })),
      (e) => errorOf(e) === "not-acceptable",
    );
    await assert.rejects(
      rosterSet(gina, xml("item", { jid: `a@${D}` }, xml("group", {}, "G"), xml("group", {}, "G"))),
      (e) => errorOf(e) === "bad-request",
    );
    await assert.rejects(
      rosterSet(gina, xml("item", { jid: `nobody@${D}`, subscription: "remove" })),
      (e) => errorOf(e) === "item-not-found",
    );
    // §2.1.2.5: a subscription other than "remove" is ignored, never granted by a roster set.
    await rosterSet(gina, xml("item", { jid: `bob@${D}`, subscription: "both" }));
    const item = (await rosterGet(gina))
      .getChild("query")!
      .getChildren("item")
      .find((i: XmlElement) => i.attrs.jid === `bob@${D}`);
    assert.equal(item?.attrs.subscription, "none");
  });

  it("roster versioning (§2.6): an unchanged version gets an empty result; a change gets a push with the new version", async () => {
    const gina = clients.at(-1)!;
    const full = await rosterGet(gina);
    const ver = full.getChild("query")!.attrs.ver as string;
    assert.ok(ver);
    const same = await rosterGet(gina, ver);
    assert.equal(same.getChild("query"), undefined, "empty result");
    await rosterSet(gina, xml("item", { jid: `carol@${D}` }));
    const push = await gina.waitFor(isPush(`carol@${D}`, {}));
    const newVer = push.getChild("query")!.attrs.ver;
    assert.ok(newVer && newVer !== ver);
    const changed = await rosterGet(gina, ver);
    assert.equal(changed.getChild("query")!.attrs.ver, newVer);
  });

  it("roster remove (§2.5.2) of a 'both' contact sends unsubscribe and unsubscribed and pushes the removal", async () => {
    const erin = clients.find((c) => c.jid === `erin@${D}/e1`)!;
    const frank = clients.find((c) => c.jid === `frank@${D}/f1`)!;
    // Make it both: erin subscribes to frank, frank approves.
    await erin.xmpp.send(xml("presence", { to: `frank@${D}`, type: "subscribe" }));
    await frank.waitFor(isPresence(`erin@${D}`, "subscribe"));
    await frank.xmpp.send(xml("presence", { to: `erin@${D}`, type: "subscribed" }));
    await erin.waitFor(isPush(`frank@${D}`, { subscription: "both" }));
    frank.received.length = 0;
    await rosterSet(erin, xml("item", { jid: `frank@${D}`, subscription: "remove" }));
    await erin.waitFor(isPush(`frank@${D}`, { subscription: "remove" }));
    await frank.waitFor(isPresence(`erin@${D}`, "unsubscribe"));
    await frank.waitFor(isPresence(`erin@${D}`, "unsubscribed"));
    await frank.waitFor(isPush(`erin@${D}`, { subscription: "none" }));
    await frank.waitFor(isPresence(`erin@${D}/e1`, "unavailable"));
  });
});
