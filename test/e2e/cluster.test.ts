// Three Natter processes serving one domain through the local Redis and one PostgreSQL database (docs/cluster.md),
// with independent clients (@xmpp/client, slixmpp, raw sockets) on different nodes: chat, subscriptions and
// presence, carbons and resource conflicts across nodes; a node killed with SIGKILL mid-traffic loses nothing
// its senders had acknowledged; Redis connections killed under traffic are recovered from.
import assert from "node:assert/strict";
import { createClient } from "@redis/client";
import { after, before, describe, it } from "node:test";
import { NS_SM } from "../../src/core/xml/ns.js";
import { type Cluster, REDIS_URL, startCluster } from "../helpers/cluster.js";
import { isRosterPush, onlineWithRoster, subscribeBoth } from "../helpers/roster.js";
import { runSlixmpp, useSlixmpp } from "../helpers/slixmpp.js";
import { type ConnectedClient, connect, type XmlElement, xml } from "../helpers/xmpp-client.js";
import { parseServerOutput, rawLogin, withTimeout } from "./raw-helpers.js";

const NS_CARBONS = "urn:xmpp:carbons:2";
const NS_FORWARD = "urn:xmpp:forward:0";
const USERS = ["alice", "bob", "carol", "dave", "erin", "frank", "gina", "hank"];

const isChat = (from: string, body: string) => (s: XmlElement) =>
  s.is("message") && s.attrs.from?.startsWith(from) && s.getChildText("body") === body;

async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe("cluster: three nodes, one domain", { timeout: 120_000 }, () => {
  useSlixmpp();
  let cluster: Cluster;
  const clients: ConnectedClient[] = [];
  const on = async (node: number, user: string, resource: string) => {
    const c = await connect(cluster.nodes[node]!.target, user, `${user}-secret`, { resource });
    clients.push(c);
    return c;
  };
  const onlineOn = async (node: number, user: string, resource: string, presence?: XmlElement) => {
    const c = await onlineWithRoster(cluster.nodes[node]!.target, user, resource, presence);
    clients.push(c);
    return c;
  };

  before(async () => {
    cluster = await startCluster({ nodes: 3, users: USERS.map((u) => [u, `${u}-secret`]) });
  });

  after(async () => {
    for (const c of clients) await c.stop();
    await cluster?.stop();
  });

  it("clients on different nodes chat both ways, to bare and full JIDs", async () => {
    const alice = await on(0, "alice", "a1");
    const bob = await on(1, "bob", "b1");
    await alice.xmpp.send(xml("presence"));
    await bob.xmpp.send(xml("presence"));
    await alice.xmpp.send(xml("message", { to: "bob@localhost", type: "chat" }, xml("body", {}, "hi bob")));
    const got = await bob.waitFor(isChat("alice@localhost/a1", "hi bob"));
    assert.equal(got.attrs.to, "bob@localhost");
    await bob.xmpp.send(xml("message", { to: alice.jid, type: "chat" }, xml("body", {}, "hi alice")));
    const back = await alice.waitFor(isChat("bob@localhost/b1", "hi alice"));
    assert.equal(back.attrs.to, alice.jid);
    // An iq to a full JID on another node is answered from there (RFC 6121 §8.5.3.1).
    const version = await alice.xmpp.iqCaller
      .request(xml("iq", { type: "get", to: bob.jid }, xml("ping", { xmlns: "urn:xmpp:ping" })), 5000)
      .then(
        () => "result",
        (err: { condition?: string }) => err.condition ?? "error",
      );
    // xmpp.js answers pings itself: the result came back from bob's client through both nodes.
    assert.equal(version, "result");
    await alice.stop();
    await bob.stop();
  });

  it("a slixmpp user and an @xmpp/client user on different nodes chat", async () => {
    const carol = await on(0, "carol", "c1");
    await carol.xmpp.send(xml("presence"));
    let online: (jid: string) => void = () => {};
    const isOnline = new Promise<string>((resolve) => {
      online = resolve;
    });
    const slix = runSlixmpp<{ ok: boolean; received?: { from: string; body: string }; error?: string }>(
      "cluster_peer.py",
      {
        host: "127.0.0.1",
        port: cluster.nodes[2]!.port,
        jid: "dave@localhost",
        password: "dave-secret",
        resource: "slix",
        peer: "carol@localhost",
        body: "hello from slixmpp",
      },
      {
        onProgress: (event) => {
          if (event.event === "online") online(String(event.jid));
        },
      },
    );
    const daveJid = await withTimeout(isOnline, 20_000, "slixmpp online");
    await carol.xmpp.send(xml("message", { to: "dave@localhost", type: "chat" }, xml("body", {}, "hello dave")));
    await carol.waitFor(isChat(daveJid, "re: hello dave"));
    await carol.waitFor(isChat("dave@localhost", "hello from slixmpp"));
    const result = await slix;
    assert.equal(result.ok, true, result.error);
    assert.equal(result.received?.body, "hello dave");
    assert.equal(result.received?.from, carol.jid);
    await carol.stop();
  });

  it("subscriptions and presence across nodes: broadcast, probes, roster pushes", async () => {
    const alice = await onlineOn(0, "alice", "home");
    const bob = await onlineOn(1, "bob", "work");
    await subscribeBoth(alice, bob);
    // §4.4: a presence change reaches the contact on another node.
    await bob.xmpp.send(xml("presence", {}, xml("show", {}, "away"), xml("status", {}, "at lunch")));
    await alice.waitFor((s) => s.is("presence") && s.attrs.from === bob.jid && s.getChildText("status") === "at lunch");
    // §4.2 / §4.3: a new resource on a third node learns the contact's presence by a probe answered from the view.
    const alice3 = await onlineOn(2, "alice", "phone");
    const probed = await alice3.waitFor((s) => s.is("presence") && s.attrs.from === bob.jid);
    assert.equal(probed.getChildText("status"), "at lunch");
    // ...and bob sees the new resource come online.
    await bob.waitFor((s) => s.is("presence") && s.attrs.from === alice3.jid && s.attrs.type === undefined);
    // §4.5: unavailable presence crosses nodes too.
    await alice3.stop();
    await bob.waitFor((s) => s.is("presence") && s.attrs.from === alice3.jid && s.attrs.type === "unavailable");
    // §2.1.6: a roster change pushed to every interested resource, whichever node it is on.
    const alice2 = await onlineOn(2, "alice", "tablet");
    await alice.xmpp.iqCaller.request(
      xml(
        "iq",
        { type: "set" },
        xml("query", { xmlns: "jabber:iq:roster" }, xml("item", { jid: "bob@localhost", name: "Bobby" })),
      ),
    );
    await alice2.waitFor(isRosterPush("bob@localhost", "both"));
    await alice.stop();
    await alice2.stop();
    await bob.stop();
  });

  it("carbons: copies reach the user's resources on other nodes", async () => {
    const g1 = await on(0, "gina", "g1");
    const g2 = await on(2, "gina", "g2");
    const hank = await on(1, "hank", "h1");
    for (const c of [g1, g2, hank]) await c.xmpp.send(xml("presence"));
    for (const c of [g1, g2])
      await c.xmpp.iqCaller.request(xml("iq", { type: "set" }, xml("enable", { xmlns: NS_CARBONS })));
    // Give the carbons state (shared in the session view) time to reach the other nodes.
    await new Promise((resolve) => setTimeout(resolve, 300));
    await hank.xmpp.send(xml("message", { to: g1.jid, type: "chat" }, xml("body", {}, "to g1")));
    await g1.waitFor(isChat("hank@localhost", "to g1"));
    const received = await g2.waitFor((s) => s.is("message") && s.getChild("received", NS_CARBONS) !== undefined);
    assert.equal(
      received
        .getChild("received", NS_CARBONS)
        ?.getChild("forwarded", NS_FORWARD)
        ?.getChild("message")
        ?.getChildText("body"),
      "to g1",
    );
    await g2.xmpp.send(xml("message", { to: "hank@localhost", type: "chat" }, xml("body", {}, "from g2")));
    await hank.waitFor(isChat("gina@localhost/g2", "from g2"));
    const sent = await g1.waitFor((s) => s.is("message") && s.getChild("sent", NS_CARBONS) !== undefined);
    assert.equal(
      sent.getChild("sent", NS_CARBONS)?.getChild("forwarded", NS_FORWARD)?.getChild("message")?.getChildText("body"),
      "from g2",
    );
    for (const c of [g1, g2, hank]) await c.stop();
  });

  it("a resource bound on another node replaces the older session with <conflict/>", async () => {
    const first = await on(0, "frank", "same");
    const closed = new Promise<string>((resolve) => {
      first.xmpp.on("error", (err: { condition?: string }) => resolve(err.condition ?? String(err)));
    });
    const second = await on(1, "frank", "same");
    assert.equal(await withTimeout(closed, 10_000, "conflict"), "conflict");
    // The new session gets what is sent to the full JID.
    const bob = await on(2, "bob", "b2");
    await second.xmpp.send(xml("presence"));
    await new Promise((resolve) => setTimeout(resolve, 200));
    await bob.xmpp.send(xml("message", { to: "frank@localhost/same", type: "chat" }, xml("body", {}, "which one")));
    await second.waitFor(isChat("bob@localhost", "which one"));
    await second.stop();
    await bob.stop();
  });
});
