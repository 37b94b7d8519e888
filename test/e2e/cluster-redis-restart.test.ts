// A real Redis restart under a two-node cluster (docs/cluster.md, "Failures"): a private redis-server without
// persistence is stopped and started again on the same port, so the cluster finds it empty (no heartbeats, no
// session hashes, no inboxes or consumer groups). No node may crash; the cluster converges: every node's
// sessions are registered again, chat and presence cross nodes again, and the stanzas a node queued while Redis
// was away are delivered.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { createClient } from "@redis/client";
import { type Cluster, startCluster } from "../helpers/cluster.js";
import { onlineWithRoster, subscribeBoth } from "../helpers/roster.js";
import { freePort } from "../helpers/test-server.js";
import { waitForPort } from "../helpers/wait-for-port.js";
import { type ConnectedClient, connect, type XmlElement, xml } from "../helpers/xmpp-client.js";

const REDIS_SERVER = "/usr/bin/redis-server";

/** A redis-server of this test's own on a fixed port, with nothing kept over a restart. */
function privateRedis(port: number) {
  let child: ChildProcess | undefined;
  return {
    url: `redis://127.0.0.1:${port}`,
    async start() {
      child = spawn(REDIS_SERVER, ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
        stdio: "ignore",
      });
      await waitForPort(port, child, { name: "redis-server" });
    },
    async stop() {
      const c = child;
      if (!c || c.exitCode !== null) return;
      const exited = new Promise((resolve) => c.once("exit", resolve));
      c.kill("SIGKILL");
      await exited;
      child = undefined;
    },
  };
}

const isChat = (from: string, body: string) => (s: XmlElement) =>
  s.is("message") && s.attrs.from === from && s.getChildText("body") === body;

async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("cluster: a real Redis restart (empty afterwards)", () => {
  let redis: ReturnType<typeof privateRedis>;
  let cluster: Cluster;
  let alice: ConnectedClient; // n1
  let bob: ConnectedClient; // n2
  let carol: ConnectedClient; // n2

  before(async () => {
    redis = privateRedis(await freePort());
    await redis.start();
    cluster = await startCluster({
      nodes: 2,
      users: ["alice", "bob", "carol", "dave"].map((u) => [u, `${u}-secret`]),
      redisUrl: redis.url,
      heartbeatInterval: 0.25,
      nodeTimeout: 1.5,
    });
    const [n1, n2] = cluster.nodes.map((n) => n.target);
    alice = await onlineWithRoster(n1!, "alice", "a1");
    bob = await onlineWithRoster(n2!, "bob", "b1");
    carol = await onlineWithRoster(n2!, "carol", "c1");
    await subscribeBoth(alice, bob);
    await alice.xmpp.send(xml("message", { to: "bob@localhost", type: "chat" }, xml("body", {}, "before")));
    await bob.waitFor(isChat("alice@localhost/a1", "before"));
  });

  after(async () => {
    for (const c of [alice, bob, carol]) await c?.stop().catch(() => {});
    await cluster?.stop();
    await redis?.stop();
  });

  /** Session hashes and heartbeats in Redis: what a node registered (again) after the restart. */
  async function registered(): Promise<{ sessions: string[]; nodes: string[] }> {
    const client = createClient({ url: redis.url, RESP: 2 });
    client.on("error", () => {});
    await client.connect();
    try {
      const sessions = ((await client.sendCommand(["KEYS", `${cluster.keyPrefix}sess:*`])) as string[])
        .map((k) => k.slice(`${cluster.keyPrefix}sess:`.length))
        .sort();
      const nodes = ((await client.sendCommand(["KEYS", `${cluster.keyPrefix}node:*`])) as string[])
        .map((k) => k.slice(`${cluster.keyPrefix}node:`.length))
        .sort();
      return { sessions, nodes };
    } finally {
      client.destroy();
    }
  }

  async function restartRedis(downMs: number, whileDown: () => Promise<void>): Promise<void> {
    await redis.stop();
    await whileDown();
    await new Promise((r) => setTimeout(r, downMs));
    await redis.start();
  }

  async function converged(round: string): Promise<void> {
    for (const n of cluster.nodes) assert.equal(n.child?.exitCode, null, `${n.id} is still running`);
    await until(async () => {
      const r = await registered();
      return (
        r.nodes.join() === "n1,n2" &&
        ["alice@localhost", "bob@localhost", "carol@localhost"].every((s) => r.sessions.includes(s))
      );
    }, `every node's heartbeat and sessions in the new Redis (${round})`);
    // Chat across nodes both ways, to full and bare JIDs.
    await alice.xmpp.send(xml("message", { to: "bob@localhost", type: "chat" }, xml("body", {}, `${round} a>b`)));
    await bob.waitFor(isChat("alice@localhost/a1", `${round} a>b`), 10_000);
    await bob.xmpp.send(xml("message", { to: "alice@localhost/a1", type: "chat" }, xml("body", {}, `${round} b>a`)));
    await alice.waitFor(isChat("bob@localhost/b1", `${round} b>a`), 10_000);
    await carol.xmpp.send(xml("message", { to: "alice@localhost", type: "chat" }, xml("body", {}, `${round} c>a`)));
    await alice.waitFor(isChat("carol@localhost/c1", `${round} c>a`), 10_000);
    // Presence: a change on node 1 reaches the contact on node 2, and a new session on node 1 is answered the
    // contacts' presence from the rebuilt views (a probe of Bob, who is on node 2).
    await alice.xmpp.send(xml("presence", {}, xml("status", {}, round)));
    await bob.waitFor(
      (s) => s.is("presence") && s.attrs.from === "alice@localhost/a1" && s.getChildText("status") === round,
      10_000,
    );
    const alice2 = await connect(cluster.nodes[0]!.target, "alice", "alice-secret", { resource: `a-${round}` });
    try {
      await alice2.xmpp.send(xml("presence"));
      await alice2.waitFor(
        (s) => s.is("presence") && s.attrs.from === "bob@localhost/b1" && s.attrs.type === undefined,
        10_000,
      );
    } finally {
      await alice2.stop();
    }
  }

  it("a short restart (shorter than node_timeout): queued stanzas arrive, nobody is taken for offline", async () => {
    const from = bob.received.length;
    await restartRedis(300, async () => {
      // Sent while Redis is away: node 1 queues them (cluster.max_queued) and sends them when it is back.
      for (let i = 0; i < 5; i++)
        await alice.xmpp.send(xml("message", { to: "bob@localhost/b1", type: "chat" }, xml("body", {}, `queued ${i}`)));
    });
    for (let i = 0; i < 5; i++) await bob.waitFor(isChat("alice@localhost/a1", `queued ${i}`), 15_000);
    await converged("short");
    const offline = bob.received
      .slice(from)
      .filter((s) => s.is("presence") && s.attrs.from === "alice@localhost/a1" && s.attrs.type === "unavailable");
    assert.deepEqual(offline, [], "Bob never saw Alice go offline");
    // An empty Redis is not a death: no node took another for dead (which drops its sessions and moves its rooms).
    for (const n of cluster.nodes)
      assert.deepEqual(cluster.logLines(n, /^cluster node down/), [], `${n.id}: nobody down`);
  });

  it("a long restart (longer than node_timeout): the nodes rejoin and the cluster converges", async () => {
    await restartRedis(3000, async () => {});
    await converged("long");
    for (const n of cluster.nodes) {
      assert.equal(n.child?.exitCode, null, `${n.id} is still running`);
      assert.deepEqual(cluster.logLines(n, /^cluster node down/), [], `${n.id}: nobody down`);
    }
  });
});
