// Federation with a cluster (docs/cluster.md, "s2s across nodes"): a single Natter (the peer) federates with a
// two-node cluster serving one domain. Users on both nodes exchange messages and subscriptions with a user on the
// peer. The peer finds the cluster's domain at node 2 only, so node 1's outbound dialback key (XEP-0220 §2.1.1)
// is verified by node 2 (the shared server secret), and the peer's own outbound link lands on node 2 whatever
// node its recipient is on.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type ClusterNodes, startClusterNodes } from "../helpers/cluster-nodes.js";
import { freePort, startTestServer, type TestServer } from "../helpers/test-server.js";
import { type ConnectedClient, connect, xml } from "../helpers/xmpp-client.js";

const isChat = (body: string) => (s: { name: string; getChildText(n: string): string | null }) =>
  s.name === "message" && s.getChildText("body") === body;

describe("cluster: s2s across nodes", () => {
  let cluster: ClusterNodes;
  let peer: TestServer;
  let alice: ConnectedClient; // on node 1
  let carol: ConnectedClient; // on node 2
  let dave: ConnectedClient; // on the peer

  before(async () => {
    const peerPort = await freePort();
    cluster = await startClusterNodes(2, {
      server: {
        domain: "cluster.test",
        s2s: ["secure: false", "resolve:", `  peer.test: "127.0.0.1:${peerPort}"`],
      },
    });
    const [n1, n2] = cluster.nodes as [TestServer, TestServer];
    peer = await startTestServer({
      domain: "peer.test",
      s2sPort: peerPort,
      s2s: ["secure: false", "resolve:", `  cluster.test: "127.0.0.1:${n2.s2sPort}"`],
    });
    await n1.addUser("alice", "pw");
    await n1.addUser("carol", "pw");
    await peer.addUser("dave", "pw");
    alice = await connect(n1, "alice", "pw", { resource: "n1" });
    carol = await connect(n2, "carol", "pw", { resource: "n2" });
    dave = await connect(peer, "dave", "pw", { resource: "p" });
    for (const c of [alice, carol, dave]) await c.xmpp.send(xml("presence"));
  });

  after(async () => {
    for (const c of [alice, carol, dave]) await c?.stop().catch(() => {});
    await peer?.stop();
    await cluster?.stop();
  });

  it("delivers messages both ways for users on either node; node 2 verifies node 1's dialback key", async () => {
    const [n1, n2] = cluster.nodes as [TestServer, TestServer];
    await alice.xmpp.send(xml("message", { to: "dave@peer.test", type: "chat" }, xml("body", {}, "from n1")));
    assert.equal((await dave.waitFor(isChat("from n1"), 15_000)).attrs.from, "alice@cluster.test/n1");
    await carol.xmpp.send(xml("message", { to: "dave@peer.test", type: "chat" }, xml("body", {}, "from n2")));
    assert.equal((await dave.waitFor(isChat("from n2"), 15_000)).attrs.from, "carol@cluster.test/n2");
    // Node 1 opened its own link and the peer accepted it after asking node 2 (its only address for us).
    assert.ok(
      n1.logs.some((l) => l.msg === "s2s outbound stream authenticated" && String(l.how).startsWith("dialback")),
      "node 1's outbound link authenticated by dialback",
    );
    assert.ok(
      n2.logs.some(
        (l) =>
          l.msg === "dialback verification answered" &&
          l.originating === "cluster.test" &&
          l.receiving === "peer.test" &&
          l.valid === true,
      ),
      "node 2 found node 1's key valid",
    );
    assert.ok(!n1.logs.some((l) => l.msg === "dialback verification answered"), "node 1 was never asked");
    // The peer's link lands on node 2; Alice is on node 1.
    await dave.xmpp.send(xml("message", { to: "alice@cluster.test", type: "chat" }, xml("body", {}, "to n1")));
    assert.equal((await alice.waitFor(isChat("to n1"), 15_000)).attrs.from, "dave@peer.test/p");
    await dave.xmpp.send(xml("message", { to: "carol@cluster.test/n2", type: "chat" }, xml("body", {}, "to n2")));
    assert.equal((await carol.waitFor(isChat("to n2"), 15_000)).attrs.from, "dave@peer.test/p");
  });

  it("subscribes both ways and exchanges presence with a user on the node the peer does not reach", async () => {
    const isPresence = (from: string, type?: string) => (s: { name: string; attrs: Record<string, string> }) =>
      s.name === "presence" && s.attrs.from === from && s.attrs.type === type;
    await alice.xmpp.send(xml("presence", { to: "dave@peer.test", type: "subscribe" }));
    await dave.waitFor(isPresence("alice@cluster.test", "subscribe"), 15_000);
    await dave.xmpp.send(xml("presence", { to: "alice@cluster.test", type: "subscribed" }));
    await alice.waitFor(isPresence("dave@peer.test/p"), 15_000);
    await dave.xmpp.send(xml("presence", { to: "alice@cluster.test", type: "subscribe" }));
    await alice.waitFor(isPresence("dave@peer.test", "subscribe"), 15_000);
    await alice.xmpp.send(xml("presence", { to: "dave@peer.test", type: "subscribed" }));
    await dave.waitFor(isPresence("alice@cluster.test/n1"), 15_000);
    // A presence change on either side reaches the other.
    await dave.xmpp.send(xml("presence", {}, xml("show", {}, "away")));
    await alice.waitFor(
      (s) => s.name === "presence" && s.attrs.from === "dave@peer.test/p" && s.getChildText("show") === "away",
      15_000,
    );
    await alice.xmpp.send(xml("presence", {}, xml("show", {}, "dnd")));
    await dave.waitFor(
      (s) => s.name === "presence" && s.attrs.from === "alice@cluster.test/n1" && s.getChildText("show") === "dnd",
      15_000,
    );
  });
});
