// XEP-0198 over real sockets: a phone whose connection drops loses nothing. @xmpp/client (independent)
// resumes by itself; raw streams check the protocol's edges (counts, unknown ids, expiry, early enable).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { RawClient } from "../helpers/raw-client.js";
import { type TestServer, startTestServer } from "../helpers/test-server.js";
import { connect, xml } from "../helpers/xmpp-client.js";
import { expectStreamError, rawAuthenticated as authenticated, rawLogin, waitForElement, withTimeout } from "./raw-helpers.js";

const NS_SM = "urn:xmpp:sm:3";

async function enable(rc: RawClient, resume = true): Promise<string> {
  rc.send(`<enable xmlns='${NS_SM}'${resume ? " resume='true'" : ""}/>`);
  const enabled = await waitForElement(rc, (el) => el.name === "enabled" && el.ns === NS_SM);
  return enabled.attrs.id ?? "";
}


describe("stream management (XEP-0198)", () => {
  let ts: TestServer;

  before(async () => {
    ts = await startTestServer({ c2s: ["stream_management: { resume_timeout: 3 }"] });
    for (const u of ["alice", "bob", "carol"]) await ts.addUser(u, `${u}-pw`);
  });

  after(async () => {
    await ts?.stop();
  });

  test("the feature is offered after authentication", async () => {
    const rc = await authenticated(ts, "carol", "carol-pw");
    assert.match(rc.data, /<sm xmlns="urn:xmpp:sm:3"\/>/);
    rc.destroy();
  });

  test("@xmpp/client: the TCP connection dies mid-conversation, the client resumes, nothing is lost", async () => {
    const alice = await connect(ts, "alice", "alice-pw", { resource: "phone", reconnect: true });
    const bob = await connect(ts, "bob", "bob-pw", { resource: "desk" });
    try {
      assert.equal(alice.xmpp.streamManagement.enabled, true, "xmpp.js enabled stream management");
      await bob.xmpp.send(xml("message", { to: alice.jid, type: "chat", id: "before" }, xml("body", {}, "one")));
      await alice.waitFor((s) => s.attrs.id === "before");
      const resumed = new Promise<void>((resolve) => alice.xmpp.streamManagement.once("resumed", () => resolve()));
      alice.xmpp.socket!.socket!.destroy();
      // While alice is away, bob keeps talking; the server holds the messages for her session.
      for (const id of ["away-1", "away-2", "away-3"]) {
        await bob.xmpp.send(xml("message", { to: alice.jid, type: "chat", id }, xml("body", {}, id)));
      }
      await withTimeout(resumed, 10_000, "xmpp.js to resume the session");
      for (const id of ["away-1", "away-2", "away-3"]) {
        const got = await alice.waitFor((s) => s.attrs.id === id, 8000);
        assert.equal(got.getChildText("body"), id);
      }
      // The same session: same JID, and bob's later messages still arrive.
      assert.equal(alice.xmpp.jid?.toString(), "alice@localhost/phone");
      await bob.xmpp.send(xml("message", { to: alice.jid, type: "chat", id: "after" }, xml("body", {}, "back")));
      await alice.waitFor((s) => s.attrs.id === "after");
      assert.ok(ts.logs.some((l) => l.msg === "session resumed" && l.jid === "alice@localhost/phone"));
    } finally {
      await alice.stop();
      await bob.stop();
    }
  });

  test("raw: <r/> is answered with the count handled, unacked stanzas are resent on resume after h", async () => {
    const { rc, jid } = await rawLogin(ts, "carol", "carol-pw", "raw");
    const id = await enable(rc);
    assert.ok(id.length >= 16, "an unguessable resumption id");
    rc.send("<presence/>");
    rc.send(`<r xmlns='${NS_SM}'/>`);
    const a = await waitForElement(rc, (el) => el.name === "a" && el.ns === NS_SM);
    assert.equal(a.attrs.h, "1");
    const bob = await connect(ts, "bob", "bob-pw", { resource: "raw-test" });
    try {
      for (const n of [1, 2, 3]) {
        await bob.xmpp.send(xml("message", { to: jid, type: "chat", id: `m${n}` }, xml("body", {}, `m${n}`)));
      }
      await waitForElement(rc, (el) => el.name === "message" && el.attrs.id === "m3");
      rc.destroy();
      await rc.closed;
      // The client saw the presence echo and m1 (h=2 of what the server sent): m2 and m3 come again.
      const rc2 = await authenticated(ts, "carol", "carol-pw");
      const sent = (rc.data.match(/<(message|presence)\b/g) ?? []).length;
      assert.ok(sent >= 4, `the server had sent ${sent} stanzas`);
      const h = sent - 2;
      rc2.send(`<resume xmlns='${NS_SM}' previd='${id}' h='${h}'/>`);
      const resumed = await waitForElement(rc2, (el) => el.name === "resumed" && el.ns === NS_SM);
      assert.equal(resumed.attrs.previd, id);
      assert.equal(resumed.attrs.h, "1", "the server handled the one presence");
      await waitForElement(rc2, (el) => el.name === "message" && el.attrs.id === "m3");
      const ids = [...rc2.data.matchAll(/<message[^>]* id="(m\d)"/g)].map((m) => m[1]);
      assert.deepEqual(ids, ["m2", "m3"]);
      rc2.destroy();
    } finally {
      await bob.stop();
    }
  });

  test("raw: an unknown resumption id gets <failed><item-not-found/></failed> and the stream stays usable", async () => {
    const rc = await authenticated(ts, "carol", "carol-pw");
    rc.send(`<resume xmlns='${NS_SM}' previd='no-such-session' h='0'/>`);
    const failed = await waitForElement(rc, (el) => el.name === "failed" && el.ns === NS_SM);
    assert.ok(failed.getChild("item-not-found", "urn:ietf:params:xml:ns:xmpp-stanzas"));
    rc.send(`<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>`);
    await rc.waitFor(/<jid>carol@localhost\//);
    rc.destroy();
  });

  test("raw: enable before binding is refused (§3)", async () => {
    const rc = await authenticated(ts, "carol", "carol-pw");
    rc.send(`<enable xmlns='${NS_SM}'/>`);
    const failed = await waitForElement(rc, (el) => el.name === "failed" && el.ns === NS_SM);
    assert.ok(failed.getChild("unexpected-request", "urn:ietf:params:xml:ns:xmpp-stanzas"));
    rc.destroy();
  });

  test("raw: acknowledging more than was sent ends the stream with handled-count-too-high (§4)", async () => {
    const { rc } = await rawLogin(ts, "carol", "carol-pw", "greedy");
    await enable(rc, false);
    rc.send(`<a xmlns='${NS_SM}' h='5'/>`);
    const error = await expectStreamError(ts, rc, "undefined-condition");
    assert.ok(error.getChild("handled-count-too-high", NS_SM));
  });

  test("raw: after the resumption time runs out the session is gone and its unacked message waits offline", async () => {
    const { rc, jid } = await rawLogin(ts, "alice", "alice-pw", "expiring");
    const id = await enable(rc);
    rc.send("<presence/>");
    await waitForElement(rc, (el) => el.name === "presence");
    const bob = await connect(ts, "bob", "bob-pw", { resource: "expiry-test" });
    try {
      rc.destroy();
      await rc.closed;
      await bob.xmpp.send(xml("message", { to: jid, type: "chat", id: "while-away" }, xml("body", {}, "are you there?")));
      await new Promise((r) => setTimeout(r, 4500));
      const rc2 = await authenticated(ts, "alice", "alice-pw");
      rc2.send(`<resume xmlns='${NS_SM}' previd='${id}' h='0'/>`);
      const failed = await waitForElement(rc2, (el) => el.name === "failed" && el.ns === NS_SM);
      assert.ok(failed.getChild("item-not-found", "urn:ietf:params:xml:ns:xmpp-stanzas"));
      rc2.destroy();
      // Nothing lost: the message went to offline storage and arrives at the next login, with a delay stamp.
      const alice = await connect(ts, "alice", "alice-pw", { resource: "laptop" });
      try {
        await alice.xmpp.send(xml("presence"));
        const got = await alice.waitFor((s) => s.attrs.id === "while-away");
        assert.equal(got.getChildText("body"), "are you there?");
        assert.ok(got.getChild("delay", "urn:xmpp:delay"));
      } finally {
        await alice.stop();
      }
    } finally {
      await bob.stop();
    }
  });
});

describe("stream management counts every stanza the server sends", () => {
  test("stanza errors the stream answers itself are counted: acknowledging them is not 'too high'", async () => {
    const ts = await startTestServer();
    try {
      await ts.addUser("erin", "erin-pw");
      const { rc } = await rawLogin(ts, "erin", "erin-pw", "counting");
      await enable(rc, false);
      rc.send("<message to='not a jid@@' id='bad'><body>x</body></message>");
      await waitForElement(rc, (el) => el.name === "message" && el.attrs.type === "error");
      rc.send(`<iq type='set' id='s1'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>`);
      await waitForElement(rc, (el) => el.name === "iq" && el.attrs.id === "s1");
      rc.send(`<a xmlns='${NS_SM}' h='2'/>`);
      rc.send(`<r xmlns='${NS_SM}'/>`);
      const a = await waitForElement(rc, (el) => el.name === "a" && el.ns === NS_SM);
      assert.equal(a.attrs.h, "2");
      assert.doesNotMatch(rc.data, /handled-count-too-high/);
      rc.destroy();
    } finally {
      await ts.stop();
    }
  });
});
