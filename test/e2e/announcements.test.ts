// Announcements and the message of the day as users see them: an admin writes to <host>/announce/...,
// users get a normal message from the host, now or at their next login, once per MOTD version.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { type ConnectedClient, connect, type XmlElement, xml } from "../helpers/xmpp-client.js";

const STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas";
const USERS = ["admin", "alice", "bob", "carol", "dave", "erin", "frank"];

describe("announcements e2e (@xmpp/client)", () => {
  let ts: TestServer;
  const clients: ConnectedClient[] = [];

  /** Round trip to the server: every stanza sent before it has been processed, and all output before the reply read. */
  const sync = async (c: ConnectedClient) => {
    await c.xmpp.iqCaller.request(xml("iq", { type: "get", to: "localhost" }, xml("ping", "urn:xmpp:ping")));
  };

  /** Logs in and sends initial presence, as a client does. */
  const login = async (user: string, resource = "r1"): Promise<ConnectedClient> => {
    const c = await connect(ts, user, `${user}-secret`, { resource });
    clients.push(c);
    await c.xmpp.send(xml("presence"));
    await sync(c);
    return c;
  };

  const fromHost = (c: ConnectedClient): XmlElement[] =>
    c.received.filter((s) => s.is("message") && s.attrs.from === "localhost" && s.attrs.type !== "error");

  const announce = async (c: ConnectedClient, resource: string, body?: string, subject?: string) => {
    const children = [];
    if (subject !== undefined) children.push(xml("subject", {}, subject));
    if (body !== undefined) children.push(xml("body", {}, body));
    await c.xmpp.send(xml("message", { to: `localhost/${resource}`, id: `a-${resource}-${Date.now()}` }, ...children));
    await sync(c);
  };

  const errorFrom = (c: ConnectedClient, resource: string) =>
    c.waitFor((s) => s.is("message") && s.attrs.type === "error" && s.attrs.from === `localhost/${resource}`);

  const stop = async (c: ConnectedClient) => {
    await c.stop();
    clients.splice(clients.indexOf(c), 1);
  };

  before(async () => {
    ts = await startTestServer({ yaml: "admins: [admin@localhost]\nmodules:\n  announcements: true" });
    for (const u of USERS) await ts.addUser(u, `${u}-secret`);
  });

  after(async () => {
    for (const c of clients) await c.stop();
    await ts?.stop();
  });

  it("sends an online announcement to every available user of the host, not to offline ones", async () => {
    const admin = await login("admin");
    const alice = await login("alice");
    const bob = await login("bob");
    await announce(admin, "announce/online", "Maintenance at 22:00", "Heads up");
    for (const c of [alice, bob, admin]) {
      const got = await c.waitFor((s) => s.is("message") && s.attrs.from === "localhost");
      assert.equal(got.attrs.type, "normal");
      assert.equal(got.getChildText("subject"), "Heads up");
      assert.equal(got.getChildText("body"), "Maintenance at 22:00");
    }
    // carol was offline: an online announcement is not kept for her.
    const carol = await login("carol");
    assert.deepEqual(fromHost(carol), []);
    for (const c of [admin, alice, bob, carol]) await stop(c);
  });

  it("refuses announcements from non-admins with forbidden, and sends nothing", async () => {
    const alice = await login("alice");
    const bob = await login("bob");
    await announce(alice, "announce/online", "I am the admin now");
    const err = await errorFrom(alice, "announce/online");
    assert.ok(err.getChild("error")?.getChild("forbidden", STANZAS));
    await announce(alice, "announce/motd", "mine");
    assert.ok((await errorFrom(alice, "announce/motd")).getChild("error")?.getChild("forbidden", STANZAS));
    await sync(bob);
    assert.deepEqual(fromHost(bob), []);
    for (const c of [alice, bob]) await stop(c);
  });

  it("answers item-not-found for an unknown announce address and bad-request for an empty announcement", async () => {
    const admin = await login("admin");
    await announce(admin, "announce/everywhere", "hello");
    assert.ok((await errorFrom(admin, "announce/everywhere")).getChild("error")?.getChild("item-not-found", STANZAS));
    await announce(admin, "announce/online");
    assert.ok((await errorFrom(admin, "announce/online")).getChild("error")?.getChild("bad-request", STANZAS));
    await stop(admin);
  });

  it("sends a new MOTD to users online now and to others once, at their next login", async () => {
    const admin = await login("admin");
    const alice = await login("alice");
    await announce(admin, "announce/motd", "Welcome to Natter", "MOTD");
    const got = await alice.waitFor((s) => s.is("message") && s.attrs.from === "localhost");
    assert.equal(got.getChildText("body"), "Welcome to Natter");
    assert.equal(got.getChildText("subject"), "MOTD");
    await stop(alice);

    // carol was offline: she gets it at login, once.
    let carol = await login("carol");
    assert.deepEqual(
      fromHost(carol).map((m) => m.getChildText("body")),
      ["Welcome to Natter"],
    );
    await stop(carol);
    carol = await login("carol");
    assert.deepEqual(fromHost(carol), []);
    await stop(carol);

    // alice saw it while online: not again at her next login.
    const alice2 = await login("alice", "r2");
    assert.deepEqual(fromHost(alice2), []);
    for (const c of [admin, alice2]) await stop(c);
  });

  it("an updated MOTD is not sent to users online now; each user gets it at next login, once", async () => {
    const admin = await login("admin");
    const alice = await login("alice");
    await announce(admin, "announce/motd/update", "Natter 2 is here");
    await sync(alice);
    assert.deepEqual(fromHost(alice), []);

    // dave never logged in: he gets the new version.
    const dave = await login("dave");
    assert.deepEqual(
      fromHost(dave).map((m) => m.getChildText("body")),
      ["Natter 2 is here"],
    );
    // carol saw the old version: the update is a new version, so she gets it too, once.
    let carol = await login("carol");
    assert.deepEqual(
      fromHost(carol).map((m) => m.getChildText("body")),
      ["Natter 2 is here"],
    );
    await stop(carol);
    carol = await login("carol");
    assert.deepEqual(fromHost(carol), []);
    for (const c of [admin, alice, dave, carol]) await stop(c);
  });

  it("keeps the MOTD and who saw it across a restart", async () => {
    await ts.restart();
    const erin = await login("erin");
    assert.deepEqual(
      fromHost(erin).map((m) => m.getChildText("body")),
      ["Natter 2 is here"],
    );
    const carol = await login("carol");
    assert.deepEqual(fromHost(carol), []);
    for (const c of [erin, carol]) await stop(c);
  });

  it("a deleted MOTD is sent to nobody", async () => {
    const admin = await login("admin");
    await announce(admin, "announce/motd/delete");
    const frank = await login("frank");
    assert.deepEqual(fromHost(frank), []);
    await stop(frank);
    await ts.restart();
    const alice = await login("alice", "r3");
    assert.deepEqual(fromHost(alice), []);
    await stop(alice);
  });
});
