// Authentication hardening over real sockets (issue 11): the login throttle slows down and then refuses the
// addresses that fail, never the account's owner elsewhere, and answers a right and a wrong password alike while
// it throttles (PLAIN included); XEP-0440 channel-binding types are advertised, XEP-0474 signs the offer into
// SCRAM, and a client that could not have used any offered binding type (stock slixmpp on TLS 1.3) may send the
// gs2 'y' flag, while 'y' from a client that has shown it can bind still fails (RFC 5802 §6).
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import type { TLSSocket } from "node:tls";
import { ScramTestClient } from "../../src/auth/scram-test-client.js";
import type { Element } from "../../src/core/xml/element.js";
import { RawClient, STREAM_OPEN } from "../helpers/raw-client.js";
import { runSlixmpp, useSlixmpp } from "../helpers/slixmpp.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { FEATURES_END, NS_SASL, NS_TLS, parseServerOutput, plainAuth, waitForElement } from "./raw-helpers.js";

const NS_SASL_CB = "urn:xmpp:sasl-cb:0";

/** STARTTLS from a chosen source address; resolves after the features of the TLS stream. */
async function tlsFrom(
  ts: TestServer,
  localAddress = "127.0.0.1",
  maxVersion?: "TLSv1.2" | "TLSv1.3",
): Promise<RawClient> {
  const rc = await RawClient.connect(ts.port, { localAddress });
  rc.send(STREAM_OPEN(ts.domain));
  await rc.waitFor(FEATURES_END);
  rc.send(`<starttls xmlns='${NS_TLS}'/>`);
  await rc.waitFor(/<proceed/);
  await rc.startTls(ts.domain, maxVersion ? { maxVersion } : {});
  rc.data = "";
  rc.send(STREAM_OPEN(ts.domain));
  await rc.waitFor(FEATURES_END);
  return rc;
}

interface SaslAnswer {
  /** "success", or the failure condition. */
  outcome: string;
  text: string | undefined;
  ms: number;
}

/** The next SASL answer on the stream (RFC 6120 §6.4.5 / §6.4.6). */
async function saslAnswer(rc: RawClient, since: number, timeoutMs = 15_000): Promise<SaslAnswer> {
  const el = await waitForElement(
    rc,
    (e) => e.ns === NS_SASL && (e.name === "success" || e.name === "failure" || e.name === "challenge"),
    timeoutMs,
  );
  const ms = Date.now() - since;
  if (el.name !== "failure") return { outcome: el.name, text: undefined, ms };
  const condition = el.elements().find((e) => e.name !== "text")?.name ?? "?";
  return { outcome: condition, text: el.getChildText("text") ?? undefined, ms };
}

/** One PLAIN attempt on a fresh connection from `from`. */
async function plainFrom(ts: TestServer, from: string, user: string, password: string): Promise<SaslAnswer> {
  const rc = await tlsFrom(ts, from);
  try {
    const start = Date.now();
    rc.send(plainAuth(user, password));
    return await saslAnswer(rc, start);
  } finally {
    rc.destroy();
  }
}

function features(rc: RawClient): Element {
  const el = parseServerOutput(rc.data).elements.find((e) => e.name === "features");
  assert.ok(el, "stream features");
  return el;
}

function advertisedBindings(rc: RawClient): string[] | undefined {
  return features(rc)
    .getChild("sasl-channel-binding", NS_SASL_CB)
    ?.getChildren("channel-binding")
    .map((c) => c.attrs.type as string);
}

function offeredMechanisms(rc: RawClient): string[] {
  return (
    features(rc)
      .getChild("mechanisms", NS_SASL)
      ?.getChildren("mechanism")
      .map((m) => m.text()) ?? []
  );
}

/** XEP-0474 §5.1: base64 of H(sorted mechanisms joined by 0x1E [+ 0x1F + sorted channel-binding types joined by 0x1E]). */
function ssdpHash(hash: "sha1" | "sha256", mechanisms: string[], bindings: string[] | undefined): string {
  let s = [...mechanisms].sort().join("\x1e");
  if (bindings !== undefined) s += `\x1f${[...bindings].sort().join("\x1e")}`;
  return createHash(hash).update(s, "utf8").digest("base64");
}

/** A raw SCRAM exchange on `rc`; returns the answer to client-final (or the earlier failure) and the server-first. */
async function scram(
  rc: RawClient,
  mechanism: string,
  user: string,
  password: string,
  gs2Header = "n,,",
  cbData?: Buffer,
): Promise<{ answer: SaslAnswer; serverFirst: string | undefined }> {
  const hash = mechanism.startsWith("SCRAM-SHA-256") ? "SHA-256" : "SHA-1";
  const client = new ScramTestClient(hash, {
    username: user,
    password,
    clientNonce: randomBytes(18).toString("base64"),
    gs2Header,
    ...(cbData ? { cbData } : {}),
  });
  rc.data = "";
  const start = Date.now();
  rc.send(`<auth xmlns='${NS_SASL}' mechanism='${mechanism}'>${client.clientFirst().toString("base64")}</auth>`);
  const first = await waitForElement(rc, (e) => e.ns === NS_SASL && (e.name === "challenge" || e.name === "failure"), 15_000);
  if (first.name === "failure") return { answer: await saslAnswer(rc, start), serverFirst: undefined };
  const serverFirst = Buffer.from(first.text(), "base64");
  const final = await client.clientFinal(serverFirst);
  rc.data = "";
  rc.send(`<response xmlns='${NS_SASL}'>${final.toString("base64")}</response>`);
  return { answer: await saslAnswer(rc, start), serverFirst: serverFirst.toString("utf8") };
}

function logLines(ts: TestServer, msg: string): Record<string, unknown>[] {
  return ts.logs.filter((l) => l.msg === msg);
}

describe("login throttle with its defaults", { timeout: 120_000 }, () => {
  let ts: TestServer;

  before(async () => {
    ts = await startTestServer({ defaultThrottle: true });
    for (const u of ["alice", "bob"]) await ts.addUser(u, `${u}-pw`);
  });
  after(async () => {
    await ts?.stop();
  });

  it("PLAIN from an address throttled for an account: the right and the wrong password get the same answer", async () => {
    for (let i = 0; i < 5; i++) {
      const r = await plainFrom(ts, "127.0.0.1", "alice", `guess-${i}`);
      assert.equal(r.outcome, "not-authorized", `guess ${i + 1}: ${JSON.stringify(r)}`);
    }
    const wrong = await plainFrom(ts, "127.0.0.1", "alice", "guess-again");
    const right = await plainFrom(ts, "127.0.0.1", "alice", "alice-pw");
    assert.equal(wrong.outcome, "temporary-auth-failure", JSON.stringify(wrong));
    assert.deepEqual({ ...right, ms: 0 }, { ...wrong, ms: 0 }, "no oracle: same condition, same text");
    // No password is checked while refused (so no PBKDF2 timing difference either): both come back at once.
    assert.ok(wrong.ms < 1000 && right.ms < 1000, `${wrong.ms} ms / ${right.ms} ms`);
    // SCRAM from the same address is refused before any password is involved.
    const rc = await tlsFrom(ts, "127.0.0.1");
    const { answer, serverFirst } = await scram(rc, "SCRAM-SHA-256", "alice", "alice-pw");
    rc.destroy();
    assert.equal(serverFirst, undefined);
    assert.equal(answer.outcome, "temporary-auth-failure");
    assert.equal(logLines(ts, "login throttle: refusing an address for an account").length, 1, "logged once per episode");
  });

  it("the owner still logs in from an address that has not been failing, even with the account under attack", async () => {
    // More guesses at alice from other addresses: the account-wide slowdown starts, but never refuses.
    for (const from of ["127.0.0.3", "127.0.0.4"]) {
      for (let i = 0; i < 5; i++) {
        const r = await plainFrom(ts, from, "alice", `spray-${i}`);
        assert.equal(r.outcome, "not-authorized", `${from} guess ${i + 1}: ${JSON.stringify(r)}`);
      }
    }
    assert.ok(logLines(ts, "login throttle: slowing down logins to an account").length >= 1);
    const owner = await plainFrom(ts, "127.0.0.2", "alice", "alice-pw");
    assert.equal(owner.outcome, "success", JSON.stringify(owner));
    assert.ok(owner.ms < 3500, `the account-wide slowdown is bounded (${owner.ms} ms)`);
    const rc = await tlsFrom(ts, "127.0.0.5");
    const { answer } = await scram(rc, "SCRAM-SHA-1", "alice", "alice-pw");
    rc.destroy();
    assert.equal(answer.outcome, "success", JSON.stringify(answer));
    // A wrong password from a clean address is an ordinary failure, not a lock-out notice.
    assert.equal((await plainFrom(ts, "127.0.0.6", "alice", "typo")).outcome, "not-authorized");
  });
});

describe("login throttle per address, exemptions", { timeout: 120_000 }, () => {
  let ts: TestServer;

  before(async () => {
    ts = await startTestServer({
      defaultThrottle: true,
      yaml: [
        "auth:",
        "  throttle:",
        "    per_ip: { delay_after: 1, attempts: 3, window: 600 }",
        "    per_ip_account: { delay_after: 1, attempts: 3, window: 600 }",
        "    initial_delay: 0.3",
        "    max_delay: 1",
        '    exempt: ["127.0.0.8", "10.0.0.0/8", "::1"]',
      ].join("\n"),
    });
    for (const u of ["alice", "bob", "carol"]) await ts.addUser(u, `${u}-pw`);
  });
  after(async () => {
    await ts?.stop();
  });

  it("an address that fails against many accounts is slowed down, then refused whatever it sends", async () => {
    const first = await plainFrom(ts, "127.0.0.6", "alice", "x");
    assert.equal(first.outcome, "not-authorized");
    const second = await plainFrom(ts, "127.0.0.6", "carol", "x");
    assert.equal(second.outcome, "not-authorized");
    assert.ok(second.ms >= 250, `the second failure from the address is delayed (${second.ms} ms)`);
    const third = await plainFrom(ts, "127.0.0.6", "nobody", "x");
    assert.equal(third.outcome, "not-authorized");
    assert.ok(third.ms >= 550, `and the next one longer (${third.ms} ms)`);
    // Three failures: the address is refused, for an account it never tried and with the right password too.
    const refused = await plainFrom(ts, "127.0.0.6", "bob", "bob-pw");
    assert.equal(refused.outcome, "temporary-auth-failure", JSON.stringify(refused));
    const rc = await tlsFrom(ts, "127.0.0.6");
    const { answer } = await scram(rc, "SCRAM-SHA-256", "bob", "bob-pw");
    rc.destroy();
    assert.equal(answer.outcome, "temporary-auth-failure");
    // Another address is not affected.
    assert.equal((await plainFrom(ts, "127.0.0.7", "bob", "bob-pw")).outcome, "success");
    const refusing = logLines(ts, "login throttle: refusing an address");
    assert.equal(refusing.length, 1, `one log line per episode, not per attempt: ${JSON.stringify(refusing)}`);
    assert.equal(refusing[0]?.ip, "127.0.0.6");
    assert.equal(logLines(ts, "login throttle: delaying an address").length, 1);
  });

  it("while an address is delayed, a right password waits as long as a wrong one", async () => {
    assert.equal((await plainFrom(ts, "127.0.0.10", "carol", "x")).outcome, "not-authorized");
    const wrong = await plainFrom(ts, "127.0.0.10", "carol", "y");
    assert.equal(wrong.outcome, "not-authorized");
    const right = await plainFrom(ts, "127.0.0.11", "carol", "x"); // another address: a baseline failure
    assert.equal(right.outcome, "not-authorized");
    const rightDelayed = await plainFrom(ts, "127.0.0.10", "carol", "carol-pw");
    assert.equal(rightDelayed.outcome, "success");
    assert.ok(wrong.ms >= 250 && rightDelayed.ms >= 250, `both delayed: ${wrong.ms} ms / ${rightDelayed.ms} ms`);
  });

  it("parallel attempts from one address cannot all slip past the limit before their failures are counted", async () => {
    // Eight connections send a wrong password at the same moment; the limit is three per address.
    const clients = await Promise.all(Array.from({ length: 8 }, () => tlsFrom(ts, "127.0.0.12")));
    const start = Date.now();
    for (const [i, rc] of clients.entries()) rc.send(plainAuth(`user${i}`, "wrong"));
    const answers = await Promise.all(clients.map((rc) => saslAnswer(rc, start)));
    for (const rc of clients) rc.destroy();
    const checked = answers.filter((a) => a.outcome === "not-authorized").length;
    assert.equal(checked, 3, `passwords checked: ${JSON.stringify(answers.map((a) => a.outcome))}`);
    assert.equal(answers.filter((a) => a.outcome === "temporary-auth-failure").length, 5);
  });

  it("an exempt address (a trusted proxy) is neither delayed nor refused", async () => {
    let total = 0;
    for (let i = 0; i < 6; i++) {
      const r = await plainFrom(ts, "127.0.0.8", "alice", `wrong-${i}`);
      assert.equal(r.outcome, "not-authorized", `attempt ${i + 1}: ${JSON.stringify(r)}`);
      total += r.ms;
    }
    // Throttled, the 2nd to 6th answers would wait 0.3 + 0.6 + 1 + 1 + 1 s.
    assert.ok(total < 2000, `no delays (${total} ms for six attempts)`);
    assert.equal((await plainFrom(ts, "127.0.0.8", "alice", "alice-pw")).outcome, "success");
    assert.ok(!ts.logs.some((l) => typeof l.msg === "string" && l.msg.startsWith("login throttle") && l.ip === "127.0.0.8"));
  });
});

describe("XEP-0440 channel-binding types and XEP-0474 downgrade protection", { timeout: 120_000 }, () => {
  let ts: TestServer;

  before(async () => {
    ts = await startTestServer();
    await ts.addUser("alice", "alice-pw");
  });
  after(async () => {
    await ts?.stop();
  });

  it("advertises the types this connection can supply: both on TLS 1.3, tls-server-end-point only on TLS 1.2", async () => {
    const tls13 = await tlsFrom(ts, "127.0.0.1", "TLSv1.3");
    assert.equal((tls13.tlsSocket as TLSSocket).getProtocol(), "TLSv1.3");
    assert.deepEqual(advertisedBindings(tls13), ["tls-exporter", "tls-server-end-point"]);
    tls13.destroy();
    const tls12 = await tlsFrom(ts, "127.0.0.1", "TLSv1.2");
    assert.equal((tls12.tlsSocket as TLSSocket).getProtocol(), "TLSv1.2");
    assert.deepEqual(advertisedBindings(tls12), ["tls-server-end-point"]);
    tls12.destroy();
  });

  for (const [mechanism, hash] of [
    ["SCRAM-SHA-256", "sha256"],
    ["SCRAM-SHA-1", "sha1"],
  ] as const) {
    it(`${mechanism}: server-first carries the XEP-0474 hash of the offered mechanisms and binding types, and the login succeeds`, async () => {
      const rc = await tlsFrom(ts);
      const mechs = offeredMechanisms(rc);
      const bindings = advertisedBindings(rc);
      const { answer, serverFirst } = await scram(rc, mechanism, "alice", "alice-pw");
      rc.destroy();
      assert.equal(answer.outcome, "success", JSON.stringify(answer));
      const h = /(?:^|,)h=([^,]+)/.exec(serverFirst ?? "")?.[1];
      assert.equal(h, ssdpHash(hash, mechs, bindings), serverFirst);
    });
  }

  it("gs2 flag 'y' from a client that could not use any offered type is accepted (RFC 5802 §6 with XEP-0440)", async () => {
    // Stock slixmpp's sequence: -PLUS with tls-unique (not offered: RFC 9266 §3), then plain SCRAM with 'y'.
    const rc = await tlsFrom(ts);
    const plus = await scram(rc, "SCRAM-SHA-256-PLUS", "alice", "alice-pw", "p=tls-unique,,");
    assert.equal(plus.answer.outcome, "malformed-request");
    const { answer } = await scram(rc, "SCRAM-SHA-256", "alice", "alice-pw", "y,,");
    rc.destroy();
    assert.equal(answer.outcome, "success", JSON.stringify(answer));
  });

  it("gs2 flag 'y' after the client has shown it supports an offered type is a downgrade and fails", async () => {
    const rc = await tlsFrom(ts);
    const tls = rc.tlsSocket as TLSSocket;
    const exporter = tls.exportKeyingMaterial(32, "EXPORTER-Channel-Binding", Buffer.alloc(0));
    // The client starts SCRAM-SHA-256-PLUS with tls-exporter, which this connection offers, then gives up …
    rc.data = "";
    const client = new ScramTestClient("SHA-256", {
      username: "alice",
      password: "alice-pw",
      clientNonce: randomBytes(18).toString("base64"),
      gs2Header: "p=tls-exporter,,",
      cbData: exporter,
    });
    rc.send(`<auth xmlns='${NS_SASL}' mechanism='SCRAM-SHA-256-PLUS'>${client.clientFirst().toString("base64")}</auth>`);
    await waitForElement(rc, (e) => e.ns === NS_SASL && e.name === "challenge");
    rc.send(`<abort xmlns='${NS_SASL}'/>`);
    await waitForElement(rc, (e) => e.ns === NS_SASL && e.name === "failure");
    // … and claims with 'y' that the server does not support channel binding: what a stripped offer looks like.
    const { answer, serverFirst } = await scram(rc, "SCRAM-SHA-256", "alice", "alice-pw", "y,,");
    rc.destroy();
    assert.equal(serverFirst, undefined, "refused before server-first");
    assert.deepEqual([answer.outcome, answer.text], ["not-authorized", "server-does-support-channel-binding"]);
  });
});

describe("auth.scram_downgrade_check: plus_offered (RFC 5802 §6 to the letter)", { timeout: 60_000 }, () => {
  let ts: TestServer;

  before(async () => {
    ts = await startTestServer({ yaml: "auth: { scram_downgrade_check: plus_offered }", defaultThrottle: true });
    await ts.addUser("alice", "alice-pw");
  });
  after(async () => {
    await ts?.stop();
  });

  it("refuses 'y' whenever -PLUS is offered, even from a client that never bound, without counting a guess", async () => {
    const rc = await tlsFrom(ts);
    const { answer } = await scram(rc, "SCRAM-SHA-256", "alice", "alice-pw", "y,,");
    rc.destroy();
    assert.deepEqual([answer.outcome, answer.text], ["not-authorized", "server-does-support-channel-binding"]);
    // Not counted as a guess: the right password still gets in at once from the same address.
    assert.equal((await plainFrom(ts, "127.0.0.1", "alice", "alice-pw")).outcome, "success");
  });
});

describe("slixmpp (Debian's 1.8) on TLS 1.3", { timeout: 120_000 }, () => {
  let ts: TestServer;
  useSlixmpp();

  before(async () => {
    ts = await startTestServer();
    await ts.addUser("alice", "alice-secret");
  });
  after(async () => {
    await ts?.stop();
  });

  for (const mechanism of ["SCRAM-SHA-1", "SCRAM-SHA-256"]) {
    it(`stock slixmpp logs in with ${mechanism} over STARTTLS (gs2 flag 'y', it only knows tls-unique)`, async () => {
      const r = await runSlixmpp<{ ok: boolean; mechanism: string; gs2_header: string; tls_version: string; ping?: boolean }>(
        "login.py",
        { host: "127.0.0.1", port: ts.port, jid: `alice@${ts.domain}`, password: "alice-secret", mechanism },
      );
      assert.equal(r.ok, true, JSON.stringify(r));
      assert.equal(r.mechanism, mechanism);
      assert.equal(r.gs2_header, "y,,");
      assert.equal(r.tls_version, "TLSv1.3");
      assert.equal(r.ping, true);
    });
  }
});
