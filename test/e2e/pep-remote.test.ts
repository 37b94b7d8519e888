// XEP-0163 PEP for contacts that are not on the owner's host: a user of another Natter (federated over s2s on
// loopback) and a user of another virtual host of the same server, both @xmpp/client users with XEP-0115 caps
// carrying +notify. They get the owner's last item when they come online (§4.3.3 rule 2) and new items as they
// are published (rule 1), only for the nodes they ask for and the access model lets them read.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { parseConfig } from "../../src/core/config/index.js";
import { type CapsClient, capsFeatures, capsPresence, onlineWithCaps } from "../helpers/caps.js";
import { subscribeBoth } from "../helpers/roster.js";
import { freePort, startTestServer, type TestServer } from "../helpers/test-server.js";
import { type ConnectedClient, type XmlElement, xml } from "../helpers/xmpp-client.js";

const NS_PUBSUB = "http://jabber.org/protocol/pubsub";
const NS_EVENT = "http://jabber.org/protocol/pubsub#event";
const NODE = "urn:example:status";
const QUIET_NODE = "urn:example:quiet";
const SECRET_NODE = "urn:example:secret";
const AVATAR_META = "urn:xmpp:avatar:metadata";

function publish(c: ConnectedClient, node: string, id: string, text: string, access?: string): Promise<XmlElement> {
  const options = access
    ? [
        xml(
          "publish-options",
          {},
          xml(
            "x",
            { xmlns: "jabber:x:data", type: "submit" },
            xml(
              "field",
              { var: "FORM_TYPE", type: "hidden" },
              xml("value", {}, "http://jabber.org/protocol/pubsub#publish-options"),
            ),
            xml("field", { var: "pubsub#access_model" }, xml("value", {}, access)),
          ),
        ),
      ]
    : [];
  const payload =
    node === AVATAR_META
      ? xml("metadata", { xmlns: AVATAR_META }, xml("info", { id, bytes: "100", type: "image/png" }))
      : xml("status", { xmlns: node }, text);
  return c.xmpp.iqCaller.request(
    xml(
      "iq",
      { type: "set" },
      xml("pubsub", { xmlns: NS_PUBSUB }, xml("publish", { node }, xml("item", { id }, payload)), ...options),
    ),
  );
}

/** A PEP notification from `from` about `node` carrying item `id`. */
const isEvent = (from: string, node: string, id?: string) => (s: XmlElement) => {
  if (!s.is("message") || s.attrs.from !== from) return false;
  const items = s.getChild("event", NS_EVENT)?.getChild("items");
  return items?.attrs.node === node && (id === undefined || items.getChild("item")?.attrs.id === id);
};

const quiet = (ms = 700) => new Promise((r) => setTimeout(r, ms));

describe("PEP to a contact on another server (s2s)", { timeout: 90_000 }, () => {
  let a: TestServer;
  let b: TestServer;
  let juliet: CapsClient;
  let romeo: CapsClient;
  const JULIET = "juliet@capulet.test";

  before(async () => {
    const [portA, portB] = [await freePort(), await freePort()];
    const resolve = (domain: string, port: number) => ["resolve:", `  ${JSON.stringify(domain)}: "127.0.0.1:${port}"`];
    [a, b] = await Promise.all([
      startTestServer({
        domain: "capulet.test",
        s2sPort: portA,
        s2s: [...resolve("montague.test", portB), "secure: false"],
      }),
      startTestServer({
        domain: "montague.test",
        s2sPort: portB,
        s2s: [...resolve("capulet.test", portA), "secure: false"],
      }),
    ]);
    await a.addUser("juliet", "juliet-secret");
    await b.addUser("romeo", "romeo-secret");
    juliet = await onlineWithCaps(a, "juliet", "balcony", []);
    romeo = await onlineWithCaps(b, "romeo", "orchard", [NODE, SECRET_NODE, AVATAR_META]);
    await subscribeBoth(juliet, romeo);
  });

  after(async () => {
    await juliet?.stop();
    await romeo?.stop();
    await a?.stop();
    await b?.stop();
  });

  it("a new item reaches the remote contact's interested resource, after the server read its caps over s2s", async () => {
    // Romeo's presence (with caps) reached Juliet's account when they came to share presence (subscribeBoth).
    await publish(juliet, NODE, "s1", "on the balcony");
    const ev = await romeo.waitFor(isEvent(JULIET, NODE, "s1"), 15_000);
    assert.equal(ev.attrs.to, "romeo@montague.test/orchard");
    assert.equal(
      ev.getChild("event", NS_EVENT)?.getChild("items")?.getChild("item")?.getChildText("status"),
      "on the balcony",
    );
    // The caps were resolved by asking Romeo's client itself, across the federation link.
    assert.ok(
      romeo.discoQueries.some((q) => q.attrs.from === "capulet.test"),
      "capulet.test asked romeo's client for disco#info",
    );
  });

  it("the avatar metadata goes out too, and nothing of a node the contact did not ask for", async () => {
    await publish(juliet, QUIET_NODE, "q1", "not for romeo");
    await publish(juliet, AVATAR_META, "a1", "");
    await romeo.waitFor(isEvent(JULIET, AVATAR_META, "a1"), 15_000);
    await quiet();
    assert.ok(!romeo.received.some(isEvent(JULIET, QUIET_NODE)), "no +notify for the quiet node: no event");
  });

  it("the access model holds: a whitelist node Romeo is not on sends him nothing", async () => {
    await publish(juliet, SECRET_NODE, "x1", "secret", "whitelist");
    await publish(juliet, NODE, "s2", "after the secret"); // an event that does come, sent after the secret one
    await romeo.waitFor(isEvent(JULIET, NODE, "s2"), 15_000);
    await quiet();
    assert.ok(!romeo.received.some(isEvent(JULIET, SECRET_NODE)), "whitelist: nothing for a non-member");
  });

  it("a newly available remote resource gets the last item of each node it asks for (§4.3.3)", async () => {
    const second = await onlineWithCaps(b, "romeo", "ball", [NODE, AVATAR_META]);
    try {
      await second.waitFor(isEvent(JULIET, NODE, "s2"), 15_000);
      await second.waitFor(isEvent(JULIET, AVATAR_META, "a1"), 15_000);
      await quiet();
      const events = second.received.filter((s) => isEvent(JULIET, NODE)(s));
      assert.equal(events.length, 1, "the last item once, not once per presence");
      assert.ok(events[0]?.getChild("delay", "urn:xmpp:delay"), "the last item carries its publication time");
      assert.ok(!second.received.some(isEvent(JULIET, QUIET_NODE)));
      // A presence update from the same resource sends nothing again.
      await second.xmpp.send(xml("presence", {}, xml("show", {}, "away")));
      await quiet();
      assert.equal(second.received.filter((s) => isEvent(JULIET, NODE)(s)).length, 1);
    } finally {
      await second.stop();
    }
  });

  it("a remote resource that went unavailable is no longer a target; the others still are", async () => {
    await quiet(300);
    // A notification to romeo@montague.test/ball now would find no such resource there and be bounced by B.
    const bounces = () => b.server.core.counters.routingErrors.get("service-unavailable") ?? 0;
    const before = bounces();
    await publish(juliet, NODE, "s3", "third");
    await romeo.waitFor(isEvent(JULIET, NODE, "s3"), 15_000);
    await quiet();
    assert.equal(bounces(), before, "nothing went to the resource that left");
  });

  it("when the s2s link from the contact's server goes down, its resources are forgotten until they announce themselves again", async () => {
    // Montague's server refuses Capulet for a moment: the links end with no unavailable presence from Romeo.
    const s2s = parseConfig(b.configYaml, b.configPath, b.dataDir).s2s;
    b.server.s2s!.setPolicy({ ...s2s, deny_domains: ["capulet.test"] });
    const deadline = Date.now() + 10_000;
    while (!a.logs.some((l) => l.msg === "PEP: remote contact resources forgotten (s2s link closed)")) {
      assert.ok(Date.now() < deadline, "capulet.test saw the link from montague.test close");
      await quiet(50);
    }
    b.server.s2s!.setPolicy(s2s);
    await publish(juliet, NODE, "s4", "while the link was down");
    await quiet(1500);
    assert.ok(!romeo.received.some(isEvent(JULIET, NODE, "s4")), "no record of Romeo: no notification");
    // Romeo's next presence is recorded again and brings him the last item.
    await romeo.xmpp.send(capsPresence(capsFeatures([NODE, SECRET_NODE, AVATAR_META])));
    await romeo.waitFor(isEvent(JULIET, NODE, "s4"), 15_000);
  });
});

describe("PEP to a contact on another virtual host of the same server", { timeout: 60_000 }, () => {
  let ts: TestServer;
  let alice: CapsClient;
  let bob: CapsClient;
  const OTHER = "pep-other.test";

  before(async () => {
    ts = await startTestServer({ hosts: [OTHER] });
    await ts.addUser("alice", "alice-secret");
    await ts.server.core.accounts.createUser(OTHER, "bob", "bob-secret");
    alice = await onlineWithCaps(ts, "alice", "desk", []);
    bob = await onlineWithCaps({ ...ts, domain: OTHER }, "bob", "phone", [NODE]);
    await subscribeBoth(alice, bob);
  });

  after(async () => {
    await alice?.stop();
    await bob?.stop();
    await ts?.stop();
  });

  it("a new item reaches the contact on the other host", async () => {
    await publish(alice, NODE, "v1", "hello from localhost");
    const ev = await bob.waitFor(isEvent("alice@localhost", NODE, "v1"), 10_000);
    assert.equal(ev.attrs.to, `bob@${OTHER}/phone`);
  });

  it("the contact's new resource gets the last item at login, and nothing it did not ask for", async () => {
    await publish(alice, QUIET_NODE, "q1", "quiet");
    const tablet = await onlineWithCaps({ ...ts, domain: OTHER }, "bob", "tablet", [NODE]);
    try {
      await tablet.waitFor(isEvent("alice@localhost", NODE, "v1"), 10_000);
      await quiet();
      assert.ok(!tablet.received.some(isEvent("alice@localhost", QUIET_NODE)));
    } finally {
      await tablet.stop();
    }
  });
});
