// Anti-spam as users see it, over real sockets: @xmpp/client users, two XEP-0114 components (@xmpp/component) —
// one a pubsub service publishing a real-time block list, the other a remote spammer's domain. A stranger's
// message is held (and released by the user) or refused per policy while contacts' messages pass; a flood from
// one account is cut while another account's messages go on; a XEP-0377 report reaches the admin's client; a
// block list entry published on the pubsub node is applied without restart.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { type Component, component } from "@xmpp/component";
import { command } from "../helpers/adhoc.js";
import { rawHttp } from "../helpers/raw-http.js";
import { onlineWithRoster, subscribeBoth } from "../helpers/roster.js";
import { stanzaInbox } from "../helpers/stanza-inbox.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { type ConnectedClient, type XmlElement, xml } from "../helpers/xmpp-client.js";

const D = "localhost";
const NS_Q = "urn:natter:quarantine:0";
const NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas";
const NS_PUBSUB = "http://jabber.org/protocol/pubsub";
const NS_PUBSUB_EVENT = "http://jabber.org/protocol/pubsub#event";
const RTBL = "rtbl.localhost";
const SPAM = "spam.localhost";
const NODE = "muc_bans_sha256";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

let n = 0;
async function iq(c: ConnectedClient, type: "get" | "set", payload: XmlElement): Promise<XmlElement> {
  const id = `as${++n}`;
  await c.xmpp.send(xml("iq", { type, id }, payload));
  return c.waitFor((s) => s.is("iq") && s.attrs.id === id && (s.attrs.type === "result" || s.attrs.type === "error"));
}
const condition = (s: XmlElement) =>
  s
    .getChild("error")
    ?.children.find((c): c is XmlElement => typeof c !== "string" && c.attrs.xmlns === NS_STANZAS && c.name !== "text")
    ?.name;
const msg = (to: string, id: string, body: string) => xml("message", { to, id, type: "chat" }, xml("body", {}, body));
const byId = (id: string) => (s: XmlElement) => s.is("message") && s.attrs.id === id;
const errorFor = (id: string) => (s: XmlElement) => s.is("message") && s.attrs.id === id && s.attrs.type === "error";
/**
 * Under `local: quarantine` a subscription request from someone not in the roster is held too: each side puts the
 * other in its roster first (RFC 6121 §2.3), then the usual handshake.
 */
async function contacts(a: ConnectedClient, b: ConnectedClient): Promise<void> {
  for (const [x, y] of [
    [a, b],
    [b, a],
  ] as const)
    await x.xmpp.iqCaller.request(
      xml(
        "iq",
        { type: "set" },
        xml("query", { xmlns: "jabber:iq:roster" }, xml("item", { jid: y.jid.split("/")[0] })),
      ),
    );
  await subscribeBoth(a, b);
}
/** Nothing matching arrives within `ms`. */
async function nothing(c: { received: XmlElement[] }, pred: (s: XmlElement) => boolean, ms = 600): Promise<void> {
  await sleep(ms);
  assert.equal(c.received.filter(pred).length, 0, "expected nothing");
}

describe("anti-spam", () => {
  let ts: TestServer;
  const clients: ConnectedClient[] = [];
  const components: Component[] = [];
  let alice: ConnectedClient;
  let bob: ConnectedClient;
  let carol: ConnectedClient;
  let mallory: ConnectedClient;
  let admin: ConnectedClient;

  async function login(user: string): Promise<ConnectedClient> {
    const c = await onlineWithRoster(ts, user, "r");
    clients.push(c);
    return c;
  }

  before(async () => {
    ts = await startTestServer({
      yaml: [
        `admins: ["admin@${D}"]`,
        "components:",
        `  - { domain: ${RTBL}, secret: rtbl-secret }`,
        `  - { domain: ${SPAM}, secret: spam-secret }`,
        "modules:",
        "  anti-spam:",
        "    strangers: { local: quarantine, remote: allow }",
        "    account_rate: { messages: { per_minute: 6, burst: 5 } }",
        `    rtbl: [{ service: ${RTBL}, node: ${NODE} }]`,
        "    rtbl_retry: 0.3",
      ].join("\n"),
    });
    for (const u of ["alice", "bob", "carol", "mallory", "admin", "dave", "erin", "frank"])
      await ts.addUser(u, `${u}-secret`);
    alice = await login("alice");
    bob = await login("bob");
    carol = await login("carol");
    mallory = await login("mallory");
    admin = await login("admin");
    await contacts(alice, bob);
  });

  after(async () => {
    for (const c of clients) await c.stop();
    for (const c of components) await c.stop().catch(() => {});
    await ts?.stop();
  });

  it("advertises XEP-0377 reporting on the server's disco#info", async () => {
    const info = await alice.xmpp.iqCaller.request(
      xml("iq", { type: "get", to: D }, xml("query", "http://jabber.org/protocol/disco#info")),
    );
    const vars = info
      .getChild("query")!
      .getChildren("feature")
      .map((f: XmlElement) => f.attrs.var);
    assert.ok(vars.includes("urn:xmpp:reporting:1"), vars.join(" "));
  });

  it("delivers a contact's message and holds a stranger's; the user lists and releases it", async () => {
    await bob.xmpp.send(msg(`alice@${D}`, "c1", "hi from a contact"));
    assert.equal((await alice.waitFor(byId("c1"))).getChildText("body"), "hi from a contact");

    await mallory.xmpp.send(msg(`alice@${D}`, "q1", "buy cheap watches"));
    await nothing(alice, byId("q1"));
    assert.equal(mallory.received.filter(errorFor("q1")).length, 0, "a held message gets no error");

    const list = (await iq(alice, "get", xml("list", { xmlns: NS_Q }))).getChild("list", NS_Q)!;
    const items = list.getChildren("item");
    assert.equal(items.length, 1);
    const item = items[0]!;
    assert.equal(item.attrs.from, `mallory@${D}`);
    assert.equal(item.getChild("forwarded")?.getChild("message")?.getChildText("body"), "buy cheap watches");

    // Another user may not read it.
    const foreign = await carol.xmpp.send(
      xml("iq", { type: "get", id: "foreign", to: `alice@${D}` }, xml("list", { xmlns: NS_Q })),
    );
    void foreign;
    assert.equal(condition(await carol.waitFor((s) => s.is("iq") && s.attrs.id === "foreign")), "forbidden");

    const released = await iq(alice, "set", xml("release", { xmlns: NS_Q }, xml("item", { id: item.attrs.id })));
    assert.equal(released.attrs.type, "result");
    assert.equal((await alice.waitFor(byId("q1"))).getChildText("body"), "buy cheap watches");
    assert.equal(
      (await iq(alice, "get", xml("list", { xmlns: NS_Q }))).getChild("list", NS_Q)!.getChildren("item").length,
      0,
    );

    // Released once, the sender is known: the next message goes straight through.
    await mallory.xmpp.send(msg(`alice@${D}`, "q2", "thanks"));
    await alice.waitFor(byId("q2"));
  });

  it("holds a stranger's subscription request and discards on request", async () => {
    await mallory.xmpp.send(xml("presence", { to: `bob@${D}`, type: "subscribe" }));
    await nothing(bob, (s) => s.is("presence") && s.attrs.type === "subscribe" && s.attrs.from === `mallory@${D}`);
    const items = (await iq(bob, "get", xml("list", { xmlns: NS_Q }))).getChild("list", NS_Q)!.getChildren("item");
    assert.deepEqual(
      items.map((i: XmlElement) => [i.attrs.from, i.attrs.kind]),
      [[`mallory@${D}`, "subscribe"]],
    );
    assert.equal((await iq(bob, "set", xml("discard", { xmlns: NS_Q }))).attrs.type, "result");
    assert.equal(
      (await iq(bob, "get", xml("list", { xmlns: NS_Q }))).getChild("list", NS_Q)!.getChildren("item").length,
      0,
    );
    const missing = await iq(bob, "set", xml("release", { xmlns: NS_Q }, xml("item", { id: "nope" })));
    assert.equal(condition(missing), "item-not-found");
  });

  it("refuses a stranger with policy-violation when the user chose reject", async () => {
    const bad = await iq(carol, "set", xml("policy", { xmlns: NS_Q, value: "sometimes" }));
    assert.equal(condition(bad), "bad-request");
    assert.equal((await iq(carol, "set", xml("policy", { xmlns: NS_Q, value: "reject" }))).attrs.type, "result");
    assert.equal(
      (await iq(carol, "get", xml("policy", { xmlns: NS_Q }))).getChild("policy", NS_Q)?.attrs.value,
      "reject",
    );
    await mallory.xmpp.send(msg(`carol@${D}`, "r1", "hello?"));
    const err = await mallory.waitFor(errorFor("r1"));
    assert.equal(condition(err), "policy-violation");
    await nothing(carol, byId("r1"), 300);
  });

  it("cuts a flood from one account without affecting another", async () => {
    const dave = await login("dave");
    await contacts(dave, bob);
    // burst 5, then one a 10 s: of 12 sent at once, the first five pass and the rest come back refused.
    for (let i = 0; i < 12; i++) await dave.xmpp.send(msg(`bob@${D}`, `f${i}`, `flood ${i}`));
    const refused = await dave.waitFor(errorFor("f11"));
    assert.equal(condition(refused), "policy-violation");
    assert.equal(refused.getChild("error")?.attrs.type, "wait");
    await bob.waitFor(byId("f4"));
    const got = bob.received.filter((s) => s.is("message") && String(s.attrs.id).startsWith("f")).length;
    assert.ok(got >= 5 && got < 12, `bob got ${got} of 12`);
    // Alice's budget is her own.
    await alice.xmpp.send(msg(`bob@${D}`, "other", "not a flood"));
    await bob.waitFor(byId("other"));
    assert.equal(alice.received.filter(errorFor("other")).length, 0);
  });

  it("blocks with a XEP-0377 report: the admin gets a notice and can list the counts", async () => {
    const r = await iq(
      alice,
      "set",
      xml(
        "block",
        { xmlns: "urn:xmpp:blocking" },
        xml(
          "item",
          { jid: `mallory@${D}` },
          xml(
            "report",
            { xmlns: "urn:xmpp:reporting:1", reason: "urn:xmpp:reporting:spam" },
            xml("text", {}, "watches again"),
          ),
        ),
      ),
    );
    assert.equal(r.attrs.type, "result");
    const notice = await admin.waitFor(
      (s) => s.is("message") && s.attrs.from === D && s.getChildText("subject") === "Spam report",
    );
    assert.match(
      notice.getChildText("body") ?? "",
      /alice@localhost reported mallory@localhost for spam.*watches again/,
    );
    // Blocked as without a report: mallory's message bounces.
    await mallory.xmpp.send(msg(`alice@${D}`, "b1", "still there?"));
    assert.equal(condition(await mallory.waitFor(errorFor("b1"))), "service-unavailable");

    const listing = await command(admin, { node: "spam-reports", action: "execute" });
    const fields = listing.getChild("command")?.getChild("x")?.getChildren("field") ?? [];
    const jids = fields
      .find((f: XmlElement) => f.attrs.var === "jids")
      ?.getChildren("value")
      .map((v: XmlElement) => v.getText());
    const domains = fields
      .find((f: XmlElement) => f.attrs.var === "domains")
      ?.getChildren("value")
      .map((v: XmlElement) => v.getText());
    assert.ok(jids?.[0]?.startsWith(`mallory@${D} 1 1 0 `), String(jids));
    assert.deepEqual(domains, [`${D} 1`]);
    // Not for users.
    const denied = await command(alice, { node: "spam-reports", action: "execute" });
    assert.equal(denied.attrs.type, "error");

    // The admin HTTP API lists the same.
    const { token } = await ts.server.apiTokens.create({ scopes: ["users:read"], name: "test" });
    const res = await fetch(`http://127.0.0.1:${ts.httpPort}/admin/api/spam-reports`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { jids: { jid: string; reports: number; spam: number }[]; domains: unknown[] };
    assert.deepEqual(
      body.jids.map((j) => [j.jid, j.reports, j.spam]),
      [[`mallory@${D}`, 1, 1]],
    );
    assert.deepEqual(body.domains, [{ domain: D, reports: 1 }]);
  });

  it("lets through the reply of a stranger the user wrote to first", async () => {
    const erin = await login("erin");
    await alice.xmpp.send(msg(`erin@${D}`, "w1", "hello erin, we met yesterday"));
    await sleep(200); // held for erin: alice is a stranger to her
    await erin.xmpp.send(msg(`alice@${D}`, "w2", "oh hi alice"));
    assert.equal((await alice.waitFor(byId("w2"))).getChildText("body"), "oh hi alice");
    assert.equal(erin.received.filter(byId("w1")).length, 0);
    const held = (await iq(erin, "get", xml("list", { xmlns: NS_Q }))).getChild("list", NS_Q)!.getChildren("item");
    assert.deepEqual(
      held.map((i: XmlElement) => i.attrs.from),
      [`alice@${D}`],
    );
  });

  it("holds a stranger's message to an offline user instead of storing it offline", async () => {
    await mallory.xmpp.send(msg(`frank@${D}`, "o1", "while you were away"));
    await sleep(300);
    const frank = await login("frank");
    await nothing(frank, byId("o1"), 300);
    const held = (await iq(frank, "get", xml("list", { xmlns: NS_Q }))).getChild("list", NS_Q)!.getChildren("item");
    assert.equal(held[0]?.getChild("forwarded")?.getChild("message")?.getChildText("body"), "while you were away");
  });

  it("counts what it did in the Prometheus metrics", async () => {
    const res = await rawHttp({ port: ts.httpPort as number, path: "/metrics" });
    const value = (action: string) =>
      Number(new RegExp(`^natter_anti_spam_total\\{action="${action}"\\} (\\d+)$`, "m").exec(res.body)?.[1] ?? "0");
    assert.equal(value("spam-report"), 1);
    assert.equal(value("quarantined"), 4); // mallory's message, request and message to frank; alice's to erin
    assert.equal(value("refused-stranger"), 1); // carol's reject
    assert.ok(value("rate-limited-account") >= 1);
  });

  it("applies a real-time block list fetched from a pubsub service and its live notifications", async () => {
    const startComponent = async (domain: string, secret: string) => {
      const xmpp = component({ service: `xmpp://127.0.0.1:${ts.componentPort}`, domain, password: secret });
      xmpp.reconnect.stop();
      xmpp.on("error", () => {});
      const inbox = stanzaInbox(xmpp, domain);
      components.push(xmpp);
      await xmpp.start();
      return { xmpp, ...inbox };
    };
    // The block list service: answers the subscription and the items request (XEP-0060 §6.1, §6.5) with one
    // plain entry, listed before the server ever asked.
    const rtbl = await startComponent(RTBL, "rtbl-secret");
    const requests: string[] = [];
    rtbl.xmpp.on("stanza", (s: XmlElement) => {
      if (!s.is("iq") || (s.attrs.type !== "get" && s.attrs.type !== "set")) return;
      const pubsub = s.getChild("pubsub", NS_PUBSUB);
      const reply = (payload?: XmlElement) =>
        rtbl.xmpp.send(
          xml("iq", { type: "result", id: s.attrs.id, from: RTBL, to: s.attrs.from }, ...(payload ? [payload] : [])),
        );
      if (pubsub?.getChild("subscribe")) {
        requests.push("subscribe");
        void reply(
          xml("pubsub", { xmlns: NS_PUBSUB }, xml("subscription", { node: NODE, jid: D, subscription: "subscribed" })),
        );
      } else if (pubsub?.getChild("items")) {
        requests.push("items");
        void reply(
          xml("pubsub", { xmlns: NS_PUBSUB }, xml("items", { node: NODE }, xml("item", { id: `early@${SPAM}` }))),
        );
      }
    });
    const spam = await startComponent(SPAM, "spam-secret");
    // The server fetches the list once the service is there (retrying until then).
    for (let i = 0; i < 100 && !requests.includes("items"); i++) await sleep(50);
    assert.deepEqual(requests.slice(0, 2), ["subscribe", "items"]);
    await sleep(200);

    await spam.xmpp.send(
      xml("message", { from: `early@${SPAM}`, to: `alice@${D}`, id: "e1", type: "chat" }, xml("body", {}, "x")),
    );
    assert.equal(condition(await spam.waitFor(errorFor("e1"))), "policy-violation");
    // A remote stranger not listed gets through (remote: allow).
    await spam.xmpp.send(
      xml("message", { from: `spammer@${SPAM}`, to: `alice@${D}`, id: "s1", type: "chat" }, xml("body", {}, "hi")),
    );
    await alice.waitFor(byId("s1"));

    // Published live: the hashed bare JID (xmppbl.org convention), as a +notify event to the subscribed host.
    const event = (child: XmlElement) =>
      rtbl.xmpp.send(
        xml(
          "message",
          { from: RTBL, to: D, id: `ev${++n}` },
          xml("event", { xmlns: NS_PUBSUB_EVENT }, xml("items", { node: NODE }, child)),
        ),
      );
    await event(xml("item", { id: sha256(`spammer@${SPAM}`) }));
    await sleep(300);
    await spam.xmpp.send(
      xml(
        "message",
        { from: `spammer@${SPAM}`, to: `alice@${D}`, id: "s2", type: "chat" },
        xml("body", {}, "hi again"),
      ),
    );
    assert.equal(condition(await spam.waitFor(errorFor("s2"))), "policy-violation");
    await nothing(alice, byId("s2"), 300);

    // Retracted: delivered again.
    await event(xml("retract", { id: sha256(`spammer@${SPAM}`) }));
    await sleep(300);
    await spam.xmpp.send(
      xml("message", { from: `spammer@${SPAM}`, to: `alice@${D}`, id: "s3", type: "chat" }, xml("body", {}, "back")),
    );
    await alice.waitFor(byId("s3"));
  });
});
