// XEP-0049 Private XML Storage as users see it: store and read private XML, isolation between users,
// the errors the XEP names, and persistence across a restart.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { type ConnectedClient, connect, type XmlElement, xml } from "../helpers/xmpp-client.js";

const NS_PRIVATE = "jabber:iq:private";
const conditionIs = (cond: string) => (err: { condition?: string }) => err.condition === cond;
const query = (...children: XmlElement[]) => xml("query", { xmlns: NS_PRIVATE }, ...children);

describe("private-storage (XEP-0049)", () => {
  let ts: TestServer;
  let alice: ConnectedClient;
  let bob: ConnectedClient;

  const get = async (c: ConnectedClient, child: XmlElement, to?: string) => {
    const res = await c.xmpp.iqCaller.request(xml("iq", { type: "get", ...(to ? { to } : {}) }, query(child)));
    return res.getChild("query", NS_PRIVATE)!;
  };

  before(async () => {
    ts = await startTestServer();
    await ts.addUser("alice", "alice-secret");
    await ts.addUser("bob", "bob-secret");
    alice = await connect(ts, "alice", "alice-secret", { resource: "laptop" });
    bob = await connect(ts, "bob", "bob-secret", { resource: "phone" });
  });

  after(async () => {
    await alice?.stop();
    await bob?.stop();
    await ts?.stop();
  });

  it("advertises jabber:iq:private on the account", async () => {
    const res = await alice.xmpp.iqCaller.request(
      xml("iq", { type: "get", to: "alice@localhost" }, xml("query", "http://jabber.org/protocol/disco#info")),
    );
    const features = res
      .getChild("query")!
      .getChildren("feature")
      .map((f) => f.attrs.var);
    assert.ok(features.includes(NS_PRIVATE));
  });

  it("returns the empty element asked for when nothing is stored", async () => {
    const q = await get(alice, xml("exodus", "exodus:prefs"));
    const el = q.getChild("exodus", "exodus:prefs")!;
    assert.equal(el.children.length, 0);
  });

  it("stores and returns private XML (§2.3 examples), several children in one set", async () => {
    const set = await alice.xmpp.iqCaller.request(
      xml(
        "iq",
        { type: "set" },
        query(
          xml("exodus", { xmlns: "exodus:prefs" }, xml("defaultnick", {}, "Hamlet")),
          xml(
            "storage",
            { xmlns: "storage:bookmarks" },
            xml("conference", { jid: "elsinore@conference.localhost", name: "Elsinore" }),
          ),
        ),
      ),
    );
    assert.equal(set.attrs.type, "result");
    const prefs = (await get(alice, xml("exodus", "exodus:prefs"))).getChild("exodus", "exodus:prefs")!;
    assert.equal(prefs.getChildText("defaultnick"), "Hamlet");
    const marks = (await get(alice, xml("storage", "storage:bookmarks"), "alice@localhost")).getChild(
      "storage",
      "storage:bookmarks",
    )!;
    assert.equal(marks.getChild("conference")!.attrs.name, "Elsinore");
  });

  it("keeps each user's data apart", async () => {
    await bob.xmpp.iqCaller.request(
      xml("iq", { type: "set" }, query(xml("exodus", { xmlns: "exodus:prefs" }, xml("defaultnick", {}, "Bob")))),
    );
    const bobs = (await get(bob, xml("exodus", "exodus:prefs"))).getChild("exodus", "exodus:prefs")!;
    assert.equal(bobs.getChildText("defaultnick"), "Bob");
    const alices = (await get(alice, xml("exodus", "exodus:prefs"))).getChild("exodus", "exodus:prefs")!;
    assert.equal(alices.getChildText("defaultnick"), "Hamlet");
  });

  it("refuses another user's data with forbidden, for get and set (§2.3)", async () => {
    for (const type of ["get", "set"]) {
      await assert.rejects(
        bob.xmpp.iqCaller.request(
          xml(
            "iq",
            { type, to: "alice@localhost" },
            query(xml("exodus", { xmlns: "exodus:prefs" }, xml("defaultnick", {}, "Macbeth"))),
          ),
        ),
        conditionIs("forbidden"),
        type,
      );
    }
    const alices = (await get(alice, xml("exodus", "exodus:prefs"))).getChild("exodus", "exodus:prefs")!;
    assert.equal(alices.getChildText("defaultnick"), "Hamlet");
  });

  it("refuses a query without a child or a child without its own namespace (§2.3, §3)", async () => {
    await assert.rejects(
      alice.xmpp.iqCaller.request(xml("iq", { type: "set" }, query())),
      conditionIs("not-acceptable"),
    );
    await assert.rejects(alice.xmpp.iqCaller.request(xml("iq", { type: "get" }, query())), conditionIs("bad-request"));
    // <prefs/> inside the query inherits jabber:iq:private: no namespace of its own.
    await assert.rejects(
      alice.xmpp.iqCaller.request(xml("iq", { type: "set" }, query(xml("prefs", {}, xml("a", {}, "b"))))),
      conditionIs("not-acceptable"),
    );
  });

  it("keeps the data across a restart", async () => {
    await alice.stop();
    await bob.stop();
    await ts.restart();
    alice = await connect(ts, "alice", "alice-secret", { resource: "laptop" });
    bob = await connect(ts, "bob", "bob-secret", { resource: "phone" });
    const prefs = (await get(alice, xml("exodus", "exodus:prefs"))).getChild("exodus", "exodus:prefs")!;
    assert.equal(prefs.getChildText("defaultnick"), "Hamlet");
    const marks = (await get(alice, xml("storage", "storage:bookmarks"))).getChild("storage", "storage:bookmarks")!;
    assert.equal(marks.getChild("conference")!.attrs.jid, "elsinore@conference.localhost");
  });
});
