// External components (XEP-0114) over real sockets: an independent component (@xmpp/component) talks to
// users on @xmpp/client through Natter; raw sockets check what no library would send.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { type Component, component, xml } from "@xmpp/component";
import { NS_STREAM } from "../../src/core/xml/ns.js";
import { handshakeDigest } from "../../src/transports/component/handshake.js";
import { RawClient } from "../helpers/raw-client.js";
import { stanzaInbox } from "../helpers/stanza-inbox.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { type ConnectedClient, connect, type XmlElement } from "../helpers/xmpp-client.js";
import { expectStreamError, parseServerOutput } from "./raw-helpers.js";

const NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas";
const NS_DISCO_INFO = "http://jabber.org/protocol/disco#info";
const NS_DISCO_ITEMS = "http://jabber.org/protocol/disco#items";
const BOT = "bot.localhost";
const BOT_SECRET = "s3cret-bot";
const GATEWAY = "gateway.example";

interface TestComponent {
  xmpp: Component;
  received: XmlElement[];
  waitFor(pred: (s: XmlElement) => boolean, timeoutMs?: number): Promise<XmlElement>;
  /** The stream error the server sent, once it has. */
  streamError: Promise<string>;
  stop(): Promise<void>;
}

function stanzaErrorCondition(el: XmlElement): string | undefined {
  const error = el.getChild("error");
  return error?.children.find((c): c is XmlElement => typeof c !== "string" && c.attrs.xmlns === NS_STANZAS && c.name !== "text")
    ?.name;
}

describe("external components (XEP-0114)", () => {
  let ts: TestServer;
  let alice: ConnectedClient;
  let bob: ConnectedClient;
  const components: TestComponent[] = [];

  before(async () => {
    ts = await startTestServer({
      yaml: [
        "components:",
        `  - { domain: ${BOT}, secret: ${BOT_SECRET} }`,
        `  - { domain: ${GATEWAY}, secret: gateway-secret }`,
      ].join("\n"),
    });
    await ts.addUser("alice", "alice-pw");
    await ts.addUser("bob", "bob-pw");
    alice = await connect(ts, "alice", "alice-pw", { resource: "phone" });
    bob = await connect(ts, "bob", "bob-pw", { resource: "laptop" });
    // Available, so that messages to their bare JIDs are delivered (RFC 6121 §8.5.2.1.1).
    for (const u of [alice, bob]) {
      await u.xmpp.send(xml("presence"));
      await u.xmpp.iqCaller.request(xml("iq", { type: "get", to: "localhost" }, xml("ping", { xmlns: "urn:xmpp:ping" })));
    }
  });
  after(async () => {
    await Promise.all(components.map((c) => c.stop()));
    await alice.stop();
    await bob.stop();
    await ts.stop();
  });

  /** Starts the component's connection; `started` settles with the handshake (or its refusal). */
  function makeComponent(domain: string, secret: string): { c: TestComponent; started: Promise<unknown> } {
    const xmpp = component({ service: `xmpp://127.0.0.1:${ts.componentPort}`, domain, password: secret });
    xmpp.reconnect.stop();
    const inbox = stanzaInbox(xmpp, "the component");
    const streamError = new Promise<string>((resolve) => {
      xmpp.on("error", (err: { name?: string; condition?: string }) => {
        if (err.name === "StreamError" && err.condition) resolve(err.condition);
      });
    });
    const c: TestComponent = {
      xmpp,
      received: inbox.received,
      streamError,
      waitFor: inbox.waitFor,
      async stop() {
        xmpp.reconnect.stop();
        try {
          await xmpp.stop();
        } catch {}
      },
    };
    components.push(c);
    return { c, started: xmpp.start() };
  }

  async function online(domain: string, secret: string): Promise<TestComponent> {
    const { c, started } = makeComponent(domain, secret);
    await started;
    return c;
  }

  /** An echo bot: messages come back to their sender, disco#info names it. */
  async function echoBot(): Promise<TestComponent> {
    const bot = await online(BOT, BOT_SECRET);
    bot.xmpp.iqCallee.get(NS_DISCO_INFO, "query", () =>
      xml(
        "query",
        { xmlns: NS_DISCO_INFO },
        xml("identity", { category: "component", type: "generic", name: "Echo bot" }),
        xml("feature", { var: NS_DISCO_INFO }),
      ),
    );
    bot.xmpp.on("stanza", (s: XmlElement) => {
      if (!s.is("message") || s.attrs.type === "error") return;
      const body = s.getChildText("body") ?? "";
      void bot.xmpp.send(
        xml("message", { from: s.attrs.to, to: s.attrs.from, type: "chat", id: `re-${s.attrs.id}` }, xml("body", {}, `echo: ${body}`)),
      );
    });
    return bot;
  }

  /** Resolves once the server has noticed the component's connection is gone. */
  async function serverSawDisconnect(domain: string, already: number): Promise<void> {
    const seen = () => ts.logs.filter((l) => l.msg === "component disconnected; its domain answers service-unavailable until it returns" && l.domain === domain).length;
    for (let i = 0; i < 200 && seen() <= already; i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(seen() > already, "the server noticed the component left");
  }
  const disconnects = (domain: string) =>
    ts.logs.filter((l) => l.msg === "component disconnected; its domain answers service-unavailable until it returns" && l.domain === domain).length;

  const id = () => `c-${randomBytes(4).toString("hex")}`;

  test("a bot component answers a user's message and disco#info query", async () => {
    const bot = await echoBot();
    assert.equal(bot.xmpp.jid?.toString(), BOT);
    const mid = id();
    await alice.xmpp.send(xml("message", { to: `echo@${BOT}`, type: "chat", id: mid }, xml("body", {}, "hello")));
    // The component sees the user's full JID as the sender.
    const got = await bot.waitFor((s) => s.attrs.id === mid);
    assert.equal(got.attrs.from, alice.jid);
    assert.equal(got.attrs.to, `echo@${BOT}`);
    const reply = await alice.waitFor((s) => s.attrs.id === `re-${mid}`);
    assert.equal(reply.attrs.from, `echo@${BOT}`);
    assert.equal(reply.getChildText("body"), "echo: hello");

    const info = await alice.xmpp.iqCaller.request(xml("iq", { type: "get", to: BOT }, xml("query", { xmlns: NS_DISCO_INFO })));
    assert.equal(info.attrs.from, BOT);
    assert.equal(info.getChild("query", NS_DISCO_INFO)?.getChild("identity")?.attrs.name, "Echo bot");
    await bot.stop();
  });

  test("a component sends to a local user as its domain or any address at it", async () => {
    const before = disconnects(BOT);
    const bot = await online(BOT, BOT_SECRET);
    const m1 = id();
    // Without `from`, @xmpp/component stamps the component's domain.
    await bot.xmpp.send(xml("message", { to: "alice@localhost", type: "chat", id: m1 }, xml("body", {}, "news")));
    const got = await alice.waitFor((s) => s.attrs.id === m1);
    assert.equal(got.attrs.from, BOT);
    assert.equal(got.getChildText("body"), "news");
    const m2 = id();
    await bot.xmpp.send(xml("message", { from: `Weather@${BOT}/station`, to: bob.jid, type: "chat", id: m2 }, xml("body", {}, "rain")));
    const got2 = await bob.waitFor((s) => s.attrs.id === m2);
    assert.equal(got2.attrs.from, `weather@${BOT}/station`);
    // A query to a user's server is answered back to the component (it is routed like any other stanza).
    const pong = await bot.xmpp.iqCaller.request(xml("iq", { type: "get", to: "localhost" }, xml("ping", { xmlns: "urn:xmpp:ping" })));
    assert.equal(pong.attrs.type, "result");
    await bot.stop();
    await serverSawDisconnect(BOT, before);
  });

  test("the host's disco#items lists a component domain under it", async () => {
    const items = await alice.xmpp.iqCaller.request(xml("iq", { type: "get", to: "localhost" }, xml("query", { xmlns: NS_DISCO_ITEMS })));
    const jids = items.getChild("query", NS_DISCO_ITEMS)?.getChildren("item").map((i) => i.attrs.jid) ?? [];
    assert.ok(jids.includes(BOT), `${BOT} in ${jids.join(", ")}`);
    assert.ok(!jids.includes(GATEWAY), "a domain that is not under the host is not listed");
  });

  test("a wrong secret is refused with not-authorized", async () => {
    const { c, started } = makeComponent(BOT, "not-the-secret");
    await assert.rejects(started, (err: { condition?: string }) => err.condition === "not-authorized");
    assert.equal(await c.streamError, "not-authorized");
    // Nothing was attached: a user's message still finds no component.
    const mid = id();
    await alice.xmpp.send(xml("message", { to: BOT, type: "chat", id: mid }, xml("body", {}, "anyone?")));
    const bounce = await alice.waitFor((s) => s.attrs.id === mid && s.attrs.type === "error");
    assert.equal(stanzaErrorCondition(bounce), "service-unavailable");
  });

  test("an unknown domain is refused with host-unknown", async () => {
    const { c, started } = makeComponent("nobody.localhost", "whatever");
    await assert.rejects(started);
    assert.equal(await c.streamError, "host-unknown");
  });

  test("a second connection for a connected domain gets conflict; the first keeps serving", async () => {
    const first = await echoBot();
    const { c, started } = makeComponent(BOT, BOT_SECRET);
    await assert.rejects(started);
    assert.equal(await c.streamError, "conflict");
    const mid = id();
    await alice.xmpp.send(xml("message", { to: BOT, type: "chat", id: mid }, xml("body", {}, "still there?")));
    await alice.waitFor((s) => s.attrs.id === `re-${mid}`);
    const before = disconnects(BOT);
    await first.stop();
    await serverSawDisconnect(BOT, before);
  });

  test("a forged from (another domain) ends the stream with invalid-from and is not routed", async () => {
    const gw = await online(GATEWAY, "gateway-secret");
    const forged = id();
    await gw.xmpp.send(xml("message", { from: "alice@localhost", to: bob.jid, type: "chat", id: forged }, xml("body", {}, "forged")));
    assert.equal(await gw.streamError, "invalid-from");
    // Stanzas of one stream are handled in order: had the forged one been routed, it would be at bob already.
    const marker = id();
    await alice.xmpp.send(xml("message", { to: bob.jid, type: "chat", id: marker }, xml("body", {}, "marker")));
    await bob.waitFor((s) => s.attrs.id === marker);
    assert.ok(!bob.received.some((s) => s.attrs.id === forged));
    await gw.stop();
  });

  test("a stanza without 'to' ends the stream with improper-addressing", async () => {
    const gw = await online(GATEWAY, "gateway-secret");
    await gw.xmpp.send(xml("message", { type: "chat" }, xml("body", {}, "to nobody")));
    assert.equal(await gw.streamError, "improper-addressing");
    await gw.stop();
  });

  test("while the component is away users get service-unavailable; it serves again once back", async () => {
    const before = disconnects(BOT);
    const bot = await echoBot();
    await bot.stop();
    await serverSawDisconnect(BOT, before);
    const mid = id();
    await alice.xmpp.send(xml("message", { to: `echo@${BOT}`, type: "chat", id: mid }, xml("body", {}, "hello?")));
    const bounce = await alice.waitFor((s) => s.attrs.id === mid && s.attrs.type === "error");
    assert.equal(bounce.attrs.from, `echo@${BOT}`);
    assert.equal(stanzaErrorCondition(bounce), "service-unavailable");
    await assert.rejects(
      alice.xmpp.iqCaller.request(xml("iq", { type: "get", to: BOT }, xml("query", { xmlns: NS_DISCO_INFO }))),
      (err: { condition?: string }) => err.condition === "service-unavailable",
    );
    const back = await echoBot();
    const again = id();
    await alice.xmpp.send(xml("message", { to: BOT, type: "chat", id: again }, xml("body", {}, "back?")));
    await alice.waitFor((s) => s.attrs.id === `re-${again}`);
    await back.stop();
  });
});

describe("component stream rules on a raw socket (XEP-0114 §3)", () => {
  let ts: TestServer;
  let alice: ConnectedClient;

  before(async () => {
    ts = await startTestServer({ yaml: `components:\n  - { domain: ${BOT}, secret: ${BOT_SECRET} }` });
    await ts.addUser("alice", "alice-pw");
    alice = await connect(ts, "alice", "alice-pw");
  });
  after(async () => {
    await alice.stop();
    await ts.stop();
  });

  const header = (ns: string, to: string) => `<?xml version='1.0'?><stream:stream xmlns='${ns}' xmlns:stream='${NS_STREAM}' to='${to}'>`;

  test("the handshake is SHA-1(stream id + secret); success is an empty <handshake/>", async () => {
    const raw = await RawClient.connect(ts.componentPort as number);
    raw.send(header("jabber:component:accept", BOT));
    const [, streamId] = (await raw.waitFor(/<stream:stream[^>]* id='([^']+)'/)) as RegExpMatchArray;
    const out = parseServerOutput(raw.data);
    assert.equal(out.header?.from, BOT);
    raw.send(`<handshake>${handshakeDigest(streamId as string, BOT_SECRET)}</handshake>`);
    await raw.waitFor(/<handshake\/>/);
    const mid = `raw-${randomBytes(3).toString("hex")}`;
    raw.send(`<message from='${BOT}' to='${alice.jid}' id='${mid}'><body>raw</body></message>`);
    const got = await alice.waitFor((s) => s.attrs.id === mid);
    assert.equal(got.getChildText("body"), "raw");
    raw.send("</stream:stream>");
    await raw.closed;
  });

  test("a stanza before the handshake gets not-authorized and is not routed", async () => {
    const raw = await RawClient.connect(ts.componentPort as number);
    raw.send(header("jabber:component:accept", BOT));
    await raw.waitFor(/<stream:stream/);
    const mid = `early-${randomBytes(3).toString("hex")}`;
    raw.send(`<message from='${BOT}' to='${alice.jid}' id='${mid}'><body>too early</body></message>`);
    await expectStreamError(ts, raw, "not-authorized");
    // A ping after it comes back first: the early message went nowhere.
    await alice.xmpp.iqCaller.request(xml("iq", { type: "get", to: "localhost" }, xml("ping", { xmlns: "urn:xmpp:ping" })));
    assert.ok(!alice.received.some((s) => s.attrs.id === mid));
  });

  test("a jabber:client stream on the component port gets invalid-namespace", async () => {
    const raw = await RawClient.connect(ts.componentPort as number);
    raw.send(header("jabber:client", BOT));
    await expectStreamError(ts, raw, "invalid-namespace");
  });

  test("shutdown ends a component's stream with system-shutdown; after a restart it connects again", async () => {
    const authenticate = async (): Promise<RawClient> => {
      const raw = await RawClient.connect(ts.componentPort as number);
      raw.send(header("jabber:component:accept", BOT));
      const [, streamId] = (await raw.waitFor(/<stream:stream[^>]* id='([^']+)'/)) as RegExpMatchArray;
      raw.send(`<handshake>${handshakeDigest(streamId as string, BOT_SECRET)}</handshake>`);
      await raw.waitFor(/<handshake\/>/);
      return raw;
    };
    const raw = await authenticate();
    await alice.stop();
    await ts.restart();
    await raw.closed;
    assert.match(raw.data, /<system-shutdown xmlns="urn:ietf:params:xml:ns:xmpp-streams"\/>[\s\S]*<\/stream:stream>$/);
    const again = await authenticate();
    alice = await connect(ts, "alice", "alice-pw");
    const mid = `back-${randomBytes(3).toString("hex")}`;
    again.send(`<message from='${BOT}' to='${alice.jid}' id='${mid}'><body>back</body></message>`);
    await alice.waitFor((s) => s.attrs.id === mid);
    again.send("</stream:stream>");
    await again.closed;
  });
});
