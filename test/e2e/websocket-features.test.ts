// Issue 12: "everything a TCP client has works over WebSocket". An @xmpp/client over wss: (RFC 7395) next to
// independent TCP clients, for the features a web client relies on: carbons (XEP-0280), the archive (XEP-0313),
// multi-user chat with history (XEP-0045) and client state indication (XEP-0352). Each assertion is what the
// web user sees; the TCP tests of each feature (carbons, mam, muc, client-state) cover the details.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { type ConnectedClient, connect, type XmlElement, xml } from "../helpers/xmpp-client.js";

const NS_CARBONS = "urn:xmpp:carbons:2";
const NS_FORWARD = "urn:xmpp:forward:0";
const NS_MAM = "urn:xmpp:mam:2";
const NS_DELAY = "urn:xmpp:delay";
const NS_MUC = "http://jabber.org/protocol/muc";
const NS_USER = "http://jabber.org/protocol/muc#user";
const NS_OWNER = "http://jabber.org/protocol/muc#owner";
const NS_XDATA = "jabber:x:data";
const NS_CSI = "urn:xmpp:csi:0";
const MUC = "conference.localhost";

/** A ping round trip: everything the client sent before has been routed. */
async function sync(c: ConnectedClient): Promise<void> {
  await c.xmpp.iqCaller.request(xml("iq", { type: "get", to: "localhost" }, xml("ping", "urn:xmpp:ping")));
}

const chat = (id: string, to: string, body: string) => xml("message", { to, type: "chat", id }, xml("body", {}, body));
const messageWithId = (id: string) => (s: XmlElement) => s.is("message") && s.attrs.id === id;
const settle = () => new Promise((r) => setTimeout(r, 200));

describe("WebSocket clients use carbons, MAM, MUC and CSI (issue 12)", { timeout: 60_000 }, () => {
  let ts: TestServer;
  const clients: ConnectedClient[] = [];

  /** Logs in (over wss: when `web`), sends initial presence and waits until the server has it. */
  async function online(user: string, resource: string, web: boolean): Promise<ConnectedClient> {
    const c = await connect(ts, user, `${user}-secret`, { resource, ...(web ? { websocket: "wss" as const } : {}) });
    clients.push(c);
    await c.xmpp.send(xml("presence"));
    await sync(c);
    return c;
  }

  before(async () => {
    // The archive (mam) and carbons are on by default; nothing to configure.
    ts = await startTestServer();
    for (const u of ["alice", "bob", "carol", "dave"]) await ts.addUser(u, `${u}-secret`);
  });

  after(async () => {
    for (const c of clients) await c.stop();
    await ts?.stop();
  });

  it("carbons (XEP-0280 §7): the WebSocket resource gets a copy of what the TCP resource receives", async () => {
    const web = await online("alice", "web", true);
    const desk = await online("alice", "desk", false);
    const bob = await online("bob", "carbons", false);
    await web.xmpp.iqCaller.request(xml("iq", { type: "set" }, xml("enable", NS_CARBONS)));

    await bob.xmpp.send(chat("c1", "alice@localhost/desk", "to the desk"));
    await desk.waitFor(messageWithId("c1"));
    const copy = await web.waitFor((s) => s.is("message") && s.getChild("received", NS_CARBONS) !== undefined);
    assert.equal(copy.attrs.from, "alice@localhost");
    assert.equal(copy.attrs.to, "alice@localhost/web");
    const inner = copy.getChild("received", NS_CARBONS)?.getChild("forwarded", NS_FORWARD)?.getChild("message");
    assert.equal(inner?.attrs.id, "c1");
    assert.equal(inner?.attrs.from, "bob@localhost/carbons");
    assert.equal(inner?.attrs.to, "alice@localhost/desk");
    assert.equal(inner?.getChildText("body"), "to the desk");

    // And what the TCP resource sends comes to the WebSocket one as <sent/> (§8).
    await desk.xmpp.send(chat("c2", "bob@localhost/carbons", "from the desk"));
    const sent = await web.waitFor(
      (s) => s.getChild("sent", NS_CARBONS)?.getChild("forwarded", NS_FORWARD)?.getChild("message")?.attrs.id === "c2",
    );
    assert.equal(sent.attrs.to, "alice@localhost/web");
    await bob.waitFor(messageWithId("c2"));

    // The WebSocket client leaves (closing its stream) without having acknowledged the copies (XEP-0198): they
    // were for it alone, so they must not come to the desk, which never asked for carbons, as a second copy.
    await web.stop();
    await bob.xmpp.send(chat("c3", "alice@localhost/desk", "marker"));
    await desk.waitFor(messageWithId("c3"));
    await sync(desk);
    const isCarbon = (s: XmlElement) =>
      s.getChild("received", NS_CARBONS) !== undefined || s.getChild("sent", NS_CARBONS) !== undefined;
    assert.deepEqual(
      desk.received.filter(isCarbon).map((s) => s.toString()),
      [],
      "no carbons at a resource that did not enable them",
    );
    for (const c of [desk, bob]) await c.stop();
  });

  it("MAM (XEP-0313 §4): the WebSocket client's archive query returns the messages it exchanged", async () => {
    const web = await online("carol", "web", true);
    const bob = await online("bob", "mam", false);
    await web.xmpp.send(chat("a1", "bob@localhost/mam", "question over WebSocket"));
    await bob.waitFor(messageWithId("a1"));
    await bob.xmpp.send(chat("a2", "carol@localhost/web", "answer over TCP"));
    await web.waitFor(messageWithId("a2"));

    const queryid = "ws-q1";
    const res = await web.xmpp.iqCaller.request(
      xml(
        "iq",
        { type: "set" },
        xml(
          "query",
          { xmlns: NS_MAM, queryid },
          xml(
            "x",
            { xmlns: NS_XDATA, type: "submit" },
            xml("field", { var: "FORM_TYPE", type: "hidden" }, xml("value", {}, NS_MAM)),
            xml("field", { var: "with" }, xml("value", {}, "bob@localhost")),
          ),
        ),
      ),
    );
    assert.equal(res.getChild("fin", NS_MAM)?.attrs.complete, "true");
    const results = web.received.filter(
      (s) => s.is("message") && s.getChild("result", NS_MAM)?.attrs.queryid === queryid,
    );
    const archived = results.map((m) => {
      const fwd = m.getChild("result", NS_MAM)?.getChild("forwarded", NS_FORWARD);
      assert.ok(fwd?.getChild("delay", NS_DELAY)?.attrs.stamp, "each result carries its time");
      const msg = fwd?.getChild("message");
      return { from: msg?.attrs.from, to: msg?.attrs.to, body: msg?.getChildText("body") };
    });
    assert.deepEqual(archived, [
      { from: "carol@localhost/web", to: "bob@localhost/mam", body: "question over WebSocket" },
      { from: "bob@localhost/mam", to: "carol@localhost/web", body: "answer over TCP" },
    ]);
    // The results were for that query alone: when the client leaves without acknowledging them (XEP-0198),
    // they must not come back to the account as offline messages.
    await web.stop();
    const again = await online("carol", "desk", false);
    await sync(again);
    await settle();
    const stray = again.received.filter((s) => s.is("message") && s.getChild("result", NS_MAM) !== undefined);
    assert.deepEqual(
      stray.map((s) => s.toString()),
      [],
      "no archive results outside a query",
    );
    for (const c of [again, bob]) await c.stop();
  });

  it("MUC (XEP-0045): a WebSocket and a TCP occupant exchange groupchat; the WebSocket one gets history on join", async () => {
    const room = `ws-room@${MUC}`;
    const codes = (s: XmlElement) =>
      (s.getChild("x", NS_USER)?.getChildren("status") ?? []).map((c) => Number(c.attrs.code));
    const selfPresence = (nick: string) => (s: XmlElement) =>
      s.is("presence") && s.attrs.from === `${room}/${nick}` && s.attrs.type === undefined && codes(s).includes(110);
    const tcp = await online("dave", "muc", false);
    const web = await online("alice", "muc-web", true);

    // The TCP user creates the room (instant configuration, §10.1.2) and says something before the web user joins.
    await tcp.xmpp.send(xml("presence", { to: `${room}/Dave` }, xml("x", { xmlns: NS_MUC })));
    assert.ok(codes(await tcp.waitFor(selfPresence("Dave"))).includes(201), "a new room");
    await tcp.xmpp.iqCaller.request(
      xml(
        "iq",
        { type: "set", to: room },
        xml("query", { xmlns: NS_OWNER }, xml("x", { xmlns: NS_XDATA, type: "submit" })),
      ),
    );
    await tcp.xmpp.send(xml("message", { to: room, type: "groupchat", id: "h1" }, xml("body", {}, "before you came")));
    await tcp.waitFor(messageWithId("h1"));

    // §7.2.15: the history comes with a delay stamped by the room, before the live messages.
    await web.xmpp.send(xml("presence", { to: `${room}/Alice` }, xml("x", { xmlns: NS_MUC })));
    await web.waitFor(selfPresence("Alice"));
    const history = await web.waitFor(messageWithId("h1"));
    assert.equal(history.attrs.from, `${room}/Dave`);
    assert.equal(history.getChildText("body"), "before you came");
    assert.equal(history.getChild("delay", NS_DELAY)?.attrs.from, room);
    await tcp.waitFor((s) => s.is("presence") && s.attrs.from === `${room}/Alice`);

    await web.xmpp.send(
      xml("message", { to: room, type: "groupchat", id: "g1" }, xml("body", {}, "hello from the browser")),
    );
    const atTcp = await tcp.waitFor(messageWithId("g1"));
    assert.equal(atTcp.attrs.from, `${room}/Alice`);
    assert.equal(atTcp.getChildText("body"), "hello from the browser");
    const echo = await web.waitFor(messageWithId("g1")); // §7.4: the sender gets its own message back
    assert.equal(echo.getChild("delay", NS_DELAY), undefined, "a live message has no delay");

    await tcp.xmpp.send(xml("message", { to: room, type: "groupchat", id: "g2" }, xml("body", {}, "hello from TCP")));
    const atWeb = await web.waitFor(messageWithId("g2"));
    assert.equal(atWeb.attrs.from, `${room}/Dave`);
    assert.equal(atWeb.attrs.type, "groupchat");
    assert.equal(atWeb.getChildText("body"), "hello from TCP");
    for (const c of [web, tcp]) await c.stop();
  });

  it("CSI (XEP-0352): an inactive WebSocket client gets presence updates only when active again", async () => {
    const phone = await online("bob", "csi-web", true);
    const desk = await online("bob", "csi-desk", false);
    const status = (text: string) => xml("presence", {}, xml("status", {}, text));
    const presenceWith = (text: string) => (s: XmlElement) => s.is("presence") && s.getChildText("status") === text;

    await phone.xmpp.send(xml("inactive", NS_CSI));
    await sync(phone);
    const mark = phone.received.length;
    await desk.xmpp.send(status("away-1"));
    await desk.xmpp.send(status("away-2"));
    await sync(desk);
    await settle();
    assert.equal(phone.received.length, mark, "presence updates wait while the client is inactive");

    await phone.xmpp.send(xml("active", NS_CSI));
    await phone.waitFor(presenceWith("away-2"));
    await sync(phone);
    assert.equal(
      phone.received.slice(mark).filter(presenceWith("away-1")).length,
      0,
      "only the latest presence of a resource",
    );

    // A chat message is not held (it is urgent), and comes after the presence held before it.
    await phone.xmpp.send(xml("inactive", NS_CSI));
    await sync(phone);
    const mark2 = phone.received.length;
    await desk.xmpp.send(status("away-3"));
    await sync(desk);
    await settle();
    assert.equal(phone.received.length, mark2);
    await desk.xmpp.send(chat("u1", "bob@localhost/csi-web", "urgent"));
    const msg = await phone.waitFor(messageWithId("u1"));
    const got = phone.received.slice(mark2);
    const p = got.findIndex(presenceWith("away-3"));
    assert.ok(p !== -1 && p < got.indexOf(msg), "what was held comes first");
    for (const c of [phone, desk]) await c.stop();
  });
});
