// Three Natter processes serving one domain through the local Redis and one PostgreSQL database (docs/cluster.md),
// with independent clients (@xmpp/client, slixmpp, raw sockets) on different nodes: chat, subscriptions and
// presence, carbons and resource conflicts across nodes; a node killed with SIGKILL mid-traffic loses nothing
// its senders had acknowledged, and hands on again only what its clients had not acknowledged; Redis connections
// killed under traffic are recovered from.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createClient } from "@redis/client";
import type { Element } from "../../src/core/xml/element.js";
import { NS_SM } from "../../src/core/xml/ns.js";
import { type Cluster, type ClusterNode, REDIS_URL, startCluster } from "../helpers/cluster.js";
import { isRosterPush, onlineWithRoster, subscribeBoth } from "../helpers/roster.js";
import { runSlixmpp, useSlixmpp } from "../helpers/slixmpp.js";
import { type ConnectedClient, connect, type XmlElement, xml } from "../helpers/xmpp-client.js";
import { parseServerOutput, rawAuthenticated, rawLogin, withTimeout } from "./raw-helpers.js";

const NS_CARBONS = "urn:xmpp:carbons:2";
const NS_FORWARD = "urn:xmpp:forward:0";
const USERS = ["alice", "bob", "carol", "dave", "erin", "frank", "gina", "hank"];

const isChat = (from: string, body: string) => (s: XmlElement) =>
  s.is("message") && s.attrs.from?.startsWith(from) && s.getChildText("body") === body;

const byNumber = (a: string, b: string) => Number(a.slice(1)) - Number(b.slice(1));

/** Bodies of the messages from `from` (a full JID) written on a raw client's stream, in order. */
function bodiesOf(data: string, from: string): string[] {
  return parseServerOutput(data)
    .elements.filter((el) => el.name === "message" && el.attrs.from === from)
    .map((el) => el.getChildText("body", el.ns) ?? "");
}

/** Waits until a count stops changing for a second (a duplicate would have arrived by then). */
async function quiet(count: () => number): Promise<void> {
  for (let last = -1, still = 0; still < 5; ) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    const now = count();
    still = now === last ? still + 1 : 0;
    last = now;
  }
}

/** Highest `h` the server acknowledged on a raw stream (XEP-0198 §4). */
function highestAck(data: string): number {
  let h = 0;
  for (const m of data.matchAll(/<a xmlns=["']urn:xmpp:sm:3["'] h=["'](\d+)["']\s*\/>/g)) h = Math.max(h, Number(m[1]));
  return h;
}

/**
 * A raw client with XEP-0198 sending numbered chat messages (`<prefix><n>`) to `to`, ten per burst with an <r/>;
 * `finish` stops it and waits until the server acknowledged every message sent, returning how many.
 */
async function smSender(node: ClusterNode, user: string, to: string, prefix: string) {
  const { rc, jid } = await rawLogin(node.target, user, `${user}-secret`, `sender-${prefix}`);
  rc.send(`<enable xmlns='${NS_SM}'/>`);
  await rc.waitFor(/<enabled/);
  let written = 0;
  let stopped = false;
  let loop: Promise<void> = Promise.resolve();
  const state = {
    jid,
    acked: () => highestAck(rc.data),
    start() {
      loop = (async () => {
        while (!stopped) {
          let burst = "";
          for (let i = 0; i < 10; i++, written++)
            burst += `<message to='${to}' type='chat' id='${prefix}${written}'><body>${prefix}${written}</body></message>`;
          rc.send(`${burst}<r xmlns='${NS_SM}'/>`);
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      })();
    },
    async finish(): Promise<number> {
      stopped = true;
      await loop;
      rc.send(`<r xmlns='${NS_SM}'/>`);
      await until(() => highestAck(rc.data) >= written, `${user}'s ${written} messages acknowledged`, 40_000).catch(
        (err: Error) => {
          throw new Error(`${err.message} (${highestAck(rc.data)} acknowledged)`);
        },
      );
      rc.destroy();
      return written;
    },
  };
  return state;
}

/**
 * Waits until `sender`'s node routes the account's bare-JID chat to `target` (another resource of the same account,
 * on another node): that node's view has `target` available. Polls with numbered messages, bounded.
 */
async function viewShows(sender: ConnectedClient, target: ConnectedClient, what: string): Promise<void> {
  const bare = sender.jid.split("/")[0]!;
  const tag = Math.random().toString(36).slice(2);
  const deadline = Date.now() + 20_000;
  for (let n = 0; ; n++) {
    const body = `view-check-${tag}-${n}`;
    await sender.xmpp.send(xml("message", { to: bare, type: "chat" }, xml("body", {}, body)));
    const seen = await target
      .waitFor((s) => s.is("message") && s.getChildText("body")?.startsWith(`view-check-${tag}-`) === true, 500)
      .then(
        () => true,
        () => false,
      );
    if (seen) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
  }
}

/** Names the step that timed out (waitFor only says "a stanza"). */
async function step<T>(what: string, p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    throw new Error(`${what}: ${(err as Error).message}`);
  }
}

async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe("cluster: three nodes, one domain", { timeout: 180_000 }, () => {
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
    cluster = await startCluster({
      nodes: 3,
      users: USERS.map((u) => [u, `${u}-secret`]),
      yaml: "modules: { offline-messages: { max_per_user: 10000 } }",
    });
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
    await step(
      "bob's away presence at alice",
      alice.waitFor(
        (s) => s.is("presence") && s.attrs.from === bob.jid && s.getChildText("status") === "at lunch",
        15_000,
      ),
    );
    // §4.2 / §4.3: a new resource on a third node learns the contact's presence by a probe answered from the view.
    const alice3 = await onlineOn(2, "alice", "phone");
    const probed = await step(
      "bob's presence probed by alice3",
      alice3.waitFor((s) => s.is("presence") && s.attrs.from === bob.jid, 15_000),
    );
    assert.equal(probed.getChildText("status"), "at lunch");
    // ...and bob sees the new resource come online.
    await step(
      "alice3's presence at bob",
      bob.waitFor((s) => s.is("presence") && s.attrs.from === alice3.jid && s.attrs.type === undefined, 15_000),
    );
    // §4.5: unavailable presence crosses nodes too.
    await alice3.stop();
    await step(
      "alice3's unavailable at bob",
      bob.waitFor((s) => s.is("presence") && s.attrs.from === alice3.jid && s.attrs.type === "unavailable", 15_000),
    );
    // §2.1.6: a roster change pushed to every interested resource, whichever node it is on.
    const alice2 = await onlineOn(2, "alice", "tablet");
    // alice's node must know alice2 is interested before the change (its view follows broadcasts).
    // alice2 asked for the roster before its presence, and its node publishes a session's view changes in order, so
    // once alice's node routes her own bare-JID messages to alice2 (available), it has the interest too.
    await viewShows(alice, alice2, "alice2 available in the view of alice's node");
    await alice.xmpp.iqCaller.request(
      xml(
        "iq",
        { type: "set" },
        xml("query", { xmlns: "jabber:iq:roster" }, xml("item", { jid: "bob@localhost", name: "Bobby" })),
      ),
    );
    await step("the roster push at alice2", alice2.waitFor(isRosterPush("bob@localhost", "both"), 15_000));
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
    // bob's node routes to the new session once its view has it: a ping to the full JID answered by the client
    // (RFC 6121 §8.5.3.1; service-unavailable while the view still has none), polled instead of a fixed wait.
    await until(
      () =>
        bob.xmpp.iqCaller
          .request(
            xml("iq", { type: "get", to: "frank@localhost/same" }, xml("ping", { xmlns: "urn:xmpp:ping" })),
            2000,
          )
          .then(
            () => true,
            () => false,
          ),
      "frank's new session in the view of bob's node",
    );
    await bob.xmpp.send(xml("message", { to: "frank@localhost/same", type: "chat" }, xml("body", {}, "which one")));
    await second.waitFor(isChat("bob@localhost", "which one"));
    await second.stop();
    await bob.stop();
  });

  it("blocking across nodes: pushes reach the user's other node, a blocked contact's message bounces", async () => {
    const NS_BLOCKING = "urn:xmpp:blocking";
    const alice = await on(0, "alice", "blocker");
    const alice2 = await on(2, "alice", "other");
    const bob = await on(1, "bob", "blocked");
    for (const c of [alice, alice2, bob]) await c.xmpp.send(xml("presence"));
    // XEP-0191 §3.2: asking for the blocklist makes a resource interested in pushes (shared in its view).
    for (const c of [alice, alice2])
      await c.xmpp.iqCaller.request(xml("iq", { type: "get" }, xml("blocklist", { xmlns: NS_BLOCKING })));
    await new Promise((resolve) => setTimeout(resolve, 300));
    await alice.xmpp.iqCaller.request(
      xml("iq", { type: "set" }, xml("block", { xmlns: NS_BLOCKING }, xml("item", { jid: "bob@localhost" }))),
    );
    // §3.3: the push reaches the resource on another node.
    await alice2.waitFor(
      (s) =>
        s.is("iq") &&
        s.attrs.type === "set" &&
        s.getChild("block", NS_BLOCKING)?.getChild("item")?.attrs.jid === "bob@localhost",
    );
    // §3.3: bob's message to alice's full JID on node 1 is refused there with service-unavailable, back on node 2.
    await bob.xmpp.send(xml("message", { to: alice.jid, type: "chat", id: "blk1" }, xml("body", {}, "let me in")));
    const bounce = await bob.waitFor((s) => s.is("message") && s.attrs.type === "error" && s.attrs.id === "blk1");
    assert.ok(bounce.getChild("error")?.getChild("service-unavailable", "urn:ietf:params:xml:ns:xmpp-stanzas"));
    assert.equal(alice.received.filter((s) => s.getChildText("body") === "let me in").length, 0);
    await alice.xmpp.iqCaller.request(
      xml("iq", { type: "set" }, xml("unblock", { xmlns: NS_BLOCKING }, xml("item", { jid: "bob@localhost" }))),
    );
    for (const c of [alice, alice2, bob]) await c.stop();
  });

  it("XEP-0198: resuming on another node than the session's fails cleanly with item-not-found", async () => {
    const [n1, n2] = cluster.nodes as [ClusterNode, ClusterNode];
    const { rc } = await rawLogin(n1.target, "gina", "gina-secret", "mobile");
    rc.send(`<enable xmlns='${NS_SM}' resume='true'/>`);
    const enabled = await rc.waitFor(/<enabled[^>]* id=["']([^"']+)["']/);
    rc.destroy(); // the connection drops; the session waits for resumption on node 1
    const other = await rawAuthenticated(n2.target, "gina", "gina-secret");
    other.send(`<resume xmlns='${NS_SM}' h='0' previd='${enabled[1]}'/>`);
    await other.waitFor(/<failed[^>]*>.*item-not-found/s, 5000);
    // The stream goes on: the client binds a new session there.
    other.send(
      `<iq type='set' id='b2'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>m2</resource></bind></iq>`,
    );
    await other.waitFor(/<jid>gina@localhost\/m2<\/jid>/);
    other.destroy();
  });

  it("a node killed with SIGKILL mid-traffic: contacts told, nothing acknowledged lost, what comes twice the client had not acknowledged", async (t) => {
    const [n1, n2, n3] = cluster.nodes as [ClusterNode, ClusterNode, ClusterNode];
    // frank (node 1) and erin (node 3) see each other's presence.
    const frank = await onlineOn(0, "frank", "watch");
    const erinP = await onlineOn(2, "erin", "p");
    await subscribeBoth(frank, erinP);
    // erin's inbox resource on node 3, with XEP-0198: it acknowledges what it got, every 200 ms, until told to stop.
    const { rc: erinInbox, jid: erinJid } = await rawLogin(n3.target, "erin", "erin-secret", "inbox");
    erinInbox.send(`<enable xmlns='${NS_SM}'/>`);
    await erinInbox.waitFor(/<enabled/);
    erinInbox.send("<presence/>");
    await frank.waitFor((s) => s.is("presence") && s.attrs.from === erinJid && s.attrs.type === undefined);
    /** The stanzas erin's client got since <enabled/> (XEP-0198 §4 counts these). */
    const erinStanzas = () => {
      const elements = parseServerOutput(erinInbox.data).elements;
      const from = elements.findIndex((el) => el.name === "enabled");
      return elements.slice(from + 1).filter((el) => el.ns === "jabber:client");
    };
    let erinAcked = 0;
    const acking = setInterval(() => {
      erinAcked = erinStanzas().length;
      erinInbox.send(`<a xmlns='${NS_SM}' h='${erinAcked}'/>`);
    }, 200);
    // carol (node 1) gets messages from a sender on node 2: both survive.
    const { rc: carolInbox, jid: carolJid } = await rawLogin(n1.target, "carol", "carol-secret", "inbox");
    carolInbox.send("<presence/>");
    await new Promise((resolve) => setTimeout(resolve, 300)); // the views of every node have both sessions
    const toErin = await smSender(n1, "alice", erinJid, "e");
    const toCarol = await smSender(n2, "bob", carolJid, "c");
    const aliceJid = toErin.jid;
    toErin.start();
    toCarol.start();
    await until(() => toErin.acked() >= 40, "40 messages to erin acknowledged", 30_000);
    // erin's client stops acknowledging; what it gets from now on it has not acknowledged when its node dies.
    clearInterval(acking);
    await new Promise((resolve) => setTimeout(resolve, 400));
    const ackedBeforeKill = toErin.acked();
    const erinAcknowledged = new Set(
      erinStanzas()
        .slice(0, erinAcked)
        .filter((el) => el.name === "message" && el.attrs.from === aliceJid)
        .map((el) => el.getChildText("body", el.ns) ?? ""),
    );
    const killedAt = Date.now();
    await n3.kill9();
    t.diagnostic(
      `killed ${n3.id} after ${ackedBeforeKill} acknowledged messages to erin, ${erinAcknowledged.size} acknowledged by erin`,
    );
    // RFC 6121 §4.5.2: erin's contacts get unavailable presence on her behalf, from the survivor that cleans up.
    await frank.waitFor((s) => s.is("presence") && s.attrs.from === erinP.jid && s.attrs.type === "unavailable", 8000);
    await frank.waitFor((s) => s.is("presence") && s.attrs.from === erinJid && s.attrs.type === "unavailable", 8000);
    const noticedAfter = Date.now() - killedAt;
    t.diagnostic(`unavailable presence ${noticedAfter} ms after the kill`);
    assert.ok(noticedAfter < 1500 + 250 + 3000, "within node_timeout + one heartbeat + slack");
    // The senders go on for a while after the node's death, then everything they sent is acknowledged.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const [erinSent, carolSent] = await Promise.all([toErin.finish(), toCarol.finish()]);
    t.diagnostic(`sent ${erinSent} to erin (node 3, killed), ${carolSent} to carol`);
    assert.ok(erinSent > ackedBeforeKill + 10, "messages were sent after the kill");
    // Every acknowledged message to erin arrives: live before the kill, or from offline storage
    // once she logs in again on another node.
    const fromAlice = (elements: Element[]) =>
      elements.filter((el) => el.name === "message" && el.attrs.from === aliceJid);
    const liveCopies = fromAlice(parseServerOutput(erinInbox.data).elements);
    const live = liveCopies.map((el) => el.getChildText("body", el.ns) ?? "");
    erinInbox.destroy();
    const { rc: erinAgain } = await rawLogin(n2.target, "erin", "erin-secret", "back");
    erinAgain.send("<presence/>");
    const expected = Array.from({ length: erinSent }, (_, i) => `e${i}`);
    await until(
      () => new Set([...live, ...bodiesOf(erinAgain.data, aliceJid)]).size >= erinSent,
      "every message to erin",
      30_000,
    ).catch(() => {});
    await quiet(() => bodiesOf(erinAgain.data, aliceJid).length);
    const offlineCopies = fromAlice(parseServerOutput(erinAgain.data).elements);
    const offline = offlineCopies.map((el) => el.getChildText("body", el.ns) ?? "");
    const unacknowledged = live.filter((b) => !erinAcknowledged.has(b));
    t.diagnostic(
      `erin: ${live.length} live before the kill (${unacknowledged.length} not acknowledged), ${offline.length} from offline storage`,
    );
    assert.equal(new Set(live).size, live.length, "nothing twice live");
    assert.equal(new Set(offline).size, offline.length, "nothing twice from offline storage");
    assert.deepEqual([...new Set([...live, ...offline])].sort(byNumber), expected, "each message to erin, none lost");
    // The inbox entry of a message for erin is acknowledged in Redis only once her client acknowledged it (XEP-0198
    // §4): what she had acknowledged does not come again; what she got and had not acknowledged does, from offline
    // storage, with the stanza-id of its first copy (XEP-0359), by which her client knows it.
    const twice = offline.filter((b) => live.includes(b));
    assert.deepEqual(
      twice.filter((b) => erinAcknowledged.has(b)),
      [],
      "a message erin's client acknowledged does not come again",
    );
    assert.deepEqual(
      twice.sort(byNumber),
      [...unacknowledged].sort(byNumber),
      "what erin had not acknowledged comes again",
    );
    const idOf = (el: Element) =>
      el.getChildren("stanza-id", "urn:xmpp:sid:0").find((s) => s.attrs.by === "erin@localhost")?.attrs.id;
    for (const body of twice) {
      const first = idOf(liveCopies.find((el) => el.getChildText("body", el.ns) === body)!);
      assert.ok(first, `${body} carries erin's stanza-id`);
      assert.equal(
        idOf(offlineCopies.find((el) => el.getChildText("body", el.ns) === body)!),
        first,
        `${body} again: the same stanza-id`,
      );
    }
    erinAgain.destroy();
    // Between the survivors: exactly once, in order.
    await until(() => bodiesOf(carolInbox.data, toCarol.jid).length >= carolSent, "every message to carol", 20_000);
    await quiet(() => bodiesOf(carolInbox.data, toCarol.jid).length);
    assert.deepEqual(
      bodiesOf(carolInbox.data, toCarol.jid),
      Array.from({ length: carolSent }, (_, i) => `c${i}`),
    );
    carolInbox.destroy();
    await frank.stop();
  });

  it("Redis connections killed under traffic: the nodes reconnect, resync and route again", async (t) => {
    const [n1, n2] = cluster.nodes as [ClusterNode, ClusterNode];
    const { rc: inbox, jid: hankJid } = await rawLogin(n1.target, "hank", "hank-secret", "inbox");
    inbox.send("<presence/>");
    await new Promise((resolve) => setTimeout(resolve, 300));
    const sender = await smSender(n2, "gina", hankJid, "r");
    sender.start();
    await until(() => sender.acked() >= 50, "traffic flowing", 20_000);
    const admin = createClient({ url: REDIS_URL, RESP: 2 });
    admin.on("error", () => {});
    await admin.connect();
    // Only this cluster's connections (named after its key prefix): other tests share the Redis.
    const killOurs = async () => {
      const list = String(await admin.sendCommand(["CLIENT", "LIST"]));
      const ids = list
        .split("\n")
        .filter((line) => line.includes(`name=natter:${cluster.keyPrefix}`))
        .map((line) => /id=(\d+)/.exec(line)?.[1])
        .filter((id): id is string => id !== undefined);
      for (const id of ids) await admin.sendCommand(["CLIENT", "KILL", "ID", id]);
      return ids.length;
    };
    const killed = await killOurs();
    t.diagnostic(`killed ${killed} Redis connections`);
    assert.ok(killed >= 6, "every node's three connections");
    await new Promise((resolve) => setTimeout(resolve, 300));
    await killOurs();
    await new Promise((resolve) => setTimeout(resolve, 500));
    const sent = await sender.finish();
    admin.destroy();
    // Nothing acknowledged is lost (the inbox is at least once: a send cut mid-flight may arrive twice).
    await until(
      () => new Set(bodiesOf(inbox.data, sender.jid)).size >= sent,
      "every message after the reconnections",
      20_000,
    );
    const got = bodiesOf(inbox.data, sender.jid);
    t.diagnostic(`${sent} sent, ${got.length} received, ${got.length - new Set(got).size} twice`);
    // Routing and the session views work afterwards: a new session on node 2 reaches one on node 1 by bare JID.
    const late = await on(1, "bob", "late");
    await late.xmpp.send(xml("message", { to: "hank@localhost", type: "chat" }, xml("body", {}, "after")));
    await inbox.waitFor(/<body>after<\/body>/, 10_000);
    assert.ok(
      cluster.logLines(n1, /resync/).length > 0 && cluster.logLines(n2, /resync/).length > 0,
      "both nodes resynced",
    );
    inbox.destroy();
    await late.stop();
  });
});
