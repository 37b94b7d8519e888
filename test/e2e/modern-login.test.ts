// The modern login stack over real sockets: XEP-0388 SASL2 with XEP-0386 Bind 2 and XEP-0484 FAST, driven by
// @xmpp/client 0.14 (an independent implementation: @xmpp/sasl2, its bind2 and fast, inline stream management),
// plus raw streams for what that client never sends (malformed input, replayed and foreign tokens).
import assert from "node:assert/strict";
import { createHmac, randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { client } from "@xmpp/client";
import { pbkdf2Runs } from "../../src/auth/scram-credentials.js";
import { ScramTestClient } from "../../src/auth/scram-test-client.js";
import { runNatterAsync } from "../helpers/natter-process.js";
import { rawHttp } from "../helpers/raw-http.js";
import type { RawClient } from "../helpers/raw-client.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { connect, xml } from "../helpers/xmpp-client.js";
import { rawTls, waitForElement, withTimeout } from "./raw-helpers.js";

const NS_SASL2 = "urn:xmpp:sasl:2";
const NS_FAST = "urn:xmpp:fast:0";

interface StoredToken {
  mechanism: string;
  token: string;
  expiry: string;
}

/** An @xmpp/client whose FAST token lives in `box` (what a real client keeps in its storage). */
function modernClient(
  ts: TestServer,
  opts: { username: string; password?: string; agentId: string; box: { token?: StoredToken }; resource?: string },
) {
  const xmpp = client({
    service: `xmpp://127.0.0.1:${ts.port}`,
    domain: ts.domain,
    username: opts.username,
    ...(opts.password !== undefined ? { password: opts.password } : {}),
    ...(opts.resource ? { resource: opts.resource } : {}),
    userAgent: xml("user-agent", { id: opts.agentId }, xml("software", {}, "NatterTest"), xml("device", {}, "ci box")),
  });
  xmpp.reconnect.stop();
  (xmpp as unknown as { timeout: number }).timeout = 10_000;
  xmpp.on("error", () => {});
  const fast = (xmpp as unknown as { fast: Record<string, unknown> }).fast;
  fast.saveToken = async (t: StoredToken) => {
    opts.box.token = t;
  };
  fast.fetchToken = async () => opts.box.token;
  fast.deleteToken = async () => {
    opts.box.token = undefined;
  };
  return xmpp;
}

function successes(ts: TestServer, mechanism: string): number {
  return ts.server.core.counters.authSuccesses.get(mechanism) ?? 0;
}

async function rawSasl2(ts: TestServer): Promise<RawClient> {
  const rc = await rawTls(ts);
  assert.match(rc.data, /<authentication xmlns="urn:xmpp:sasl:2">/);
  rc.data = "";
  return rc;
}

function rawTlsExporterOfAnotherConnection(): Buffer {
  return createHmac("sha256", "not this connection").update("x").digest();
}

function htInitial(user: string, token: string): string {
  const proof = createHmac("sha256", Buffer.from(token, "utf8")).update("Initiator").digest();
  return Buffer.concat([Buffer.from(`${user}\0`, "utf8"), proof]).toString("base64");
}

describe("SASL2, Bind 2 and FAST (XEP-0388, XEP-0386, XEP-0484)", () => {
  let ts: TestServer;

  before(async () => {
    ts = await startTestServer({ c2s: ["stream_management: { resume_timeout: 30 }"] });
    for (const u of ["alice", "bob", "carol", "dave", "erin", "grace"]) await ts.addUser(u, `${u}-pw`);
  });

  after(async () => {
    await ts?.stop();
  });

  test("the features offer SASL2 with Bind 2, inline SM and FAST beside RFC 6120 SASL", async () => {
    const rc = await rawTls(ts);
    try {
      assert.match(rc.data, /<mechanisms xmlns="urn:ietf:params:xml:ns:xmpp-sasl">/);
      assert.match(rc.data, /<authentication xmlns="urn:xmpp:sasl:2"><mechanism>SCRAM-SHA-256-PLUS/);
      assert.match(rc.data, /<bind xmlns="urn:xmpp:bind:0"><inline><feature var="urn:xmpp:sm:3"\/>/);
      assert.match(rc.data, /<feature var="urn:xmpp:carbons:2"\/>/);
      assert.match(rc.data, /<feature var="urn:xmpp:csi:0"\/>/);
      assert.match(
        rc.data,
        /<fast xmlns="urn:xmpp:fast:0"><mechanism>HT-SHA-256-EXPR<\/mechanism><mechanism>HT-SHA-256-ENDP<\/mechanism><mechanism>HT-SHA-256-NONE<\/mechanism><\/fast>/,
      );
      // FAST mechanisms are never in the ordinary lists.
      assert.doesNotMatch(rc.data, /<mechanism>HT-[^<]*<\/mechanism><\/mechanisms>/);
    } finally {
      rc.destroy();
    }
  });

  test("log in with SASL2 + Bind 2, get a FAST token, reconnect with it and no password: no PBKDF2 on the server", async () => {
    const agentId = randomUUID();
    const box: { token?: StoredToken } = {};
    const first = modernClient(ts, { username: "alice", password: "alice-pw", agentId, box });
    const jid = (await first.start()).toString();
    // Bind 2: the server chose the resource, from the software name the user agent gave.
    assert.match(jid, /^alice@localhost\/NatterTest\.[A-Za-z0-9_-]{8}$/);
    assert.ok(box.token, "the client stored a FAST token");
    assert.equal(box.token.mechanism, "HT-SHA-256-NONE");
    assert.ok(new Date(box.token.expiry).getTime() > Date.now() + 86400_000);
    await first.stop();

    const before = pbkdf2Runs.count;
    const fastBefore = successes(ts, "HT-SHA-256-NONE");
    const second = modernClient(ts, { username: "alice", agentId, box });
    const jid2 = (await second.start()).toString();
    // Same user agent, same resource: a client reconnecting takes its own place.
    assert.equal(jid2, jid);
    assert.equal(pbkdf2Runs.count, before, "a FAST login derives no password");
    assert.equal(successes(ts, "HT-SHA-256-NONE"), fastBefore + 1);
    // The session works: the server answers a ping.
    const pong = await second.iqCaller.request(
      xml("iq", { type: "get", to: ts.domain }, xml("ping", { xmlns: "urn:xmpp:ping" })),
    );
    assert.equal(pong.attrs.type, "result");
    await second.stop();
    // Remembered per account: the user agent with its software and device.
    const { userAgentsOf } = await import("../../src/stream/sasl2.js");
    const agents = await userAgentsOf(ts.server.core.storage, ts.domain, "alice");
    const mine = agents.find((a) => a.id === agentId);
    assert.equal(mine?.software, "NatterTest");
    assert.equal(mine?.device, "ci box");
  });

  test("a token is refused after a password change, with the SASL2 failure, and the client falls back to its password", async () => {
    const agentId = randomUUID();
    const box: { token?: StoredToken } = {};
    const first = modernClient(ts, { username: "bob", password: "bob-pw", agentId, box });
    await first.start();
    await first.stop();
    const oldToken = box.token;
    assert.ok(oldToken);
    await ts.server.core.accounts.setPassword(ts.domain, "bob", "bob-new-pw");

    // Raw: the old token gets <failure><credentials-expired/> (XEP-0484 §4.3).
    const rc = await rawSasl2(ts);
    try {
      rc.send(
        `<authenticate xmlns='${NS_SASL2}' mechanism='HT-SHA-256-NONE'><initial-response>${htInitial("bob", oldToken.token)}</initial-response>` +
          `<user-agent id='${agentId}'/><fast xmlns='${NS_FAST}'/></authenticate>`,
      );
      const failure = await waitForElement(rc, (el) => el.name === "failure" && el.ns === NS_SASL2);
      assert.ok(failure.getChild("credentials-expired", "urn:ietf:params:xml:ns:xmpp-sasl"), rc.data);
    } finally {
      rc.destroy();
    }

    // @xmpp/client with the stale token and the new password: FAST fails, it deletes the token and logs in.
    box.token = oldToken;
    const again = modernClient(ts, { username: "bob", password: "bob-new-pw", agentId, box });
    await again.start();
    assert.notEqual(box.token?.token, oldToken.token, "a new token replaced the old one");
    await again.stop();
  });

  test("a wrong, foreign or replayed token is refused with the SASL2 failure", async () => {
    const agentId = randomUUID();
    const box: { token?: StoredToken } = {};
    const first = modernClient(ts, { username: "carol", password: "carol-pw", agentId, box });
    await first.start();
    await first.stop();
    const token = box.token!.token;

    const attempt = async (user: string, tok: string, agent: string, extra = ""): Promise<string> => {
      const rc = await rawSasl2(ts);
      try {
        rc.send(
          `<authenticate xmlns='${NS_SASL2}' mechanism='HT-SHA-256-NONE'><initial-response>${htInitial(user, tok)}</initial-response>` +
            `<user-agent id='${agent}'/><fast xmlns='${NS_FAST}'${extra}/></authenticate>`,
        );
        const el = await waitForElement(rc, (e) => (e.name === "failure" || e.name === "success") && e.ns === NS_SASL2);
        if (el.name === "success") return "success";
        return (
          el.children.find((c) => typeof c !== "string" && c.ns === "urn:ietf:params:xml:ns:xmpp-sasl")?.toString() ??
          "?"
        );
      } finally {
        rc.destroy();
      }
    };
    assert.match(await attempt("carol", `${token}x`, agentId), /not-authorized/);
    // Bound to the user agent it was issued to, and to the account.
    assert.match(await attempt("carol", token, randomUUID()), /not-authorized/);
    assert.match(await attempt("dave", token, agentId), /not-authorized/);
    // XEP-0484 count: each use must count higher than the last.
    assert.equal(await attempt("carol", token, agentId, " count='5'"), "success");
    assert.match(await attempt("carol", token, agentId, " count='5'"), /not-authorized/);
    assert.equal(await attempt("carol", token, agentId, " count='6'"), "success");
    // invalidate='true': the client logs out for good; the token is gone.
    assert.equal(await attempt("carol", token, agentId, " count='7' invalidate='true'"), "success");
    assert.match(await attempt("carol", token, agentId, " count='8'"), /not-authorized/);
  });

  test("a FAST login reads storage twice (its tokens, the account's record); a disabled account is refused over FAST and SCRAM", async () => {
    const agentId = randomUUID();
    const box: { token?: StoredToken } = {};
    const first = modernClient(ts, { username: "grace", password: "grace-pw", agentId, box });
    await first.start();
    await first.stop();
    const token = box.token!.token;
    // What an operator sees on /metrics: storage operations by kind and method (those under the store cache).
    const reads = async () => {
      const res = await rawHttp({ port: ts.httpPort as number, path: "/metrics" });
      assert.equal(res.status, 200);
      let n = 0;
      for (const m of res.body.matchAll(/^natter_storage_operation_seconds_count\{operation="(\w+)\.(\w+)"\} (\d+)$/gm))
        if (["get", "getAll", "count"].includes(m[2] as string)) n += Number(m[3]);
      return n;
    };
    const fastLogin = async (): Promise<string> => {
      const rc = await rawSasl2(ts);
      try {
        rc.send(
          `<authenticate xmlns='${NS_SASL2}' mechanism='HT-SHA-256-NONE'><initial-response>${htInitial("grace", token)}</initial-response>` +
            `<user-agent id='${agentId}'><software>NatterTest</software><device>ci box</device></user-agent><fast xmlns='${NS_FAST}'/></authenticate>`,
        );
        const el = await waitForElement(rc, (e) => (e.name === "failure" || e.name === "success") && e.ns === NS_SASL2);
        if (el.name === "success") return "success";
        return (
          el.children.find((c) => typeof c !== "string" && c.ns === "urn:ietf:params:xml:ns:xmpp-sasl")?.toString() ??
          "?"
        );
      } finally {
        rc.destroy();
      }
    };
    assert.equal(await fastLogin(), "success"); // the user agent is remembered, read from memory from now on
    const before = await reads();
    assert.equal(await fastLogin(), "success");
    assert.equal((await reads()) - before, 2, "one read of the tokens, one of the account's credentials and flag");

    // RFC 6120 §6.5.1: the right token, and the right password, for a disabled account get account-disabled.
    await ts.server.core.accounts.setDisabled(ts.domain, "grace", true);
    assert.match(await fastLogin(), /account-disabled/);
    await assert.rejects(
      connect(ts, "grace", "grace-pw", { sasl2: true }),
      (err: { condition?: string }) => err.condition === "account-disabled",
    );
    await ts.server.core.accounts.setDisabled(ts.domain, "grace", false);
    assert.equal(await fastLogin(), "success");
  });

  test("the admin lists and revokes an account's tokens with `natter fast`, and the revoked token is refused at once", async () => {
    const agentId = randomUUID();
    const box: { token?: StoredToken } = {};
    const first = modernClient(ts, { username: "dave", password: "dave-pw", agentId, box });
    await first.start();
    await first.stop();
    const listed = await runNatterAsync(["-c", ts.configPath, "fast", "list", "dave@localhost"]);
    assert.equal(listed.code, 0, listed.err);
    assert.match(listed.out, new RegExp(`${agentId}\\s+NatterTest on ci box\\s+HT-SHA-256-NONE`));
    assert.ok(!listed.out.includes(box.token!.token), "the token itself is never shown");
    const revoked = await runNatterAsync(["-c", ts.configPath, "fast", "revoke", "dave@localhost"]);
    assert.equal(revoked.code, 0, revoked.err);
    assert.match(revoked.out, /revoked 1 token/);

    const rc = await rawSasl2(ts);
    try {
      rc.send(
        `<authenticate xmlns='${NS_SASL2}' mechanism='HT-SHA-256-NONE'><initial-response>${htInitial("dave", box.token!.token)}</initial-response>` +
          `<user-agent id='${agentId}'/><fast xmlns='${NS_FAST}'/></authenticate>`,
      );
      const failure = await waitForElement(rc, (el) => el.name === "failure" && el.ns === NS_SASL2);
      assert.ok(failure.getChild("not-authorized", "urn:ietf:params:xml:ns:xmpp-sasl"), rc.data);
    } finally {
      rc.destroy();
    }
  });

  test("a session resumes inline in SASL2 (XEP-0198 with XEP-0388), messages sent meanwhile arrive", async () => {
    const agentId = randomUUID();
    const box: { token?: StoredToken } = {};
    const dave = modernClient(ts, { username: "dave", password: "dave-pw", agentId, box });
    (dave as unknown as { reconnect: { start(): void; delay: number } }).reconnect.delay = 100;
    const received: string[] = [];
    dave.on("stanza", (s: { name: string; getChildText(n: string): string | null }) => {
      if (s.name === "message") received.push(s.getChildText("body") ?? "");
    });
    const jid = (await dave.start()).toString();
    const sm = (dave as unknown as { streamManagement: { id: string; enabled: boolean } }).streamManagement;
    assert.ok(sm.enabled && sm.id !== "", "stream management was enabled inline in Bind 2");
    const resumed = new Promise<void>((resolve) =>
      (dave as unknown as { streamManagement: NodeJS.EventEmitter }).streamManagement.once("resumed", () => resolve()),
    );
    const bob = modernClient(ts, { username: "alice", password: "alice-pw", agentId: randomUUID(), box: {} });
    await bob.start();
    try {
      // The TCP connection dies; a message arrives while dave is away.
      const socket = (dave as unknown as { socket: { socket: { destroy(): void } } }).socket;
      (dave as unknown as { reconnect: { start(): void } }).reconnect.start();
      socket.socket.destroy();
      await new Promise((r) => setTimeout(r, 200));
      await bob.send(xml("message", { to: jid, type: "chat" }, xml("body", {}, "while you were away")));
      await withTimeout(resumed, 10_000, "inline resumption");
      const deadline = Date.now() + 5000;
      while (!received.includes("while you were away") && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      assert.ok(received.includes("while you were away"), `received: ${JSON.stringify(received)}`);
      assert.ok(ts.logs.some((l) => l.msg === "session resumed"));
    } finally {
      (dave as unknown as { reconnect: { stop(): void } }).reconnect.stop();
      await dave.stop().catch(() => {});
      await bob.stop().catch(() => {});
    }
  });

  test("SCRAM-SHA-256-PLUS over SASL2 keeps channel binding and XEP-0474; its token works with HT-SHA-256-EXPR only on that binding", async () => {
    const agentId = randomUUID();
    const rc = await rawSasl2(ts);
    let token = "";
    try {
      const exporter = rc.tlsSocket!.exportKeyingMaterial(32, "EXPORTER-Channel-Binding", Buffer.alloc(0));
      const scram = new ScramTestClient("SHA-256", {
        username: "erin",
        password: "erin-pw",
        clientNonce: randomUUID(),
        gs2Header: "p=tls-exporter,,",
        cbData: exporter,
      });
      rc.send(
        `<authenticate xmlns='${NS_SASL2}' mechanism='SCRAM-SHA-256-PLUS'><initial-response>${scram.clientFirst().toString("base64")}</initial-response>` +
          `<user-agent id='${agentId}'/><request-token xmlns='${NS_FAST}' mechanism='HT-SHA-256-EXPR'/></authenticate>`,
      );
      const challenge = await waitForElement(rc, (e) => e.name === "challenge" && e.ns === NS_SASL2);
      const serverFirst = Buffer.from(challenge.text(), "base64");
      // XEP-0474: the offer's hash is in server-first, as with RFC 6120 SASL.
      assert.match(serverFirst.toString(), /,h=[A-Za-z0-9+/=]+/);
      rc.send(`<response xmlns='${NS_SASL2}'>${(await scram.clientFinal(serverFirst)).toString("base64")}</response>`);
      const success = await waitForElement(rc, (e) => e.name === "success" && e.ns === NS_SASL2);
      assert.equal(
        Buffer.from(success.getChildText("additional-data") ?? "", "base64").toString(),
        scram.expectedServerFinal(),
      );
      assert.equal(success.getChildText("authorization-identifier"), "erin@localhost");
      token = success.getChild("token", NS_FAST)?.attrs.token ?? "";
      assert.notEqual(token, "");
      // Without Bind 2, the stream goes on with the features of an authenticated stream (no restart).
      await waitForElement(
        rc,
        (e) => e.name === "features" && e.getChild("bind", "urn:ietf:params:xml:ns:xmpp-bind") !== undefined,
      );
    } finally {
      rc.destroy();
    }

    const fastLogin = async (withBinding: (rc: RawClient) => Buffer) => {
      const c = await rawSasl2(ts);
      try {
        const proof = createHmac("sha256", Buffer.from(token, "utf8"))
          .update(Buffer.concat([Buffer.from("Initiator"), withBinding(c)]))
          .digest();
        const initial = Buffer.concat([Buffer.from("erin\0"), proof]).toString("base64");
        c.send(
          `<authenticate xmlns='${NS_SASL2}' mechanism='HT-SHA-256-EXPR'><initial-response>${initial}</initial-response>` +
            `<user-agent id='${agentId}'/><fast xmlns='${NS_FAST}'/></authenticate>`,
        );
        return await waitForElement(c, (e) => (e.name === "success" || e.name === "failure") && e.ns === NS_SASL2);
      } finally {
        c.destroy();
      }
    };
    // Another connection's exporter value (or none) does not prove the token on this one.
    const other = rawTlsExporterOfAnotherConnection();
    assert.equal((await fastLogin(() => other)).name, "failure");
    const ok = await fastLogin((c) =>
      c.tlsSocket!.exportKeyingMaterial(32, "EXPORTER-Channel-Binding", Buffer.alloc(0)),
    );
    assert.equal(ok.name, "success", ok.toString());
  });

  test("XEP-0480 (server side): a SHA-1-only account gains SCRAM-SHA-256 at its first PLAIN login over SASL2", async () => {
    await ts.addUser("frank", "frank-pw");
    const accounts = ts.server.core.storage.open(ts.domain, "accounts", "keyval");
    const record = (await accounts.get("frank")) as { scram: Record<string, unknown> };
    await accounts.set("frank", { scram: { "SHA-1": record.scram["SHA-1"] } } as never);

    const scram256 = async (): Promise<string> => {
      const rc = await rawSasl2(ts);
      try {
        const scram = new ScramTestClient("SHA-256", {
          username: "frank",
          password: "frank-pw",
          clientNonce: randomUUID(),
        });
        rc.send(
          `<authenticate xmlns='${NS_SASL2}' mechanism='SCRAM-SHA-256'><initial-response>${scram.clientFirst().toString("base64")}</initial-response></authenticate>`,
        );
        const challenge = await waitForElement(rc, (e) => e.name === "challenge" && e.ns === NS_SASL2);
        rc.send(
          `<response xmlns='${NS_SASL2}'>${(await scram.clientFinal(Buffer.from(challenge.text(), "base64"))).toString("base64")}</response>`,
        );
        return (await waitForElement(rc, (e) => (e.name === "success" || e.name === "failure") && e.ns === NS_SASL2))
          .name;
      } finally {
        rc.destroy();
      }
    };
    assert.equal(await scram256(), "failure", "no SHA-256 credentials yet");
    const rc = await rawSasl2(ts);
    try {
      rc.send(
        `<authenticate xmlns='${NS_SASL2}' mechanism='PLAIN'><initial-response>${Buffer.from("\0frank\0frank-pw").toString("base64")}</initial-response></authenticate>`,
      );
      assert.equal(
        (await waitForElement(rc, (e) => (e.name === "success" || e.name === "failure") && e.ns === NS_SASL2)).name,
        "success",
      );
    } finally {
      rc.destroy();
    }
    assert.equal(await scram256(), "success", "upgraded at the PLAIN login");
  });

  test("over WebSocket (RFC 7395) too: SASL2 + Bind 2 with the same client, and a message to a TCP client", async () => {
    const web = await connect(ts, "erin", "erin-pw", { websocket: "wss", sasl2: true, resource: "browser" });
    const tcp = await connect(ts, "alice", "alice-pw", { resource: "desk" });
    try {
      // Bind 2 (the client's tag), not RFC 6120 binding (which would have given exactly "browser").
      assert.match(web.jid, /^erin@localhost\/browser\.[A-Za-z0-9_-]{8,12}$/);
      await web.xmpp.send(xml("message", { to: tcp.jid, type: "chat" }, xml("body", {}, "from the browser")));
      const got = await tcp.waitFor((s) => s.name === "message" && s.getChildText("body") === "from the browser");
      assert.equal(got.attrs.from, web.jid);
    } finally {
      await web.stop();
      await tcp.stop();
    }
  });

  test("malformed SASL2 input gets a SASL2 failure, never a crash", async () => {
    const rc = await rawSasl2(ts);
    try {
      rc.send(`<authenticate xmlns='${NS_SASL2}'/>`);
      let el = await waitForElement(rc, (e) => e.name === "failure" && e.ns === NS_SASL2);
      assert.ok(el.getChild("malformed-request", "urn:ietf:params:xml:ns:xmpp-sasl"));
      rc.data = "";
      rc.send(
        `<authenticate xmlns='${NS_SASL2}' mechanism='PLAIN'><initial-response>***</initial-response></authenticate>`,
      );
      el = await waitForElement(rc, (e) => e.name === "failure" && e.ns === NS_SASL2);
      assert.ok(el.getChild("incorrect-encoding", "urn:ietf:params:xml:ns:xmpp-sasl"));
      rc.data = "";
      rc.send(`<authenticate xmlns='${NS_SASL2}' mechanism='NOPE'/>`);
      el = await waitForElement(rc, (e) => e.name === "failure" && e.ns === NS_SASL2);
      assert.ok(el.getChild("invalid-mechanism", "urn:ietf:params:xml:ns:xmpp-sasl"));
      rc.data = "";
      rc.send(`<response xmlns='${NS_SASL2}'>AAAA</response>`);
      el = await waitForElement(rc, (e) => e.name === "failure" && e.ns === NS_SASL2);
      assert.ok(el.getChild("malformed-request", "urn:ietf:params:xml:ns:xmpp-sasl"));
      rc.data = "";
      // A bad count on <fast/>, and an HT message of the wrong shape.
      rc.send(
        `<authenticate xmlns='${NS_SASL2}' mechanism='HT-SHA-256-NONE'><initial-response>${Buffer.from("carol\0short").toString("base64")}</initial-response>` +
          `<user-agent id='${randomUUID()}'/><fast xmlns='${NS_FAST}' count='-1'/></authenticate>`,
      );
      el = await waitForElement(rc, (e) => e.name === "failure" && e.ns === NS_SASL2);
      assert.ok(el.getChild("malformed-request", "urn:ietf:params:xml:ns:xmpp-sasl"));
    } finally {
      rc.destroy();
    }
    // The fifth failure closes the connection (c2s failed-attempt limit), as with RFC 6120 SASL; the server serves on.
    const ok = modernClient(ts, { username: "carol", password: "carol-pw", agentId: randomUUID(), box: {} });
    await ok.start();
    await ok.stop();
  });

  test("PLAIN over SASL2 with Bind 2 by hand: success carries the full JID and <bound/>", async () => {
    const rc = await rawSasl2(ts);
    try {
      const plain = Buffer.from("\0carol\0carol-pw").toString("base64");
      rc.send(
        `<authenticate xmlns='${NS_SASL2}' mechanism='PLAIN'><initial-response>${plain}</initial-response>` +
          `<user-agent id='${randomUUID()}'><software>Raw</software></user-agent>` +
          `<bind xmlns='urn:xmpp:bind:0'><tag>rawtag</tag><enable xmlns='urn:xmpp:carbons:2'/><inactive xmlns='urn:xmpp:csi:0'/></bind></authenticate>`,
      );
      const success = await waitForElement(rc, (e) => e.name === "success" && e.ns === NS_SASL2);
      assert.match(success.getChildText("authorization-identifier") ?? "", /^carol@localhost\/rawtag\./);
      assert.ok(success.getChild("bound", "urn:xmpp:bind:0"));
      const jid = success.getChildText("authorization-identifier") ?? "";
      const session = ts.server.core.sessions.resourcesOf("carol@localhost").find((s) => s.jid.toString() === jid);
      assert.ok(session, "the session is bound");
      // Carbons were enabled inline: what carol's other client sends reaches this one as a <sent/> copy.
      const other = await connect(ts, "carol", "carol-pw", { resource: "other" });
      try {
        await other.xmpp.send(xml("message", { to: "alice@localhost", type: "chat" }, xml("body", {}, "carbon me")));
        await rc.waitFor(/<sent xmlns="urn:xmpp:carbons:2">[\s\S]*carbon me/);
      } finally {
        await other.stop();
      }
    } finally {
      rc.destroy();
    }
  });
});

describe("FAST under the login throttle", { timeout: 60_000 }, () => {
  let ts: TestServer;

  before(async () => {
    ts = await startTestServer({
      defaultThrottle: true,
      yaml: [
        "auth:",
        "  throttle:",
        "    per_ip: { delay_after: 10, attempts: 20, window: 600 }",
        "    per_ip_account: { delay_after: 1, attempts: 3, window: 600 }",
        "    initial_delay: 0.1",
        "    max_delay: 0.2",
      ].join("\n"),
    });
    await ts.addUser("alice", "alice-pw");
  });
  after(async () => {
    await ts?.stop();
  });

  const sasl2From = async (address: string, body: string): Promise<string> => {
    const rc = await rawTls(ts, { localAddress: address });
    try {
      rc.data = "";
      rc.send(body);
      const el = await waitForElement(rc, (e) => (e.name === "success" || e.name === "failure") && e.ns === NS_SASL2);
      if (el.name === "success") return `success ${el.getChild("token", NS_FAST)?.attrs.token ?? ""}`;
      const condition = el.children.find((c) => typeof c !== "string" && c.ns === "urn:ietf:params:xml:ns:xmpp-sasl");
      return typeof condition === "string" || condition === undefined ? "?" : condition.name;
    } finally {
      rc.destroy();
    }
  };

  test("token guesses count as failed logins: the address is refused for the account, even with the right token", async () => {
    const agentId = randomUUID();
    const plain = Buffer.from("\0alice\0alice-pw").toString("base64");
    const got = await sasl2From(
      "127.0.0.30",
      `<authenticate xmlns='${NS_SASL2}' mechanism='PLAIN'><initial-response>${plain}</initial-response><user-agent id='${agentId}'/>` +
        `<request-token xmlns='${NS_FAST}' mechanism='HT-SHA-256-NONE'/></authenticate>`,
    );
    const token = got.split(" ")[1] ?? "";
    assert.notEqual(token, "", got);
    const fast = (tok: string) =>
      `<authenticate xmlns='${NS_SASL2}' mechanism='HT-SHA-256-NONE'><initial-response>${htInitial("alice", tok)}</initial-response>` +
      `<user-agent id='${agentId}'/><fast xmlns='${NS_FAST}'/></authenticate>`;
    for (let i = 0; i < 3; i++) assert.equal(await sasl2From("127.0.0.31", fast(`guess-${i}`)), "not-authorized");
    assert.equal(await sasl2From("127.0.0.31", fast(token)), "temporary-auth-failure");
    // Another address with the token is not affected.
    assert.match(await sasl2From("127.0.0.32", fast(token)), /^success/);
  });
});
