// XEP-0484 HT-SHA-256-UNIQ: a FAST token bound to RFC 5929 tls-unique, offered only on TLS 1.2 connections
// (RFC 9266 §3: TLS 1.3 has no tls-unique). Raw sockets with TLS 1.2 only; the client computes tls-unique itself
// from its side of the handshake (its own Finished message in a full handshake).
import assert from "node:assert/strict";
import { createHmac, randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import type { Element } from "../../src/core/xml/element.js";
import { RawClient, STREAM_OPEN } from "../helpers/raw-client.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { FEATURES_END, NS_SASL, NS_TLS, rawTls, waitForElement } from "./raw-helpers.js";

const NS_SASL2 = "urn:xmpp:sasl:2";
const NS_FAST = "urn:xmpp:fast:0";
const UNIQ = "HT-SHA-256-UNIQ";

async function rawTls12(ts: TestServer, session?: Buffer): Promise<RawClient> {
  const rc = await RawClient.connect(ts.port);
  rc.send(STREAM_OPEN(ts.domain));
  await rc.waitFor(FEATURES_END);
  rc.send(`<starttls xmlns='${NS_TLS}'/>`);
  await rc.waitFor(/<proceed/);
  // `session` resumes an earlier TLS session (an abbreviated handshake: the server's Finished comes first).
  await rc.startTls(ts.domain, { maxVersion: "TLSv1.2", ...(session ? { session } : {}) } as { maxVersion: "TLSv1.2" });
  rc.data = "";
  rc.send(STREAM_OPEN(ts.domain));
  await rc.waitFor(FEATURES_END);
  return rc;
}

/**
 * RFC 5929 §3.1 from the client's side: the first Finished of the handshake, the client's own in a full one, the
 * server's in a resumed one.
 */
function clientTlsUnique(rc: RawClient): Buffer {
  const tls = rc.tlsSocket!;
  assert.equal(tls.getProtocol(), "TLSv1.2");
  return (tls.isSessionReused() ? tls.getPeerFinished() : tls.getFinished())!;
}

const answer = (rc: RawClient) =>
  waitForElement(rc, (e) => (e.name === "success" || e.name === "failure") && e.ns === NS_SASL2);

function fastOffer(data: string): string[] {
  const fast = /<fast xmlns="urn:xmpp:fast:0">(.*?)<\/fast>/.exec(data)?.[1] ?? "";
  return [...fast.matchAll(/<mechanism>([^<]+)<\/mechanism>/g)].map((m) => m[1] as string);
}

describe("XEP-0484 HT-SHA-256-UNIQ (tls-unique, TLS 1.2 only)", () => {
  let ts: TestServer;
  const agentId = randomUUID();

  before(async () => {
    ts = await startTestServer();
    await ts.addUser("ursula", "ursula-pw");
  });

  after(async () => {
    await ts?.stop();
  });

  async function uniqLogin(rc: RawClient, token: string, cbData: Buffer): Promise<Element> {
    const proof = createHmac("sha256", Buffer.from(token, "utf8"))
      .update(Buffer.concat([Buffer.from("Initiator"), cbData]))
      .digest();
    const initial = Buffer.concat([Buffer.from("ursula\0"), proof]).toString("base64");
    rc.data = "";
    rc.send(
      `<authenticate xmlns='${NS_SASL2}' mechanism='${UNIQ}'><initial-response>${initial}</initial-response>` +
        `<user-agent id='${agentId}'/><fast xmlns='${NS_FAST}'/></authenticate>`,
    );
    return answer(rc);
  }

  test("offered on TLS 1.2 beside -ENDP, never on TLS 1.3 (where -EXPR is) nor to SCRAM or XEP-0440", async () => {
    const tls12 = await rawTls12(ts);
    try {
      assert.deepEqual(fastOffer(tls12.data), [UNIQ, "HT-SHA-256-ENDP", "HT-SHA-256-NONE"]);
      assert.doesNotMatch(tls12.data, /tls-unique/);
    } finally {
      tls12.destroy();
    }
    const tls13 = await rawTls(ts);
    try {
      assert.equal(tls13.tlsSocket?.getProtocol(), "TLSv1.3");
      assert.deepEqual(fastOffer(tls13.data), ["HT-SHA-256-EXPR", "HT-SHA-256-ENDP", "HT-SHA-256-NONE"]);
    } finally {
      tls13.destroy();
    }
  });

  test("a token for -UNIQ logs in on its own TLS 1.2 connection only", async () => {
    // A password login over TLS 1.2 asks for a -UNIQ token.
    const first = await rawTls12(ts);
    let token: string;
    try {
      first.send(
        `<authenticate xmlns='${NS_SASL2}' mechanism='PLAIN'><initial-response>${Buffer.from("\0ursula\0ursula-pw").toString("base64")}</initial-response>` +
          `<user-agent id='${agentId}'/><request-token xmlns='${NS_FAST}' mechanism='${UNIQ}'/></authenticate>`,
      );
      const success = await answer(first);
      assert.equal(success.name, "success", success.toString());
      const t = success.getChild("token", NS_FAST);
      assert.ok(t?.attrs.token, "a token in the <success/>");
      token = t.attrs.token;
    } finally {
      first.destroy();
    }

    // The proof with this connection's tls-unique succeeds, and the server proves the same binding back.
    const ok = await rawTls12(ts);
    try {
      const cb = clientTlsUnique(ok);
      const success = await uniqLogin(ok, token, cb);
      assert.equal(success.name, "success", success.toString());
      const responder = createHmac("sha256", Buffer.from(token, "utf8"))
        .update(Buffer.concat([Buffer.from("Responder"), cb]))
        .digest();
      assert.equal(success.getChildText("additional-data"), responder.toString("base64"));
      // A resumed TLS 1.2 session (what a reconnecting phone does): the server's Finished is the binding.
      const session = ok.tlsSocket!.getSession();
      assert.ok(session, "the server gave a session to resume");
      const resumed = await rawTls12(ts, session);
      try {
        assert.equal(resumed.tlsSocket!.isSessionReused(), true, "the TLS session was resumed");
        const again = await uniqLogin(resumed, token, clientTlsUnique(resumed));
        assert.equal(again.name, "success", again.toString());
      } finally {
        resumed.destroy();
      }
    } finally {
      ok.destroy();
    }

    // Another connection's tls-unique (a relayed proof), or none, proves nothing here.
    const donor = await rawTls12(ts);
    const victim = await rawTls12(ts);
    try {
      const relayed = await uniqLogin(victim, token, clientTlsUnique(donor));
      assert.equal(relayed.name, "failure");
      assert.ok(relayed.getChild("not-authorized", NS_SASL), relayed.toString());
      assert.equal((await uniqLogin(victim, token, Buffer.alloc(0))).name, "failure");
    } finally {
      donor.destroy();
      victim.destroy();
    }

    // On TLS 1.3 the mechanism does not exist.
    const tls13 = await rawTls(ts);
    try {
      const refused = await uniqLogin(tls13, token, Buffer.alloc(12));
      assert.equal(refused.name, "failure", refused.toString());
    } finally {
      tls13.destroy();
    }
  });
});
