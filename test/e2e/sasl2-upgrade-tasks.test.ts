// XEP-0480 SASL Upgrade Tasks over a raw TLS socket (no client library implements them): an account imported
// with SCRAM-SHA-1 credentials only logs in with SCRAM-SHA-1 over SASL2, asks for UPGR-SCRAM-SHA-256, derives the
// SaltedPassword from the salt and iteration count the server sends, and can then log in with SCRAM-SHA-256.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { scramSaltedPassword } from "../../src/auth/scram-credentials.js";
import { ScramTestClient } from "../../src/auth/scram-test-client.js";
import type { ScramHash } from "../../src/auth/types.js";
import type { Element } from "../../src/core/xml/element.js";
import type { RawClient } from "../helpers/raw-client.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { rawTls, waitForElement } from "./raw-helpers.js";

const NS_SASL2 = "urn:xmpp:sasl:2";
const NS_UPGRADE = "urn:xmpp:sasl:upgrade:0";
const NS_SCRAM_UPGRADE = "urn:xmpp:scram-upgrade:0";
const NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl";

const sasl2Answer = (rc: RawClient) =>
  waitForElement(rc, (e) => e.ns === NS_SASL2 && ["success", "failure", "continue", "task-data"].includes(e.name));

/** A SCRAM exchange over SASL2 up to the server's answer after the client's proof (success, failure or continue). */
async function scramSasl2(
  rc: RawClient,
  hash: ScramHash,
  user: string,
  password: string,
  upgrades: string[] = [],
): Promise<{ answer: Element; scram: ScramTestClient }> {
  const scram = new ScramTestClient(hash, { username: user, password, clientNonce: randomUUID() });
  const asks = upgrades.map((u) => `<upgrade xmlns='${NS_UPGRADE}'>${u}</upgrade>`).join("");
  rc.data = "";
  rc.send(
    `<authenticate xmlns='${NS_SASL2}' mechanism='SCRAM-${hash}'>${asks}<initial-response>${scram.clientFirst().toString("base64")}</initial-response></authenticate>`,
  );
  const challenge = await waitForElement(
    rc,
    (e) => e.ns === NS_SASL2 && (e.name === "challenge" || e.name === "failure"),
  );
  if (challenge.name === "failure") return { answer: challenge, scram };
  rc.data = "";
  rc.send(
    `<response xmlns='${NS_SASL2}'>${(await scram.clientFinal(Buffer.from(challenge.text(), "base64"))).toString("base64")}</response>`,
  );
  return { answer: await sasl2Answer(rc), scram };
}

describe("XEP-0480 SASL upgrade tasks (SCRAM-SHA-1 → SCRAM-SHA-256)", () => {
  let ts: TestServer;

  /** An account as an import from an older server leaves it: SCRAM-SHA-1 credentials only. */
  async function sha1OnlyAccount(user: string, password: string): Promise<void> {
    await ts.addUser(user, password);
    const accounts = ts.server.core.storage.open(ts.domain, "accounts", "keyval");
    const record = (await accounts.get(user)) as { scram: Record<string, unknown> };
    await accounts.set(user, { scram: { "SHA-1": record.scram["SHA-1"] } } as never);
  }

  async function login(hash: ScramHash, user: string, password: string): Promise<string> {
    const rc = await rawTls(ts);
    try {
      return (await scramSasl2(rc, hash, user, password)).answer.name;
    } finally {
      rc.destroy();
    }
  }

  before(async () => {
    ts = await startTestServer();
  });

  after(async () => {
    await ts?.stop();
  });

  test("the SASL2 feature offers UPGR-SCRAM-SHA-256", async () => {
    const rc = await rawTls(ts);
    try {
      assert.match(
        rc.data,
        /<authentication xmlns="urn:xmpp:sasl:2">.*<upgrade xmlns="urn:xmpp:sasl:upgrade:0">UPGR-SCRAM-SHA-256<\/upgrade><\/authentication>/,
      );
    } finally {
      rc.destroy();
    }
  });

  test("a SHA-1-only account completes the task and then logs in with SCRAM-SHA-256", async () => {
    await sha1OnlyAccount("frank", "frank-pw");
    assert.equal(await login("SHA-256", "frank", "frank-pw"), "failure", "no SHA-256 credentials yet");

    const rc = await rawTls(ts);
    try {
      const { answer, scram } = await scramSasl2(rc, "SHA-1", "frank", "frank-pw", ["UPGR-SCRAM-SHA-256"]);
      // §2.2: <continue/> with the mechanism's additional data and the one task.
      assert.equal(answer.name, "continue", answer.toString());
      assert.equal(
        Buffer.from(answer.getChildText("additional-data") ?? "", "base64").toString(),
        scram.expectedServerFinal(),
      );
      assert.deepEqual(
        answer
          .getChild("tasks")
          ?.getChildren("task")
          .map((t) => t.text()),
        ["UPGR-SCRAM-SHA-256"],
      );
      rc.data = "";
      rc.send(`<next xmlns='${NS_SASL2}' task='UPGR-SCRAM-SHA-256'/>`);
      const data = await sasl2Answer(rc);
      assert.equal(data.name, "task-data", data.toString());
      const salt = data.getChild("salt", NS_SCRAM_UPGRADE);
      assert.ok(salt, "§3 <salt/> in the task data");
      const iterations = Number(salt.attrs.iterations);
      assert.ok(iterations >= 4096, `iterations ${salt.attrs.iterations}`);
      const saltedPassword = await scramSaltedPassword(
        "frank-pw",
        "SHA-256",
        iterations,
        Buffer.from(salt.text().trim(), "base64"),
      );
      rc.data = "";
      rc.send(
        `<task-data xmlns='${NS_SASL2}'><hash xmlns='${NS_SCRAM_UPGRADE}'>${saltedPassword.toString("base64")}</hash></task-data>`,
      );
      const success = await sasl2Answer(rc);
      assert.equal(success.name, "success", success.toString());
      assert.equal(success.getChildText("authorization-identifier"), `frank@${ts.domain}`);
      // The stream is authenticated: the features of an authenticated stream follow (no restart in SASL2).
      await waitForElement(
        rc,
        (e) => e.name === "features" && e.getChild("bind", "urn:ietf:params:xml:ns:xmpp-bind") !== undefined,
      );
    } finally {
      rc.destroy();
    }
    assert.equal(await login("SHA-256", "frank", "frank-pw"), "success", "SCRAM-SHA-256 works after the task");
    // §4: the older credentials stay.
    assert.equal(await login("SHA-1", "frank", "frank-pw"), "success", "SCRAM-SHA-1 still works");
    // A wrong password is still refused with the new credentials.
    assert.equal(await login("SHA-256", "frank", "not-frank-pw"), "failure");

    // Asked again, the task is not run: the account has SHA-256 credentials now.
    const again = await rawTls(ts);
    try {
      const { answer } = await scramSasl2(again, "SHA-1", "frank", "frank-pw", ["UPGR-SCRAM-SHA-256"]);
      assert.equal(answer.name, "success", answer.toString());
    } finally {
      again.destroy();
    }
  });

  test("bad task data gets a SASL2 failure, stores nothing, and the stream can authenticate again", async () => {
    await sha1OnlyAccount("gina", "gina-pw");
    const bad: [string, string][] = [
      [`<next xmlns='${NS_SASL2}' task='UPGR-BLOOP2'/>`, "a task other than the one continued"],
      [
        `<task-data xmlns='${NS_SASL2}'><hash xmlns='${NS_SCRAM_UPGRADE}'>AAAA</hash></task-data>`,
        "data before <next/>",
      ],
    ];
    const rc = await rawTls(ts);
    try {
      for (const [element, what] of bad) {
        const { answer } = await scramSasl2(rc, "SHA-1", "gina", "gina-pw", ["UPGR-SCRAM-SHA-256"]);
        assert.equal(answer.name, "continue");
        rc.data = "";
        rc.send(element);
        const failure = await sasl2Answer(rc);
        assert.equal(failure.name, "failure", what);
        assert.ok(failure.getChild("malformed-request", NS_SASL), `${what}: ${failure.toString()}`);
      }
      for (const hash of ["***", Buffer.alloc(20, 1).toString("base64"), ""]) {
        const { answer } = await scramSasl2(rc, "SHA-1", "gina", "gina-pw", ["UPGR-SCRAM-SHA-256"]);
        assert.equal(answer.name, "continue");
        rc.data = "";
        rc.send(`<next xmlns='${NS_SASL2}' task='UPGR-SCRAM-SHA-256'/>`);
        assert.equal((await sasl2Answer(rc)).name, "task-data");
        rc.data = "";
        rc.send(`<task-data xmlns='${NS_SASL2}'><hash xmlns='${NS_SCRAM_UPGRADE}'>${hash}</hash></task-data>`);
        const failure = await sasl2Answer(rc);
        assert.equal(failure.name, "failure", `hash '${hash}'`);
        assert.ok(failure.getChild("malformed-request", NS_SASL), failure.toString());
      }
    } finally {
      rc.destroy();
    }
    assert.equal(await login("SHA-256", "gina", "gina-pw"), "failure", "nothing stored");
    // A client that does not ask gets its success at once, the account unchanged.
    assert.equal(await login("SHA-1", "gina", "gina-pw"), "success");
    assert.equal(await login("SHA-256", "gina", "gina-pw"), "failure");
  });
});
