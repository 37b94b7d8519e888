// Rooms counted over the whole cluster (docs/cluster.md "Rooms"): each room lives on one node (rendezvous
// hashing), but an administrator asking any node sees every node's rooms, each with the node that holds it.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ADMIN_SCOPES } from "../../src/admin/types.js";
import { rendezvousOwner } from "../../src/cluster/rendezvous.js";
import { type ClusterNodes, startClusterNodes, until } from "../helpers/cluster-nodes.js";
import type { TestServer } from "../helpers/test-server.js";
import { type ConnectedClient, connect, xml } from "../helpers/xmpp-client.js";

const NS_MUC = "http://jabber.org/protocol/muc";
const SERVICE = "conference.localhost";

/** A room name whose room lives on `node` (the same hash every node computes). */
function roomOn(node: string, taken: string[]): string {
  for (let i = 0; ; i++) {
    const local = `room${i}`;
    if (!taken.includes(local) && rendezvousOwner(`${local}@${SERVICE}`, ["n1", "n2"]) === node) return local;
  }
}

describe("cluster: rooms of every node", () => {
  let cluster: ClusterNodes;
  let a: TestServer;
  let b: TestServer;
  let alice: ConnectedClient;
  const rooms: Record<string, string> = {};

  before(async () => {
    cluster = await startClusterNodes(2);
    [a, b] = cluster.nodes as [TestServer, TestServer];
    await a.addUser("alice", "alice-pw");
    await until(
      () => a.server.core.cluster?.liveNodes().length === 2 && b.server.core.cluster?.liveNodes().length === 2,
      "both nodes live",
    );
    alice = await connect(a, "alice", "alice-pw", { resource: "a1" });
    await alice.xmpp.send(xml("presence"));
    // One room on each node, both created through node 1 (instant rooms, unlocked: XEP-0045 §10.1.2).
    rooms.n1 = roomOn("n1", []);
    rooms.n2 = roomOn("n2", [rooms.n1]);
    for (const local of [rooms.n1, rooms.n2]) {
      const jid = `${local}@${SERVICE}`;
      await alice.xmpp.send(xml("presence", { to: `${jid}/Alice` }, xml("x", { xmlns: NS_MUC })));
      await alice.waitFor((s) => s.is("presence") && s.attrs.from === `${jid}/Alice`, 10_000);
      await alice.xmpp.iqCaller.request(
        xml(
          "iq",
          { type: "set", to: jid },
          xml("query", { xmlns: `${NS_MUC}#owner` }, xml("x", { xmlns: "jabber:x:data", type: "submit" })),
        ),
      );
    }
  });

  after(async () => {
    await alice?.stop();
    await cluster?.stop();
  });

  it("disco#items on the MUC service, asked at either node, lists the public rooms of both nodes", async () => {
    const bob = await connect(b, "alice", "alice-pw", { resource: "b1" });
    try {
      for (const client of [alice, bob]) {
        const reply = await client.xmpp.iqCaller.request(
          xml("iq", { type: "get", to: SERVICE }, xml("query", { xmlns: "http://jabber.org/protocol/disco#items" })),
        );
        const items = reply
          .getChild("query")
          ?.getChildren("item")
          .map((i) => i.attrs.jid)
          .sort();
        assert.deepEqual(items, [`${rooms.n1}@${SERVICE}`, `${rooms.n2}@${SERVICE}`].sort(), client.jid);
      }
    } finally {
      await bob.stop();
    }
  });

  it("the admin API of either node lists every node's rooms with the node holding each", async () => {
    const token = (await a.server.apiTokens.create({ scopes: [...ADMIN_SCOPES], name: "test" })).token;
    for (const node of [a, b]) {
      const res = await fetch(`http://127.0.0.1:${node.httpPort}/admin/api/cluster/rooms?domain=${SERVICE}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(res.status, 200);
      const body = (await res.json()) as {
        rooms: { jid: string; node: string; occupants: number }[];
        unanswered: string[];
      };
      assert.deepEqual(
        body.rooms.map((r) => `${r.node} ${r.jid} ${r.occupants}`).sort(),
        [`n1 ${rooms.n1}@${SERVICE} 1`, `n2 ${rooms.n2}@${SERVICE} 1`].sort(),
      );
      assert.deepEqual(body.unanswered, []);
    }
  });
});
