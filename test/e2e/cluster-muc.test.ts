// MUC rooms in a cluster (docs/cluster.md "Rooms"): three Natter processes on one PostgreSQL database and the
// local Redis, @xmpp/client users on the two nodes that do NOT hold the room, so every stanza to the room is
// forwarded to its node and every reflection comes back through the registry. Then the room's node is killed
// with SIGKILL: the occupants learn it (status 332) from their own nodes, rejoin, and the persistent room
// (its subject) is read back from storage by the next node in its rendezvous order; the node restarts and the room
// moves back to it, its occupants rejoining there.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { rendezvousOrder } from "../../src/cluster/rendezvous.js";
import { type Cluster, startCluster } from "../helpers/cluster.js";
import { type ConnectedClient, connect, type XmlElement, xml } from "../helpers/xmpp-client.js";

const NS_MUC = "http://jabber.org/protocol/muc";
const NS_MUC_USER = "http://jabber.org/protocol/muc#user";
const NS_MUC_OWNER = "http://jabber.org/protocol/muc#owner";
const NS_XDATA = "jabber:x:data";
const SERVICE = "conference.localhost";
const NODES = ["n1", "n2", "n3"];

/** Names the step that timed out (waitFor only says "a stanza"). */
async function step<T>(what: string, p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    throw new Error(`${what}: ${(err as Error).message}`);
  }
}

const statusCodes = (s: XmlElement): number[] =>
  (s.getChild("x", NS_MUC_USER)?.getChildren("status") ?? []).map((c) => Number(c.attrs.code));

/** A room name whose node is `owner` (rendezvous hashing over the three nodes). */
function roomOn(owner: string): string {
  for (let i = 0; ; i++) {
    const room = `room${i}@${SERVICE}`;
    if (rendezvousOrder(room, NODES)[0] === owner) return room;
  }
}

describe("cluster: MUC rooms on one node, used from the others", { timeout: 120_000 }, () => {
  let cluster: Cluster;
  const clients: ConnectedClient[] = [];
  const on = async (node: number, user: string, resource: string) => {
    const c = await connect(cluster.nodes[node]!.target, user, `${user}-secret`, { resource });
    clients.push(c);
    await c.xmpp.send(xml("presence"));
    return c;
  };
  const join = async (c: ConnectedClient, room: string, nick: string) => {
    const from = `${room}/${nick}`;
    const since = c.received.length;
    await c.xmpp.send(xml("presence", { to: from }, xml("x", { xmlns: NS_MUC })));
    return c.waitFor(
      (s) =>
        c.received.indexOf(s) >= since && s.is("presence") && s.attrs.from === from && statusCodes(s).includes(110),
      10_000,
    );
  };
  const groupchat = (room: string, from: string, body: string) => (s: XmlElement) =>
    s.is("message") &&
    s.attrs.type === "groupchat" &&
    s.attrs.from === `${room}/${from}` &&
    s.getChildText("body") === body;

  before(async () => {
    cluster = await startCluster({
      nodes: 3,
      users: [
        ["alice", "alice-secret"],
        ["bob", "bob-secret"],
      ],
      // Rooms are persistent unless configured otherwise, so that failover reads them back from storage.
      yaml: "modules: { muc: { room_defaults: { persistent: true } } }",
    });
  });

  after(async () => {
    for (const c of clients) await c.stop();
    await cluster?.stop();
  });

  it("occupants on two other nodes see each other's presence and messages, the room fails over when its node dies and moves back when it restarts", async () => {
    const room = roomOn("n1");
    const alice = await on(1, "alice", "a"); // node n2
    const bob = await on(2, "bob", "b"); // node n3

    // Alice creates the room (it lives on n1) and accepts the default configuration (§10.1.2 instant room).
    const created = await join(alice, room, "alice");
    assert.ok(statusCodes(created).includes(201), "a new room");
    await alice.xmpp.iqCaller.request(
      xml(
        "iq",
        { type: "set", to: room },
        xml("query", { xmlns: NS_MUC_OWNER }, xml("x", { xmlns: NS_XDATA, type: "submit" })),
      ),
      10_000,
    );
    await alice.xmpp.send(xml("message", { to: room, type: "groupchat" }, xml("subject", {}, "cluster rooms")));
    await alice.waitFor((s) => s.is("message") && s.getChildText("subject") === "cluster rooms");

    // Bob joins from n3: he gets alice's presence and the subject, alice gets his presence.
    const bobJoined = bob.received.length;
    await join(bob, room, "bob");
    await bob.waitFor(
      (s) => bob.received.indexOf(s) >= bobJoined && s.is("presence") && s.attrs.from === `${room}/alice`,
    );
    await bob.waitFor((s) => s.is("message") && s.getChildText("subject") === "cluster rooms");
    await alice.waitFor((s) => s.is("presence") && s.attrs.from === `${room}/bob` && s.attrs.type === undefined);

    // Messages both ways.
    await alice.xmpp.send(xml("message", { to: room, type: "groupchat" }, xml("body", {}, "hello from n2")));
    await bob.waitFor(groupchat(room, "alice", "hello from n2"));
    await bob.xmpp.send(xml("message", { to: room, type: "groupchat" }, xml("body", {}, "hello from n3")));
    await alice.waitFor(groupchat(room, "bob", "hello from n3"));

    // The room's node dies. Each occupant's own node tells it the room is gone: unavailable, 110 + 332.
    const aliceBefore = alice.received.length;
    const bobBefore = bob.received.length;
    await cluster.nodes[0]!.kill9();
    const gone = (c: ConnectedClient, since: number, nick: string) =>
      c.waitFor(
        (s) =>
          c.received.indexOf(s) >= since &&
          s.is("presence") &&
          s.attrs.type === "unavailable" &&
          s.attrs.from === `${room}/${nick}` &&
          statusCodes(s).includes(332),
        15_000,
      );
    assert.deepEqual(
      statusCodes(await step("332 to alice at the kill", gone(alice, aliceBefore, "alice"))).sort(),
      [110, 332],
    );
    assert.deepEqual(statusCodes(await step("332 to bob at the kill", gone(bob, bobBefore, "bob"))).sort(), [110, 332]);

    // They rejoin: the room is on the next node of its order now, read back from storage with its subject.
    const next = rendezvousOrder(room, ["n2", "n3"])[0];
    assert.ok(next === "n2" || next === "n3");
    const rejoined = await step("alice rejoins after failover", join(alice, room, "alice"));
    assert.ok(!statusCodes(rejoined).includes(201), "the persistent room was read back, not created anew");
    const bobRejoin = bob.received.length;
    await step("bob rejoins after failover", join(bob, room, "bob"));
    // The stored subject comes with the join (§7.2.15), after the self-presence.
    await step(
      "the stored subject at bob's rejoin",
      bob.waitFor(
        (s) => bob.received.indexOf(s) >= bobRejoin && s.is("message") && s.getChildText("subject") === "cluster rooms",
      ),
    );
    const since = alice.received.length;
    await bob.xmpp.send(xml("message", { to: room, type: "groupchat" }, xml("body", {}, "after failover")));
    await step(
      "bob's message after failover",
      alice.waitFor((s) => alice.received.indexOf(s) >= since && groupchat(room, "bob", "after failover")(s)),
    );

    // The room's node comes back (same id): the room moves back to it. Its holder tells the occupants (332); they
    // rejoin on n1, which must route to their sessions on n2 and n3 from its first stanza on (it loads the other
    // nodes' sessions before it reads its inbox: presence to them bounced before, and they were dropped with 333).
    const aliceMove = alice.received.length;
    const bobMove = bob.received.length;
    await step("n1 restarts", cluster.nodes[0]!.start());
    assert.deepEqual(
      statusCodes(await step("332 to alice as the room moves back", gone(alice, aliceMove, "alice"))).sort(),
      [110, 332],
    );
    await step("332 to bob as the room moves back", gone(bob, bobMove, "bob"));
    const back = await step("alice rejoins on n1", join(alice, room, "alice"));
    assert.ok(!statusCodes(back).includes(201), "the persistent room was read back on n1, not created anew");
    const bobBack = bob.received.length;
    await step("bob rejoins on n1", join(bob, room, "bob"));
    await step(
      "the stored subject at bob's rejoin on n1",
      bob.waitFor(
        (s) => bob.received.indexOf(s) >= bobBack && s.is("message") && s.getChildText("subject") === "cluster rooms",
      ),
    );
    const sinceBack = alice.received.length;
    await bob.xmpp.send(xml("message", { to: room, type: "groupchat" }, xml("body", {}, "back on n1")));
    await step(
      "bob's message on n1",
      alice.waitFor((s) => alice.received.indexOf(s) >= sinceBack && groupchat(room, "bob", "back on n1")(s)),
    );
    await step("bob's own message reflected on n1", bob.waitFor(groupchat(room, "bob", "back on n1")));
    // Neither was removed from the room meanwhile (XEP-0045 §15.6.2 status 333: removed for a technical reason).
    const removed = (c: ConnectedClient, since: number) =>
      c.received.slice(since).filter((s) => s.is("presence") && statusCodes(s).includes(333));
    assert.deepEqual(removed(alice, aliceMove), [], "alice was not dropped");
    assert.deepEqual(removed(bob, bobMove), [], "bob was not dropped");
  });
});
