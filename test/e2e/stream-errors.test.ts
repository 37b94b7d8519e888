// Bad input over real sockets: each case gets the RFC 6120 stream or stanza error, the stream is closed
// where the RFC says so, a log line is written, and the server keeps serving other clients.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { RawClient, STREAM_OPEN } from "../helpers/raw-client.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { connect, xml } from "../helpers/xmpp-client.js";
import {
  assertStillServes,
  expectStreamError,
  FEATURES_END,
  NS_SASL,
  parseServerOutput,
  plainAuth,
  rawLogin,
  rawPing,
  rawTls,
  stanzaErrorCondition,
  waitForElement,
  withTimeout,
} from "./raw-helpers.js";

const NS_STREAM = "http://etherx.jabber.org/streams";

describe("stream and stanza errors over real sockets", () => {
  let ts: TestServer;

  before(async () => {
    // The flood test sends 3000 messages from one account: past anti-spam's per-account limit, lifted here.
    ts = await startTestServer({
      yaml: "modules:\n  offline-messages: false\n  anti-spam:\n    account_rate: { messages: { per_minute: 0 } }",
    });
    for (const u of ["alice", "bob", "carol", "dave"]) await ts.addUser(u, `${u}-pw`);
  });
  after(async () => {
    await ts.stop();
  });

  /** A fresh plaintext stream with its header answered. */
  async function opened(): Promise<RawClient> {
    const rc = await RawClient.connect(ts.port);
    rc.send(STREAM_OPEN(ts.domain));
    await rc.waitFor(FEATURES_END);
    return rc;
  }

  describe("stream header (RFC 6120 §4.7, §4.8, §4.9.3)", () => {
    test("wrong content namespace → <invalid-namespace/> (§4.8.2, §4.9.3.10)", async () => {
      const rc = await RawClient.connect(ts.port);
      rc.send(
        `<?xml version='1.0'?><stream:stream to='localhost' xmlns='jabber:server' xmlns:stream='${NS_STREAM}' version='1.0'>`,
      );
      await expectStreamError(ts, rc, "invalid-namespace");
      await assertStillServes(ts);
    });

    test("wrong stream namespace → <invalid-namespace/> (§4.8.1)", async () => {
      const rc = await RawClient.connect(ts.port);
      rc.send(
        "<?xml version='1.0'?><stream:stream to='localhost' xmlns='jabber:client' xmlns:stream='http://example.com/not-streams' version='1.0'>",
      );
      await expectStreamError(ts, rc, "invalid-namespace");
      await assertStillServes(ts);
    });

    test("unknown host → <host-unknown/> (§4.9.3.6)", async () => {
      const rc = await RawClient.connect(ts.port);
      rc.send(STREAM_OPEN("no-such-host.example"));
      await expectStreamError(ts, rc, "host-unknown");
      // §4.7.1: the response header still comes first.
      assert.match(rc.data, /^<\?xml version='1.0'\?><stream:stream /);
      await assertStillServes(ts);
    });

    test("missing version → <unsupported-version/> (§4.7.5, §4.9.3.25)", async () => {
      const rc = await RawClient.connect(ts.port);
      rc.send(`<?xml version='1.0'?><stream:stream to='localhost' xmlns='jabber:client' xmlns:stream='${NS_STREAM}'>`);
      await expectStreamError(ts, rc, "unsupported-version");
      await assertStillServes(ts);
    });
  });

  describe("restricted XML (RFC 6120 §11.1 → <restricted-xml/>, §4.9.3.18)", () => {
    const cases: [string, string][] = [
      ["a comment between stanzas", "<!-- hello -->"],
      ["a comment inside a stanza", "<message to='bob@localhost'><!-- hello --><body>x</body></message>"],
      ["a processing instruction", "<message to='bob@localhost'><?foo bar?><body>x</body></message>"],
      ["an internal DTD subset", "<!DOCTYPE message [<!ENTITY x 'y'>]><message/>"],
      ["an undefined entity reference in text", "<message to='bob@localhost'><body>&lol;</body></message>"],
      [
        "an undefined entity reference in an attribute",
        "<message to='bob@localhost' id='&lol;'><body>x</body></message>",
      ],
    ];
    for (const [what, bytes] of cases) {
      test(`after binding: ${what}`, async () => {
        const { rc } = await rawLogin(ts, "alice", "alice-pw", "restricted");
        rc.send(bytes);
        await expectStreamError(ts, rc, "restricted-xml");
        await assertStillServes(ts);
      });
    }

    test("a comment before the stream header", async () => {
      const rc = await RawClient.connect(ts.port);
      rc.send(
        `<?xml version='1.0'?><!-- hi --><stream:stream to='localhost' xmlns='jabber:client' xmlns:stream='${NS_STREAM}' version='1.0'>`,
      );
      await expectStreamError(ts, rc, "restricted-xml");
      await assertStillServes(ts);
    });

    test("a DOCTYPE before the stream header", async () => {
      const rc = await RawClient.connect(ts.port);
      rc.send(
        `<?xml version='1.0'?><!DOCTYPE stream:stream [<!ENTITY a 'aaaa'>]><stream:stream to='localhost' xmlns='jabber:client' xmlns:stream='${NS_STREAM}' version='1.0'>`,
      );
      await expectStreamError(ts, rc, "restricted-xml");
      await assertStillServes(ts);
    });
  });

  describe("malformed and hostile input", () => {
    test("an oversized stanza → <policy-violation/> (§4.9.3.14, §13.12 (4))", async () => {
      const { rc } = await rawLogin(ts, "alice", "alice-pw", "big");
      // The default cap is 256 KiB; the body alone is 300 KiB.
      rc.send(`<message to='bob@localhost'><body>${"a".repeat(300 * 1024)}</body></message>`);
      await expectStreamError(ts, rc, "policy-violation");
      await assertStillServes(ts);
    });

    test("an oversized stanza is refused before it is complete (no buffering without bound)", async () => {
      const { rc } = await rawLogin(ts, "alice", "alice-pw", "big2");
      rc.send(`<message to='bob@localhost'><body>${"a".repeat(300 * 1024)}`);
      await expectStreamError(ts, rc, "policy-violation");
    });

    test("deep nesting → <policy-violation/> (§13.12)", async () => {
      const { rc } = await rawLogin(ts, "alice", "alice-pw", "deep");
      const depth = 200;
      rc.send(`<message to='bob@localhost'>${"<x>".repeat(depth)}${"</x>".repeat(depth)}</message>`);
      await expectStreamError(ts, rc, "policy-violation");
      await assertStillServes(ts);
    });

    test("invalid UTF-8 → <unsupported-encoding/> (§11.6, §4.9.3.22)", async () => {
      const { rc } = await rawLogin(ts, "alice", "alice-pw", "utf8");
      rc.send(
        Buffer.concat([Buffer.from("<message to='bob@localhost'><body>"), Buffer.from([0xc3, 0x28, 0xff, 0xfe])]),
      );
      await expectStreamError(ts, rc, "unsupported-encoding");
      await assertStillServes(ts);
    });

    test("mismatched tags → <not-well-formed/> (§4.9.3.13)", async () => {
      const { rc } = await rawLogin(ts, "alice", "alice-pw", "nwf");
      rc.send("<message to='bob@localhost'><body>x</message>");
      await expectStreamError(ts, rc, "not-well-formed");
      await assertStillServes(ts);
    });

    test("an unbound prefix → <bad-namespace-prefix/> (§4.9.3.2)", async () => {
      const { rc } = await rawLogin(ts, "alice", "alice-pw", "prefix");
      rc.send("<foo:message to='bob@localhost'/>");
      await expectStreamError(ts, rc, "bad-namespace-prefix");
      await assertStillServes(ts);
    });

    test("an abrupt disconnect mid-stanza: the session is gone, the server goes on (RFC 6121 §8.5.3.2.1)", async () => {
      const { rc, jid } = await rawLogin(ts, "bob", "bob-pw", "halfway");
      assert.equal(jid, "bob@localhost/halfway");
      rc.send("<presence/>");
      await rawPing(rc);
      rc.send("<message to='alice@localhost'><body>this never ends");
      rc.destroy();
      await rc.closed;
      const deadline = Date.now() + 5000;
      while (!ts.logs.some((l) => l.msg === "c2s connection closed" && l.jid === jid)) {
        assert.ok(Date.now() < deadline, "a log line for the closed connection");
        await new Promise((r) => setTimeout(r, 20));
      }
      // A chat to the dead full JID: bob has no other resource (and no offline storage here) → service-unavailable.
      const alice = await connect(ts, "alice", "alice-pw", { resource: "sender" });
      try {
        await alice.xmpp.send(xml("message", { to: jid, type: "chat", id: "to-dead" }, xml("body", {}, "hello?")));
        const bounce = await alice.waitFor((s) => s.name === "message" && s.attrs.id === "to-dead");
        assert.equal(bounce.attrs.type, "error");
        assert.equal(bounce.attrs.from, jid);
        assert.ok(bounce.getChild("error")?.getChild("service-unavailable", "urn:ietf:params:xml:ns:xmpp-stanzas"));
        // With another resource of bob online, the chat goes there instead (as if to the bare JID).
        const bob2 = await connect(ts, "bob", "bob-pw", { resource: "other" });
        try {
          await bob2.xmpp.send(xml("presence"));
          await bob2.xmpp.iqCaller.request(
            xml("iq", { type: "get", to: "localhost" }, xml("ping", { xmlns: "urn:xmpp:ping" })),
          );
          await alice.xmpp.send(xml("message", { to: jid, type: "chat", id: "to-dead-2" }, xml("body", {}, "again")));
          const got = await bob2.waitFor((s) => s.name === "message" && s.attrs.id === "to-dead-2");
          assert.equal(got.getChildText("body"), "again");
          assert.equal(got.attrs.to, jid);
        } finally {
          await bob2.stop();
        }
      } finally {
        await alice.stop();
      }
      await assertStillServes(ts);
    });

    test("a flood of stanzas does not crash the server and keeps order", async () => {
      const { rc } = await rawLogin(ts, "alice", "alice-pw", "flood");
      const bob = await connect(ts, "bob", "bob-pw", { resource: "flooded" });
      try {
        const n = 3000;
        let batch = "";
        for (let i = 0; i < n; i++)
          batch += `<message to='${bob.jid}' type='chat' id='f${i}'><body>${i}</body></message>`;
        // Written in one go: far more than the per-stream queue (flow control pauses reading).
        rc.send(batch);
        const last = await bob.waitFor((s) => s.name === "message" && s.attrs.id === `f${n - 1}`, 60000); // generous: a loaded CI machine, not a speed test
        assert.equal(last.getChildText("body"), String(n - 1));
        const ids = bob.received.filter((s) => s.name === "message").map((s) => s.attrs.id);
        assert.equal(ids.length, n);
        assert.deepEqual(ids.slice(0, 3), ["f0", "f1", "f2"]);
        assert.ok(
          ids.every((id, i) => id === `f${i}`),
          "delivered in the order sent",
        );
        await rawPing(rc);
      } finally {
        await bob.stop();
        rc.destroy();
      }
      await assertStillServes(ts);
    });
  });

  describe("before authentication (RFC 6120 §5, §6)", () => {
    test("a stanza before authentication → <not-authorized/> (§4.9.3.12)", async () => {
      const rc = await opened();
      rc.send("<message to='bob@localhost'><body>hi</body></message>");
      await expectStreamError(ts, rc, "not-authorized");
      await assertStillServes(ts);
    });

    test("a stanza after TLS but before SASL → <not-authorized/>", async () => {
      const rc = await rawTls(ts);
      rc.send("<iq type='get' id='x' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>");
      await expectStreamError(ts, rc, "not-authorized");
    });

    test("an iq other than bind after SASL, before binding, gets a stanza error", async () => {
      const rc = await rawTls(ts);
      rc.send(plainAuth("alice", "alice-pw"));
      await rc.waitFor(/<success/);
      rc.data = "";
      rc.send(STREAM_OPEN(ts.domain));
      await rc.waitFor(FEATURES_END);
      rc.send("<iq type='get' id='early' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>");
      const reply = await waitForElement(rc, (el) => el.name === "iq" && el.attrs.id === "early");
      assert.equal(reply.attrs.type, "error");
      assert.equal(stanzaErrorCondition(reply), "not-authorized");
      rc.destroy();
    });

    test("SASL before STARTTLS when TLS is required → <encryption-required/> failure (§6.4.5)", async () => {
      const rc = await opened();
      // §5.3.1: while TLS is mandatory only STARTTLS is offered.
      const features = parseServerOutput(rc.data).elements.find((e) => e.name === "features" && e.ns === NS_STREAM);
      assert.ok(features?.getChild("starttls", "urn:ietf:params:xml:ns:xmpp-tls")?.getChild("required"));
      assert.equal(features?.getChild("mechanisms", NS_SASL), undefined);
      rc.send(plainAuth("alice", "alice-pw"));
      const failure = await waitForElement(rc, (el) => el.name === "failure" && el.ns === NS_SASL);
      assert.ok(failure.getChild("encryption-required", NS_SASL), failure.toString());
      assert.ok(!rc.data.includes("<success"));
      rc.destroy();
    });

    test("wrong passwords → <not-authorized/> failures, a retry is allowed, then too many close the stream (§6.4.5)", async () => {
      const rc = await rawTls(ts);
      rc.send(plainAuth("alice", "wrong"));
      const first = await waitForElement(rc, (el) => el.name === "failure" && el.ns === NS_SASL);
      assert.ok(first.getChild("not-authorized", NS_SASL), first.toString());
      assert.ok(ts.logs.some((l) => l.msg === "authentication failed" && l.condition === "not-authorized"));
      // The same stream may try again; the right password works.
      rc.data = "";
      rc.send(plainAuth("alice", "alice-pw"));
      await rc.waitFor(/<success/);
      rc.destroy();

      const rc2 = await rawTls(ts);
      for (let i = 0; i < 4; i++) {
        rc2.data = "";
        rc2.send(plainAuth("alice", `wrong-${i}`));
        await waitForElement(rc2, (el) => el.name === "failure" && el.ns === NS_SASL);
      }
      rc2.data = "";
      rc2.send(plainAuth("alice", "wrong-again"));
      await expectStreamError(ts, rc2, "policy-violation");
      assert.ok(rc2.data.includes("not-authorized"), "the last attempt is answered before the stream ends");
      await assertStillServes(ts);
    });

    test("an unknown user gets the same <not-authorized/> as a wrong password", async () => {
      const rc = await rawTls(ts);
      rc.send(plainAuth("nobody", "whatever"));
      const failure = await waitForElement(rc, (el) => el.name === "failure" && el.ns === NS_SASL);
      assert.deepEqual(
        failure
          .elements()
          .map((e) => e.name)
          .filter((n) => n !== "text"),
        ["not-authorized"],
      );
      rc.destroy();
    });
  });

  describe("after binding", () => {
    test("STARTTLS then SASL PLAIN by hand, bind, and a stanza round trip", async () => {
      const rc = await rawTls(ts);
      const features = parseServerOutput(rc.data).elements.find((e) => e.name === "features");
      const mechs =
        features
          ?.getChild("mechanisms", NS_SASL)
          ?.getChildren("mechanism")
          .map((m) => m.text()) ?? [];
      assert.ok(mechs.includes("PLAIN"), `PLAIN offered over TLS: ${mechs}`);
      assert.equal(features?.getChild("starttls", "urn:ietf:params:xml:ns:xmpp-tls"), undefined, "no STARTTLS twice");
      rc.send(plainAuth("alice", "alice-pw"));
      await rc.waitFor(/<success xmlns="urn:ietf:params:xml:ns:xmpp-sasl"\/>|<success/);
      rc.data = "";
      rc.send(STREAM_OPEN(ts.domain));
      await rc.waitFor(FEATURES_END);
      const bindFeatures = parseServerOutput(rc.data).elements.find((e) => e.name === "features");
      assert.ok(bindFeatures?.getChild("bind", "urn:ietf:params:xml:ns:xmpp-bind"));
      rc.send(
        "<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>by-hand</resource></bind></iq>",
      );
      const bound = await waitForElement(rc, (el) => el.name === "iq" && el.attrs.id === "b");
      assert.equal(bound.attrs.type, "result");
      const NS_BIND = "urn:ietf:params:xml:ns:xmpp-bind";
      assert.equal(bound.getChild("bind", NS_BIND)?.getChildText("jid", NS_BIND), "alice@localhost/by-hand");
      await rawPing(rc);
      rc.send("</stream:stream>");
      await withTimeout(rc.closed, 5000, "close after </stream:stream>");
      assert.match(rc.data, /<\/stream:stream>$/);
    });

    test("an unsupported top-level element → <unsupported-stanza-type/> (§4.9.3.24)", async () => {
      const { rc } = await rawLogin(ts, "alice", "alice-pw", "unsupported");
      rc.send("<foo xmlns='jabber:client'/>");
      await expectStreamError(ts, rc, "unsupported-stanza-type");
      await assertStillServes(ts);
    });

    test("a forged from → <invalid-from/> (§8.1.2.1, §4.9.3.9)", async () => {
      const { rc } = await rawLogin(ts, "alice", "alice-pw", "forger");
      rc.send("<message from='bob@localhost/x' to='carol@localhost'><body>I am bob</body></message>");
      await expectStreamError(ts, rc, "invalid-from");
      await assertStillServes(ts);
    });

    test("from set to one's own full or bare JID is accepted (§8.1.2.1)", async () => {
      const { rc, jid } = await rawLogin(ts, "alice", "alice-pw", "honest");
      rc.send(`<iq type='get' id='own-full' from='${jid}' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>`);
      rc.send(`<iq type='get' id='own-bare' from='alice@localhost' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>`);
      for (const id of ["own-full", "own-bare"]) {
        const r = await waitForElement(rc, (el) => el.name === "iq" && el.attrs.id === id);
        assert.equal(r.attrs.type, "result");
      }
      rc.destroy();
    });

    test("stanza errors keep the stream open: two iq children, no id, unknown namespace, unknown user, bad to", async () => {
      const { rc, jid } = await rawLogin(ts, "alice", "alice-pw", "stanza-errors");
      // RFC 6120 §8.2.3: an iq get/set has exactly one child.
      rc.send("<iq type='get' id='two' to='localhost'><ping xmlns='urn:xmpp:ping'/><time xmlns='urn:xmpp:time'/></iq>");
      // §8.2.3: an iq needs an id.
      rc.send("<iq type='get' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>");
      // §8.3.3.19: nobody handles this namespace on the server.
      rc.send("<iq type='get' id='unknown-ns' to='localhost'><query xmlns='urn:example:nothing'/></iq>");
      // RFC 6121 §8.5.1: no such user.
      rc.send("<message to='nobody@localhost' id='no-user' type='chat'><body>hi</body></message>");
      // §8.3.3.8: a `to` that is not a JID.
      rc.send("<message to='a@b@c' id='bad-to'><body>hi</body></message>");
      rc.send("<message to='@localhost' id='bad-to-2'><body>hi</body></message>");
      await rawPing(rc); // all answered in order, stream still open

      const out = parseServerOutput(rc.data).elements;
      const byId = (name: string, id: string) => out.find((el) => el.name === name && el.attrs.id === id);
      const expectError = (el: ReturnType<typeof byId>, condition: string, type: string) => {
        assert.ok(el, `a reply for ${condition}`);
        assert.equal(el.attrs.type, "error", el.toString());
        assert.equal(stanzaErrorCondition(el), condition, el.toString());
        assert.equal(el.getChild("error")?.attrs.type, type, el.toString());
      };
      expectError(byId("iq", "two"), "bad-request", "modify");
      const noId = out.find((el) => el.name === "iq" && el.attrs.id === undefined);
      expectError(noId, "bad-request", "modify");
      expectError(byId("iq", "unknown-ns"), "service-unavailable", "cancel");
      assert.equal(byId("iq", "unknown-ns")?.attrs.from, "localhost");
      assert.equal(byId("iq", "unknown-ns")?.attrs.to, jid);
      expectError(byId("message", "no-user"), "service-unavailable", "cancel");
      assert.equal(byId("message", "no-user")?.attrs.from, "nobody@localhost");
      expectError(byId("message", "bad-to"), "jid-malformed", "modify");
      expectError(byId("message", "bad-to-2"), "jid-malformed", "modify");
      assert.ok(!out.some((el) => el.name === "error" && el.ns === NS_STREAM), "no stream error");
      rc.destroy();
    });

    test("resource conflict: the older session gets <conflict/>, the newer one is bound (RFC 6120 §7.7.2.2)", async () => {
      const older = await rawLogin(ts, "alice", "alice-pw", "same");
      const newer = await rawLogin(ts, "alice", "alice-pw", "same");
      assert.equal(newer.jid, "alice@localhost/same");
      await expectStreamError(ts, older.rc, "conflict");
      await rawPing(newer.rc);
      // Stanzas to the full JID reach the newer session.
      const bob = await connect(ts, "bob", "bob-pw", { resource: "conflict-check" });
      try {
        await bob.xmpp.send(
          xml("message", { to: "alice@localhost/same", id: "after-conflict" }, xml("body", {}, "hi")),
        );
        const m = await waitForElement(newer.rc, (el) => el.name === "message" && el.attrs.id === "after-conflict");
        assert.equal(m.attrs.from, bob.jid);
      } finally {
        await bob.stop();
      }
      newer.rc.destroy();
      await assertStillServes(ts);
    });
  });
});

describe("negotiation timeout (RFC 6120 §4.9.3.4 <connection-timeout/>)", () => {
  test("a client that never finishes negotiating is cut off", async () => {
    // 3 s: long enough for @xmpp/client's own (JavaScript) SCRAM to log in on a loaded machine.
    const ts = await startTestServer({ c2s: ["negotiation_timeout: 3"] });
    try {
      for (const u of ["carol", "dave"]) await ts.addUser(u, `${u}-pw`);
      const rc = await RawClient.connect(ts.port);
      rc.send(STREAM_OPEN(ts.domain));
      await rc.waitFor(FEATURES_END);
      const started = Date.now();
      await expectStreamError(ts, rc, "connection-timeout");
      const waited = Date.now() - started;
      assert.ok(waited >= 2500 && waited < 8000, `closed after about three seconds (${waited} ms)`);
      assert.ok(ts.logs.some((l) => l.msg === "negotiation timed out"));
      // A client that logs in quickly is not affected, even when it stays longer than the timeout.
      const c = await connect(ts, "carol", "carol-pw");
      await new Promise((r) => setTimeout(r, 3500));
      await c.xmpp.iqCaller.request(
        xml("iq", { type: "get", to: "localhost" }, xml("ping", { xmlns: "urn:xmpp:ping" })),
      );
      await c.stop();
      await assertStillServes(ts);
    } finally {
      await ts.stop();
    }
  });
});
