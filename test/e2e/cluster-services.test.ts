// Cluster services over the real Redis and PostgreSQL with two Natter nodes serving one domain, and
// @xmpp/client users: a roster change through node A is seen at once by a login on node B (store-cache
// invalidation), the admin API and metrics of either node see the whole cluster.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ADMIN_SCOPES } from "../../src/admin/types.js";
import { type ClusterNodes, startClusterNodes, until } from "../helpers/cluster-nodes.js";
import type { TestServer } from "../helpers/test-server.js";
import { type ConnectedClient, connect, xml } from "../helpers/xmpp-client.js";

const NS_ROSTER = "jabber:iq:roster";

async function rosterOf(c: ConnectedClient): Promise<string[]> {
  const reply = await c.xmpp.iqCaller.request(
    xml("iq", { type: "get", id: `r${Date.now()}` }, xml("query", { xmlns: NS_ROSTER })),
  );
  return reply
    .getChild("query", NS_ROSTER)!
    .getChildren("item")
    .map((i) => `${i.attrs.jid}|${i.attrs.name ?? ""}`)
    .sort();
}

async function setRosterItem(c: ConnectedClient, jid: string, name: string): Promise<void> {
  await c.xmpp.iqCaller.request(
    xml("iq", { type: "set", id: `s${Date.now()}` }, xml("query", { xmlns: NS_ROSTER }, xml("item", { jid, name }))),
  );
}

describe("cluster services (two nodes, Redis, PostgreSQL)", () => {
  let cluster: ClusterNodes;
  let a: TestServer;
  let b: TestServer;
  const clients: ConnectedClient[] = [];
  const online = async (node: TestServer, user: string, resource: string) => {
    const c = await connect(node, user, `${user}-pw`, { resource });
    clients.push(c);
    return c;
  };

  before(async () => {
    cluster = await startClusterNodes(2);
    [a, b] = cluster.nodes as [TestServer, TestServer];
    for (const u of ["alice", "bob", "carol"]) await a.addUser(u, `${u}-pw`);
    await until(
      () => a.server.core.cluster?.liveNodes().length === 2 && b.server.core.cluster?.liveNodes().length === 2,
      "both nodes live",
    );
  });

  after(async () => {
    for (const c of clients) await c.stop();
    await cluster?.stop();
  });

  it("a roster change through node A is seen by a login on node B that had the roster cached", async () => {
    // Node B reads (and keeps) alice's roster at her first login there.
    const first = await online(b, "alice", "b1");
    assert.deepEqual(await rosterOf(first), []);
    await first.stop();
    // Through node A: a new item, then a rename, each acknowledged (committed) before the next step.
    const onA = await online(a, "alice", "a1");
    await setRosterItem(onA, "bob@localhost", "Bob");
    const again = await online(b, "alice", "b2");
    assert.deepEqual(await rosterOf(again), ["bob@localhost|Bob"]);
    await setRosterItem(onA, "bob@localhost", "Robert");
    await again.stop();
    const third = await online(b, "alice", "b3");
    assert.deepEqual(await rosterOf(third), ["bob@localhost|Robert"]);
  });

  it("the admin API of either node lists every node's sessions and status", async () => {
    await online(a, "bob", "on-a");
    await online(b, "carol", "on-b");
    const token = (await b.server.apiTokens.create({ scopes: [...ADMIN_SCOPES], name: "test" })).token;
    const get = async (node: TestServer, path: string) => {
      const res = await fetch(`http://127.0.0.1:${node.httpPort}/admin/api${path}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(res.status, 200, path);
      // biome-ignore lint/suspicious/noExplicitAny: the API's JSON, checked field by field below
      return (await res.json()) as any;
    };
    const listed = await get(b, "/cluster/sessions");
    const where = listed.sessions.map((s: { node: string; jid: string }) => `${s.node} ${s.jid}`);
    assert.ok(where.includes("n1 bob@localhost/on-a"), where.join(", "));
    assert.ok(where.includes("n2 carol@localhost/on-b"), where.join(", "));
    assert.deepEqual(listed.unanswered, []);
    // One JID: each session once, from the node that holds it (node B's view of bob is not listed as B's).
    const bob = await get(b, `/cluster/sessions?jid=${encodeURIComponent("bob@localhost")}`);
    assert.deepEqual(
      bob.sessions.map((s: { node: string; jid: string }) => `${s.node} ${s.jid}`),
      ["n1 bob@localhost/on-a"],
    );
    const status = await get(a, "/cluster/status");
    assert.deepEqual(
      status.nodes.map((n: { node: string }) => n.node),
      ["n1", "n2"],
    );
    assert.equal(status.sessions, status.nodes[0].sessions.total + status.nodes[1].sessions.total);
    assert.ok(status.sessions >= 3);
  });

  it("metrics show the live nodes and the Redis connection", async () => {
    const text = await (await fetch(`http://127.0.0.1:${a.httpPort}/metrics`)).text();
    assert.match(text, /^natter_cluster_nodes 2$/m);
    assert.match(text, /^natter_cluster_redis_connected 1$/m);
  });
});
