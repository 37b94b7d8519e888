// XEP-0357 push notifications over real sockets. The App Server is an independent @xmpp/client logged in as
// push@localhost/appserver that answers the server's pubsub publishes; users enable it for their account,
// and messages they cannot receive live (session detached under XEP-0198, or no session at all) reach it
// as a summary form from the user's bare JID.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type RawClient, STREAM_OPEN } from "../helpers/raw-client.js";
import { type TestServer, startTestServer } from "../helpers/test-server.js";
import { type ConnectedClient, type XmlElement, connect, xml } from "../helpers/xmpp-client.js";
import { FEATURES_END, plainAuth, rawLogin, rawTls, stanzaErrorCondition, waitForElement, withTimeout } from "./raw-helpers.js";

const NS_PUSH = "urn:xmpp:push:0";
const NS_PUBSUB = "http://jabber.org/protocol/pubsub";
const NS_SM = "urn:xmpp:sm:3";
const NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas";
const APP_SERVER = "push@localhost/appserver";

interface IqCallee {
  set(ns: string, name: string, handler: (ctx: { stanza: XmlElement }) => XmlElement | true): void;
}

interface AppServer {
  client: ConnectedClient;
  publishes: XmlElement[];
  /** How the App Server answers the next publishes. */
  answer: "result" | "item-not-found" | "resource-constraint";
  waitForPublish(node: string, count: number, timeoutMs?: number): Promise<XmlElement>;
}

async function startAppServer(ts: TestServer): Promise<AppServer> {
  const client = await connect(ts, "push", "push-pw", { resource: "appserver" });
  const app: AppServer = {
    client,
    publishes: [],
    answer: "result",
    async waitForPublish(node, count, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const list = app.publishes.filter((p) => publishNode(p) === node);
        if (list.length >= count) return list[count - 1] as XmlElement;
        if (Date.now() > deadline) throw new Error(`timed out waiting for publish #${count} to ${node}; got ${list.length}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
  // xmpp.js answers what a handler returns: true → an empty result, an <error/> → an error reply.
  const callee = (client.xmpp as unknown as { iqCallee: IqCallee }).iqCallee;
  callee.set(NS_PUBSUB, "pubsub", (ctx) => {
    app.publishes.push(ctx.stanza);
    if (app.answer === "result") return true;
    const type = app.answer === "resource-constraint" ? "wait" : "cancel";
    return xml("error", { type }, xml(app.answer, NS_STANZAS));
  });
  return app;
}

function publishNode(iq: XmlElement): string | undefined {
  return iq.getChild("pubsub", NS_PUBSUB)?.getChild("publish")?.attrs.node;
}

/** The fields of a data form as var → values. */
function formFields(x: XmlElement | undefined): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const f of x?.getChildren("field") ?? []) out[f.attrs.var] = f.getChildren("value").map((v: XmlElement) => v.getText());
  return out;
}

function summaryOf(iq: XmlElement): Record<string, string[]> {
  const notification = iq.getChild("pubsub", NS_PUBSUB)?.getChild("publish")?.getChild("item")?.getChild("notification", NS_PUSH);
  return formFields(notification?.getChild("x", "jabber:x:data"));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function rawIq(rc: RawClient, id: string, payload: string, to?: string) {
  rc.send(`<iq type='set' id='${id}'${to ? ` to='${to}'` : ""}>${payload}</iq>`);
  return waitForElement(rc, (el) => el.name === "iq" && el.attrs.id === id);
}

/** A stream-managed raw session with resumption; returns the resumption id. */
async function enableSm(rc: RawClient): Promise<string> {
  rc.send(`<enable xmlns='${NS_SM}' resume='true'/>`);
  const enabled = await waitForElement(rc, (el) => el.name === "enabled" && el.ns === NS_SM);
  return enabled.attrs.id ?? "";
}

async function waitForDetached(ts: TestServer, jid: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!ts.logs.some((l) => l.msg === "connection lost; session kept for resumption" && l.jid === jid)) {
    if (Date.now() > deadline) throw new Error(`${jid} was not detached`);
    await sleep(20);
  }
  ts.logs.length = 0; // a later detach of the same JID is seen afresh
}

async function resume(ts: TestServer, user: string, previd: string, h: number): Promise<RawClient> {
  const rc = await rawTls(ts);
  rc.send(plainAuth(user, `${user}-pw`));
  await rc.waitFor(/<success/);
  rc.data = "";
  rc.send(STREAM_OPEN(ts.domain));
  await rc.waitFor(FEATURES_END);
  rc.send(`<resume xmlns='${NS_SM}' previd='${previd}' h='${h}'/>`);
  await waitForElement(rc, (el) => el.name === "resumed" && el.ns === NS_SM);
  return rc;
}

const enableXml = (node: string, secret?: string) =>
  `<enable xmlns='${NS_PUSH}' jid='${APP_SERVER}' node='${node}'>${
    secret === undefined
      ? ""
      : "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>http://jabber.org/protocol/pubsub#publish-options</value></field>" +
        `<field var='secret'><value>${secret}</value></field></x>`
  }</enable>`;

describe("push notifications (XEP-0357)", () => {
  let ts: TestServer;
  let app: AppServer;
  let bob: ConnectedClient;

  before(async () => {
    ts = await startTestServer({ c2s: ["stream_management: { resume_timeout: 60 }"] });
    for (const u of ["alice", "bob", "carol", "dave", "erin", "frank", "push"]) await ts.addUser(u, `${u}-pw`);
    app = await startAppServer(ts);
    bob = await connect(ts, "bob", "bob-pw", { resource: "desk" });
  });

  after(async () => {
    await bob?.stop();
    await app?.client.stop();
    await ts?.stop();
  });

  const say = (to: string, body: string, id = body) => bob.xmpp.send(xml("message", { to, type: "chat", id }, xml("body", {}, body)));

  test("disco: the account advertises urn:xmpp:push:0 (§4.1)", async () => {
    const { rc } = await rawLogin(ts, "frank", "frank-pw", "disco");
    rc.send(`<iq type='get' id='d1' to='frank@localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`);
    const reply = await waitForElement(rc, (el) => el.name === "iq" && el.attrs.id === "d1");
    const features = reply.getChild("query", "http://jabber.org/protocol/disco#info")?.getChildren("feature").map((f) => f.attrs.var);
    assert.ok(features?.includes(NS_PUSH), `features: ${features?.join(" ")}`);
    rc.destroy();
  });

  test("detached under stream management: pushes with the summary and publish-options; none once resumed; none after disable", async () => {
    const { rc, jid } = await rawLogin(ts, "alice", "alice-pw", "phone");
    const enabled = await rawIq(rc, "e1", enableXml("abc", "s3cr3t"));
    assert.equal(enabled.attrs.type, "result");
    const previd = await enableSm(rc);
    rc.send("<presence/>");
    await waitForElement(rc, (el) => el.name === "presence");

    // Attached: messages arrive live, nothing is pushed.
    await say("alice@localhost", "live");
    await waitForElement(rc, (el) => el.name === "message" && el.attrs.id === "live");
    rc.send(`<a xmlns='${NS_SM}' h='2'/>`);
    await sleep(300);
    assert.equal(app.publishes.filter((p) => publishNode(p) === "abc").length, 0, "no push while attached");

    rc.destroy();
    await waitForDetached(ts, jid);
    await say("alice@localhost", "are you there?", "away-1");
    const first = await app.waitForPublish("abc", 1);
    assert.equal(first.attrs.from, "alice@localhost", "published from the user's bare JID (§7)");
    assert.deepEqual(summaryOf(first), {
      FORM_TYPE: ["urn:xmpp:push:summary"],
      "message-count": ["1"],
      "last-message-sender": ["bob@localhost"],
    });
    assert.equal(first.getChild("pubsub", NS_PUBSUB)?.getChild("publish")?.getChild("item")?.getChild("notification", NS_PUSH)?.getChild("x")?.attrs.type, "submit");
    const options = formFields(first.getChild("pubsub", NS_PUBSUB)?.getChild("publish-options")?.getChild("x", "jabber:x:data"));
    assert.deepEqual(options, { FORM_TYPE: ["http://jabber.org/protocol/pubsub#publish-options"], secret: ["s3cr3t"] });

    await say(jid, "hello?", "away-2"); // a full JID: the detached session itself
    const second = await app.waitForPublish("abc", 2);
    assert.equal(summaryOf(second)["message-count"]?.[0], "2", "messages pending since the device was last reached");

    // Resumed: the held messages come, and the next one arrives live without a push.
    const rc2 = await resume(ts, "alice", previd, 2);
    await waitForElement(rc2, (el) => el.name === "message" && el.attrs.id === "away-2");
    await say("alice@localhost", "welcome back", "back");
    await waitForElement(rc2, (el) => el.name === "message" && el.attrs.id === "back");
    await sleep(300);
    assert.equal(app.publishes.filter((p) => publishNode(p) === "abc").length, 2, "no push once resumed");

    // §6: disabled, the service gets nothing more even while the session is detached again.
    const disabled = await rawIq(rc2, "d1", `<disable xmlns='${NS_PUSH}' jid='${APP_SERVER}' node='abc'/>`);
    assert.equal(disabled.attrs.type, "result");
    rc2.destroy();
    await waitForDetached(ts, jid);
    await say("alice@localhost", "gone?", "after-disable");
    await sleep(500);
    assert.equal(app.publishes.filter((p) => publishNode(p) === "abc").length, 2, "no push after disable");
  });

  test("a message the client never acknowledged is pushed when its connection drops", async () => {
    const { rc, jid } = await rawLogin(ts, "erin", "erin-pw", "tunnel");
    await rawIq(rc, "e1", enableXml("erin-node"));
    await enableSm(rc);
    rc.send("<presence/>");
    await waitForElement(rc, (el) => el.name === "presence");
    await say("erin@localhost", "into the tunnel", "unacked");
    await waitForElement(rc, (el) => el.name === "message" && el.attrs.id === "unacked");
    await sleep(200);
    assert.equal(app.publishes.filter((p) => publishNode(p) === "erin-node").length, 0);
    rc.destroy(); // never acknowledged
    await waitForDetached(ts, jid);
    const push = await app.waitForPublish("erin-node", 1);
    assert.equal(summaryOf(push)["message-count"]?.[0], "1");
    assert.equal(summaryOf(push)["last-message-sender"]?.[0], "bob@localhost");
  });

  test("@xmpp/client: the phone's TCP connection dies and stream management keeps the session; the push arrives", async () => {
    const phone = await connect(ts, "dave", "dave-pw", { resource: "phone" });
    try {
      // xmpp.js is online once bound; its <enable/> is answered just after.
      await withTimeout(
        (async () => {
          while (!phone.xmpp.streamManagement.enabled) await sleep(10);
        })(),
        3000,
        "xmpp.js to enable stream management",
      );
      await phone.xmpp.iqCaller.request(xml("iq", { type: "set" }, xml("enable", { xmlns: NS_PUSH, jid: APP_SERVER, node: "dave-phone" })));
      await phone.xmpp.send(xml("presence"));
      await sleep(200);
      phone.xmpp.reconnect.stop();
      phone.xmpp.socket!.socket!.destroy();
      await waitForDetached(ts, "dave@localhost/phone");
      await say("dave@localhost", "ring ring", "dave-1");
      const push = await app.waitForPublish("dave-phone", 1);
      assert.equal(push.attrs.from, "dave@localhost");
      assert.equal(summaryOf(push)["last-message-sender"]?.[0], "bob@localhost");
    } finally {
      await phone.stop();
    }
  });

  test("no session at all: the message goes to offline storage and the remembered registration is pushed, also after a restart", async () => {
    const carol = await connect(ts, "carol", "carol-pw", { resource: "phone" });
    await carol.xmpp.iqCaller.request(xml("iq", { type: "set" }, xml("enable", { xmlns: NS_PUSH, jid: APP_SERVER, node: "carol-phone" })));
    await carol.stop();
    await sleep(200);
    await say("carol@localhost", "offline one", "carol-1");
    const push = await app.waitForPublish("carol-phone", 1);
    assert.equal(summaryOf(push)["last-message-sender"]?.[0], "bob@localhost");
    assert.equal(summaryOf(push)["last-message-body"], undefined, "no bodies by default (§9)");

    await bob.stop();
    await app.client.stop();
    await ts.restart();
    app = await startAppServer(ts);
    bob = await connect(ts, "bob", "bob-pw", { resource: "desk" });
    await say("carol@localhost", "after the restart", "carol-2");
    const again = await app.waitForPublish("carol-phone", 1);
    assert.equal(summaryOf(again)["last-message-sender"]?.[0], "bob@localhost");

    // The stored messages are all there when carol comes back, and delivering them pushes nothing.
    const back = await connect(ts, "carol", "carol-pw", { resource: "phone" });
    try {
      await back.xmpp.send(xml("presence"));
      await back.waitFor((s) => s.attrs.id === "carol-2");
      await sleep(300);
      assert.equal(app.publishes.filter((p) => publishNode(p) === "carol-phone").length, 1);
    } finally {
      await back.stop();
    }
  });

  test("an App Server that answers with an error loses the registration (§7.1); one that says wait keeps it", async () => {
    const frank = await connect(ts, "frank", "frank-pw", { resource: "phone" });
    await frank.xmpp.iqCaller.request(xml("iq", { type: "set" }, xml("enable", { xmlns: NS_PUSH, jid: APP_SERVER, node: "frank-phone" })));
    await frank.stop();
    await sleep(200);
    try {
      app.answer = "resource-constraint";
      await say("frank@localhost", "busy?", "frank-1");
      await app.waitForPublish("frank-phone", 1);
      await sleep(200);
      app.answer = "item-not-found";
      await say("frank@localhost", "still there?", "frank-2");
      await app.waitForPublish("frank-phone", 2);
      await withTimeout(
        (async () => {
          while (!ts.logs.some((l) => typeof l.msg === "string" && l.msg.includes("registration disabled"))) await sleep(20);
        })(),
        5000,
        "the registration to be disabled",
      );
      app.answer = "result";
      await say("frank@localhost", "hello?", "frank-3");
      await sleep(500);
      assert.equal(app.publishes.filter((p) => publishNode(p) === "frank-phone").length, 2, "no publish after the error");
    } finally {
      app.answer = "result";
    }
  });

  test("protocol errors: no node, a foreign form, a jid that is no JID, another account's registrations", async () => {
    const { rc } = await rawLogin(ts, "frank", "frank-pw", "errors");
    const noNode = await rawIq(rc, "x1", `<enable xmlns='${NS_PUSH}' jid='${APP_SERVER}'/>`);
    assert.equal(stanzaErrorCondition(noNode), "bad-request");
    const badForm = await rawIq(
      rc,
      "x2",
      `<enable xmlns='${NS_PUSH}' jid='${APP_SERVER}' node='n'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>urn:example</value></field></x></enable>`,
    );
    assert.equal(stanzaErrorCondition(badForm), "bad-request");
    const noJid = await rawIq(rc, "x3", `<disable xmlns='${NS_PUSH}'/>`);
    assert.equal(stanzaErrorCondition(noJid), "bad-request");
    const badJid = await rawIq(rc, "x4", `<enable xmlns='${NS_PUSH}' jid='@bad@' node='n'/>`);
    assert.equal(stanzaErrorCondition(badJid), "jid-malformed");
    const foreign = await rawIq(rc, "x5", enableXml("stolen"), "bob@localhost");
    assert.equal(stanzaErrorCondition(foreign), "forbidden");
    rc.destroy();
  });
});
