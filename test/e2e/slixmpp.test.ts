// Interop with slixmpp (Debian's python3-slixmpp, run with /usr/bin/python3): SASL mechanisms, binding,
// direct TLS (XEP-0368), RFC 6121 §8.5.2.1.1 priority routing and chat, as a Python client library sees them.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { runSlixmpp, useSlixmpp } from "../helpers/slixmpp.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

interface LoginResult {
  ok: boolean;
  outcome: string;
  jid: string | null;
  mechanism: string | null;
  gs2_header: string | null;
  authenticated: boolean;
  auth_failures: string[];
  features: string[];
  tls: boolean;
  tls_version?: string;
  ping?: boolean;
  error?: string;
}

interface RouteResult {
  ok: boolean;
  received: Record<string, string[]>;
  probes: Record<string, boolean>;
  sender_errors: { from: string; condition: string }[];
  jids: Record<string, string>;
  error?: string;
}

interface ReceivedMessage {
  from: string;
  to: string;
  type: string;
  body: string;
  id: string;
}

interface ChatResult {
  ok: boolean;
  a_jid: string;
  b_jid: string;
  to: string;
  b_received: ReceivedMessage;
  a_received: ReceivedMessage;
  error?: string;
}

describe("slixmpp interop", { timeout: 240_000 }, () => {
  let ts: TestServer;
  const host = "127.0.0.1";
  const users: Record<string, string> = {
    alice: "alice-secret",
    bob: "bob-pässword",
    carol: "carol-secret",
    dave: "dave-secret",
    erin: "erin-secret",
    frank: "frank-secret",
    grace: "grace-secret",
  };
  const jid = (user: string) => `${user}@${ts.domain}`;
  const login = (extra: Record<string, unknown>, user = "alice") =>
    runSlixmpp<LoginResult>("login.py", { host, port: ts.port, jid: jid(user), password: users[user], ...extra });

  useSlixmpp();

  before(async () => {
    ts = await startTestServer();
    for (const [user, password] of Object.entries(users)) await ts.addUser(user, password);
  });

  after(async () => {
    await ts?.stop();
  });

  describe("SASL over STARTTLS", () => {
    for (const mechanism of ["SCRAM-SHA-1", "SCRAM-SHA-256"]) {
      it(`${mechanism} logs in, binds and pings`, async () => {
        // slixmpp 1.8 sends gs2 flag 'y' whenever TLS is up; "none" makes it send 'n' (see the next tests).
        const r = await login({ mechanism, channel_binding: "none" });
        assert.equal(r.ok, true, JSON.stringify(r));
        assert.equal(r.mechanism, mechanism);
        assert.equal(r.gs2_header, "n,,");
        assert.equal(r.tls, true);
        assert.ok(r.features.includes("starttls"), "STARTTLS was negotiated");
        assert.match(r.jid ?? "", /^alice@localhost\/.+$/);
        assert.deepEqual(r.auth_failures, []);
        assert.equal(r.ping, true);
      });
    }

    it("PLAIN logs in over TLS", async () => {
      const r = await login({ mechanism: "PLAIN" }, "bob"); // a non-ASCII password (SASLprep / OpaqueString)
      assert.equal(r.ok, true, JSON.stringify(r));
      assert.equal(r.mechanism, "PLAIN");
      assert.equal(r.tls, true);
      assert.match(r.jid ?? "", /^bob@localhost\/.+$/);
      assert.equal(r.ping, true);
    });

    for (const mechanism of ["SCRAM-SHA-1-PLUS", "SCRAM-SHA-256-PLUS"]) {
      it(`${mechanism} logs in with tls-server-end-point channel binding`, async () => {
        // slixmpp 1.8.3 only knows tls-unique, which does not exist on TLS 1.3: the script swaps in RFC 5929
        // tls-server-end-point, computed by Python from the certificate it received.
        const r = await login({ mechanism, channel_binding: "tls-server-end-point" });
        assert.equal(r.ok, true, JSON.stringify(r));
        assert.equal(r.mechanism, mechanism);
        assert.equal(r.gs2_header, "p=tls-server-end-point,,");
        assert.equal(r.ping, true);
      });

      it(`${mechanism} is refused when the channel-binding data do not match`, async () => {
        const r = await login({ mechanism, channel_binding: "tls-server-end-point-wrong" });
        assert.equal(r.ok, false, JSON.stringify(r));
        assert.equal(r.authenticated, false);
        assert.equal(r.outcome, "failed_all_auth");
        assert.equal(r.auth_failures.length, 1);
      });

      it(`stock slixmpp ${mechanism} (tls-unique) is refused cleanly on TLS 1.3`, async () => {
        const r = await login({ mechanism });
        assert.equal(r.ok, false, JSON.stringify(r));
        assert.equal(r.tls_version, "TLSv1.3");
        assert.equal(r.gs2_header, "p=tls-unique,,");
        assert.equal(r.outcome, "failed_all_auth");
        assert.equal(r.auth_failures.length, 1);
      });
    }

    it("stock slixmpp SCRAM with gs2 flag 'y' logs in: it could not have used any offered binding type (tls-unique only)", async () => {
      // RFC 5802 §6 with XEP-0440 (auth.scram_downgrade_check: client_shown); test/e2e/hardening-auth.test.ts
      // shows 'y' still failing from a client that has used one of the connection's types.
      const r = await login({ mechanism: "SCRAM-SHA-256" });
      assert.equal(r.ok, true, JSON.stringify(r));
      assert.equal(r.gs2_header, "y,,");
      assert.deepEqual(r.auth_failures, []);
    });

    it("stock slixmpp with no forced mechanism still ends up logged in (falling back through its list)", async () => {
      const r = await login({});
      assert.equal(r.ok, true, JSON.stringify(r));
      assert.equal(r.ping, true);
    });

    for (const mechanism of ["SCRAM-SHA-1", "SCRAM-SHA-256", "PLAIN"]) {
      it(`a wrong password is refused (${mechanism})`, async () => {
        const r = await runSlixmpp<LoginResult>("login.py", {
          host,
          port: ts.port,
          jid: jid("alice"),
          password: "not-the-password",
          mechanism,
          channel_binding: "none",
        });
        assert.equal(r.ok, false, JSON.stringify(r));
        assert.equal(r.authenticated, false);
        assert.equal(r.outcome, "failed_all_auth");
        assert.deepEqual(r.auth_failures, ["not-authorized"]);
        assert.equal(r.jid, null);
      });
    }

    it("an unknown account is refused", async () => {
      const r = await runSlixmpp<LoginResult>("login.py", {
        host,
        port: ts.port,
        jid: jid("nobody"),
        password: "whatever",
        mechanism: "SCRAM-SHA-256",
        channel_binding: "none",
      });
      assert.equal(r.ok, false, JSON.stringify(r));
      assert.deepEqual(r.auth_failures, ["not-authorized"]);
    });
  });

  describe("direct TLS (XEP-0368)", () => {
    for (const [mechanism, channelBinding] of [
      ["SCRAM-SHA-256-PLUS", "tls-server-end-point"],
      ["SCRAM-SHA-1", "none"],
      ["PLAIN", "stock"],
    ] as const) {
      it(`${mechanism} logs in on the direct TLS port`, async () => {
        const r = await runSlixmpp<LoginResult>("login.py", {
          host,
          port: ts.tlsPort,
          direct_tls: true,
          jid: jid("carol"),
          password: users.carol,
          mechanism,
          channel_binding: channelBinding,
        });
        assert.equal(r.ok, true, JSON.stringify(r));
        assert.equal(r.tls, true);
        assert.equal(r.mechanism, mechanism);
        assert.ok(!r.features.includes("starttls"), "no STARTTLS inside direct TLS");
        assert.match(r.jid ?? "", /^carol@localhost\/.+$/);
        assert.equal(r.ping, true);
      });
    }

    it("a wrong password is refused on the direct TLS port", async () => {
      const r = await runSlixmpp<LoginResult>("login.py", {
        host,
        port: ts.tlsPort,
        direct_tls: true,
        jid: jid("carol"),
        password: "wrong",
        mechanism: "SCRAM-SHA-256",
        channel_binding: "none",
      });
      assert.equal(r.ok, false, JSON.stringify(r));
      assert.deepEqual(r.auth_failures, ["not-authorized"]);
    });
  });

  describe("resource binding", () => {
    it("binds the requested resource", async () => {
      const r = await login({ mechanism: "PLAIN", resource: "laptop" });
      assert.equal(r.ok, true, JSON.stringify(r));
      assert.equal(r.jid, "alice@localhost/laptop");
    });

    it("the server chooses a resource when none is requested", async () => {
      const [a, b] = await Promise.all([login({ mechanism: "PLAIN" }), login({ mechanism: "PLAIN" })]);
      assert.equal(a.ok && b.ok, true, JSON.stringify([a, b]));
      const resource = (j: string | null) => (j ?? "").split("/").slice(1).join("/");
      assert.notEqual(resource(a.jid), "");
      assert.notEqual(resource(a.jid), resource(b.jid));
    });
  });

  describe("routing a message to the bare JID by priority (RFC 6121 §8.5.2.1.1)", () => {
    const route = (user: string, one: number, two: number) =>
      runSlixmpp<RouteResult>("route.py", {
        host,
        port: ts.port,
        to: jid(user),
        body: `to ${user}`,
        type: "chat",
        sender: { jid: jid("bob"), password: users.bob },
        receivers: [
          { jid: jid(user), password: users[user], resource: "one", priority: one },
          { jid: jid(user), password: users[user], resource: "two", priority: two },
        ],
      });

    it("only the resource with the higher priority gets it", async () => {
      const r = await route("dave", 5, 1);
      assert.equal(r.ok, true, JSON.stringify(r));
      assert.deepEqual(r.received, { one: ["to dave"], two: [] });
      const reversed = await route("dave", 1, 5); // not "the first one connected"
      assert.equal(reversed.ok, true, JSON.stringify(reversed));
      assert.deepEqual(reversed.received, { one: [], two: ["to dave"] });
    });

    it("resources with equal priority both get it", async () => {
      const r = await route("erin", 3, 3);
      assert.equal(r.ok, true, JSON.stringify(r));
      assert.deepEqual(r.received, { one: ["to erin"], two: ["to erin"] });
    });

    it("a negative-priority resource gets nothing sent to the bare JID", async () => {
      const r = await route("frank", 0, -1);
      assert.equal(r.ok, true, JSON.stringify(r));
      assert.deepEqual(r.received, { one: ["to frank"], two: [] });
    });

    it("with only negative-priority resources, none of them gets it", async () => {
      const r = await route("grace", -1, -5);
      assert.equal(r.ok, true, JSON.stringify(r));
      assert.deepEqual(r.received, { one: [], two: [] });
      // Stored offline or refused with service-unavailable (RFC 6121 §8.5.2.2.1), never delivered.
      for (const e of r.sender_errors) assert.equal(e.condition, "service-unavailable");
    });
  });

  describe("chat between two accounts", () => {
    const body = "héllo 🌍 <b>&amp;</b> ' \"";
    for (const toFull of [false, true]) {
      it(`a chat message to the ${toFull ? "full" : "bare"} JID arrives, and so does the reply`, async () => {
        const r = await runSlixmpp<ChatResult>("chat.py", {
          host,
          port: ts.port,
          a: { jid: jid("alice"), password: users.alice },
          b: { jid: jid("bob"), password: users.bob },
          body,
          to_full: toFull,
        });
        assert.equal(r.ok, true, JSON.stringify(r));
        assert.equal(r.a_jid, "alice@localhost/a-res");
        assert.equal(r.b_jid, "bob@localhost/b-res");
        assert.deepEqual(
          { from: r.b_received.from, to: r.b_received.to, type: r.b_received.type, body: r.b_received.body },
          { from: r.a_jid, to: toFull ? r.b_jid : "bob@localhost", type: "chat", body },
        );
        assert.deepEqual(
          { from: r.a_received.from, to: r.a_received.to, type: r.a_received.type, body: r.a_received.body },
          { from: r.b_jid, to: r.a_jid, type: "chat", body: `re: ${body}` },
        );
      });
    }
  });

  describe("with the default login throttle", () => {
    // startTestServer raises the throttle to 1000 attempts; this server keeps the shipped defaults.
    let server: TestServer | undefined;
    let port = 0;

    before(async () => {
      server = await startTestServer({ defaultThrottle: true });
      port = server.port;
      await server.addUser("henry", "henry-secret");
    });

    after(async () => {
      await server?.stop();
    });

    it("stock slixmpp can log in three times in a minute with the right password (fallbacks from -PLUS are not counted as guesses)", async () => {
      for (let i = 0; i < 3; i++) {
        const r = await runSlixmpp<LoginResult>("login.py", {
          host,
          port,
          jid: "henry@localhost",
          password: "henry-secret",
        });
        assert.equal(r.ok, true, `login ${i + 1}: ${JSON.stringify(r)}`);
      }
    });
  });
});
