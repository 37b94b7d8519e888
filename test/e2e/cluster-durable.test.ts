// Issue 16 with three Natter nodes on the real Redis and PostgreSQL: a message to a user whose resources are on
// two other nodes is archived once and both copies carry that one stanza-id (XEP-0313, XEP-0359); the h a sender's
// node reports (XEP-0198 §4) covers a message for another node only once Redis holds it, so a node killed right
// after acknowledging loses nothing. Node 1 reaches Redis through a proxy the test can hold shut.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Element } from "../../src/core/xml/element.js";
import { NS_SM } from "../../src/core/xml/ns.js";
import { type Cluster, type ClusterNode, REDIS_URL, startCluster } from "../helpers/cluster.js";
import type { RawClient } from "../helpers/raw-client.js";
import { type RedisGate, redisGate } from "../helpers/redis-gate.js";
import { parseServerOutput, rawLogin } from "./raw-helpers.js";

const NS_SID = "urn:xmpp:sid:0";
const NS_MAM = "urn:xmpp:mam:2";
const USERS = ["alice", "bob", "carol"];

function messagesWith(rc: RawClient, body: string): Element[] {
  return parseServerOutput(rc.data).elements.filter(
    (el) => el.name === "message" && el.getChildText("body", el.ns) === body,
  );
}

function stanzaIdBy(message: Element, by: string): string | undefined {
  return message.getChildren("stanza-id", NS_SID).find((s) => s.attrs.by === by)?.attrs.id;
}

async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Logs in by hand and sends initial presence (an available resource, RFC 6121 §4.2). */
async function online(node: ClusterNode, user: string, resource: string) {
  const login = await rawLogin(node.target, user, `${user}-secret`, resource);
  login.rc.send("<presence/>");
  return login;
}

describe("cluster: acknowledged once durable, archived once", { timeout: 120_000 }, () => {
  let cluster: Cluster;
  let gate: RedisGate;
  const raws: RawClient[] = [];

  before(async () => {
    gate = await redisGate(REDIS_URL);
    cluster = await startCluster({
      nodes: 3,
      users: USERS.map((u) => [u, `${u}-secret`]),
      // Node 1's heartbeat waits behind the held proxy too: the others must not take it for dead meanwhile.
      nodeTimeout: 5,
      redisUrlOf: (node) => (node === "n1" ? gate.url : undefined),
    });
  });

  after(async () => {
    for (const rc of raws) rc.destroy();
    await cluster?.stop();
    await gate?.close();
  });

  it("a message to a bare JID with resources on two other nodes: one archive entry, one stanza-id on both copies", async () => {
    const [n1, n2, n3] = cluster.nodes as [ClusterNode, ClusterNode, ClusterNode];
    const onTwo = await online(n2, "carol", "two");
    const onThree = await online(n3, "carol", "three");
    const alice = await online(n1, "alice", "desk");
    raws.push(onTwo.rc, onThree.rc, alice.rc);
    await new Promise((resolve) => setTimeout(resolve, 500)); // node 1's view has both of carol's resources
    alice.rc.send(`<message to='carol@localhost' type='chat' id='m1'><body>to both</body></message>`);
    await until(
      () => messagesWith(onTwo.rc, "to both").length > 0 && messagesWith(onThree.rc, "to both").length > 0,
      "carol's two copies",
    );
    const idTwo = stanzaIdBy(messagesWith(onTwo.rc, "to both")[0]!, "carol@localhost");
    const idThree = stanzaIdBy(messagesWith(onThree.rc, "to both")[0]!, "carol@localhost");
    assert.ok(idTwo, "the copy on node 2 carries carol's stanza-id");
    assert.equal(idThree, idTwo, "the copy on node 3 carries the same stanza-id (XEP-0359 §3)");
    // XEP-0313 §4: carol's archive holds the message once, under that id.
    onTwo.rc.send(`<iq type='set' id='q1'><query xmlns='${NS_MAM}' queryid='all'/></iq>`);
    await onTwo.rc.waitFor(
      /<iq[^>]*id=["']q1["'][^>]*type=["']result["']|<iq[^>]*type=["']result["'][^>]*id=["']q1["']/,
    );
    const results = parseServerOutput(onTwo.rc.data)
      .elements.map((el) => el.getChild("result", NS_MAM))
      .filter((r): r is Element => r?.attrs.queryid === "all")
      .filter((r) => r.toString().includes("to both"));
    assert.deepEqual(
      results.map((r) => r.attrs.id),
      [idTwo],
      "archived once",
    );
  });

  it("XEP-0198: <a h/> covers a message for another node only once Redis holds it; killing the node then loses nothing", async () => {
    const [n1, n2] = cluster.nodes as [ClusterNode, ClusterNode];
    const bob = await online(n2, "bob", "inbox");
    const alice = await online(n1, "alice", "phone");
    raws.push(bob.rc, alice.rc);
    alice.rc.send(`<enable xmlns='${NS_SM}'/>`);
    await alice.rc.waitFor(/<enabled/);
    await new Promise((resolve) => setTimeout(resolve, 500)); // node 1's view has bob
    // Node 1's writes to Redis wait in the proxy for a second: the message is routed, but Redis does not have it.
    gate.hold();
    alice.rc.send(`<message to='${bob.jid}' type='chat' id='d1'><body>durable</body></message><r xmlns='${NS_SM}'/>`);
    const opened = setTimeout(() => gate.open(), 1000);
    await alice.rc.waitFor(/<a xmlns=["']urn:xmpp:sm:3["'] h=["']1["']/, 8000);
    // The client was told its message is handled: its node may die now.
    await n1.kill9();
    clearTimeout(opened);
    gate.open();
    await until(() => messagesWith(bob.rc, "durable").length > 0, "bob gets the acknowledged message", 8000);
  });
});
