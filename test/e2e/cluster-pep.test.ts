// PEP across cluster nodes (XEP-0163 §4, docs/cluster.md): a contact whose session is on another node than the
// publisher's gets the notification when its caps (XEP-0115) carry `<node>+notify`, and does not when they do not.
// The interest is resolved where the contact's session is and travels in its session view.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type CapsClient, onlineWithCaps } from "../helpers/caps.js";
import { type Cluster, startCluster } from "../helpers/cluster.js";
import { subscribeBoth } from "../helpers/roster.js";
import { type XmlElement, xml } from "../helpers/xmpp-client.js";

const NS_PUBSUB = "http://jabber.org/protocol/pubsub";
const NS_EVENT = "http://jabber.org/protocol/pubsub#event";
const TUNE = "http://jabber.org/protocol/tune";
const NICK = "http://jabber.org/protocol/nick";

const isEvent = (from: string, node: string, id: string) => (s: XmlElement) =>
  s.is("message") &&
  s.attrs.from === from &&
  s.getChild("event", NS_EVENT)?.getChild("items")?.attrs.node === node &&
  s.getChild("event", NS_EVENT)?.getChild("items")?.getChild("item")?.attrs.id === id;

describe("cluster: PEP notifications to a session on another node", () => {
  let cluster: Cluster;
  let alice: CapsClient; // n1, publishes
  let bob: CapsClient; // n2, +notify for tune only

  before(async () => {
    cluster = await startCluster({ nodes: 2, users: ["alice", "bob"].map((u) => [u, `${u}-secret`]) });
    const [n1, n2] = cluster.nodes.map((n) => n.target);
    alice = await onlineWithCaps(n1!, "alice", "a1", []);
    bob = await onlineWithCaps(n2!, "bob", "b1", [TUNE]);
    await subscribeBoth(alice, bob);
  });

  after(async () => {
    await alice?.stop();
    await bob?.stop();
    await cluster?.stop();
  });

  const publish = (node: string, id: string, payload: XmlElement) =>
    alice.xmpp.iqCaller.request(
      xml(
        "iq",
        { type: "set" },
        xml("pubsub", { xmlns: NS_PUBSUB }, xml("publish", { node }, xml("item", { id }, payload))),
      ),
    );

  it("a tune published on node 1 reaches Bob's +notify session on node 2; a nick he has no interest in does not", async () => {
    // Bob's caps are resolved by his node (a disco#info query to him) a moment after his presence.
    await new Promise((r) => setTimeout(r, 500));
    assert.ok(bob.discoQueries.length >= 1, "Bob's node asked Bob for his caps");
    await publish(NICK, "n1", xml("nick", { xmlns: NICK }, "Alice"));
    await publish(TUNE, "t1", xml("tune", { xmlns: TUNE }, xml("title", {}, "Cross-node song")));
    const event = await bob.waitFor(isEvent("alice@localhost", TUNE, "t1"), 10_000);
    assert.equal(
      event
        .getChild("event", NS_EVENT)
        ?.getChild("items")
        ?.getChild("item")
        ?.getChild("tune", TUNE)
        ?.getChildText("title"),
      "Cross-node song",
    );
    assert.ok(!bob.received.some(isEvent("alice@localhost", NICK, "n1")), "no nick event without nick+notify");
  });
});
