// FAST token administration over the admin HTTP API (docs/admin-api.md): an account's tokens listed with the
// clients holding them (never a token), revoked all or per client, and the revoked token refused at the client's
// next FAST login on the running server; the same revocation as an admin's ad-hoc command. The token holders are
// raw SASL2 streams over TLS; the admin running the command is an @xmpp/client.
import assert from "node:assert/strict";
import { createHmac, randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { cmdOf, errorOf, runCommand } from "../helpers/adhoc.js";
import type { RawClient } from "../helpers/raw-client.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { connect } from "../helpers/xmpp-client.js";
import { NS_SASL, rawTls, waitForElement } from "./raw-helpers.js";

const NS_SASL2 = "urn:xmpp:sasl:2";
const NS_FAST = "urn:xmpp:fast:0";

const answer = (rc: RawClient) =>
  waitForElement(rc, (e) => (e.name === "success" || e.name === "failure") && e.ns === NS_SASL2);

const REVOKE_NODE = "https://natter.im/protocol/admin#revoke-fast-tokens";

describe("FAST tokens (XEP-0484) revoked by admins: admin API and ad-hoc command", () => {
  let ts: TestServer;
  let readToken: string;
  let writeToken: string;

  async function call(method: string, path: string, bearer = writeToken): Promise<{ status: number; body: any }> {
    const res = await fetch(`http://127.0.0.1:${ts.httpPort}/admin/api${path}`, {
      method,
      headers: { authorization: `Bearer ${bearer}` },
    });
    const text = await res.text();
    return { status: res.status, body: text === "" ? undefined : JSON.parse(text) };
  }

  /** A password login over SASL2 that asks for a token, as a phone's first login does. */
  async function tokenFor(user: string, password: string, agentId: string, software: string): Promise<string> {
    const rc = await rawTls(ts);
    try {
      rc.send(
        `<authenticate xmlns='${NS_SASL2}' mechanism='PLAIN'><initial-response>${Buffer.from(`\0${user}\0${password}`).toString("base64")}</initial-response>` +
          `<user-agent id='${agentId}'><software>${software}</software><device>phone</device></user-agent>` +
          `<request-token xmlns='${NS_FAST}' mechanism='HT-SHA-256-NONE'/></authenticate>`,
      );
      const success = await answer(rc);
      const token = success.getChild("token", NS_FAST)?.attrs.token;
      assert.ok(token, success.toString());
      return token;
    } finally {
      rc.destroy();
    }
  }

  async function fastLogin(user: string, token: string, agentId: string): Promise<string> {
    const rc = await rawTls(ts);
    try {
      const proof = createHmac("sha256", Buffer.from(token, "utf8")).update("Initiator").digest();
      const initial = Buffer.concat([Buffer.from(`${user}\0`), proof]).toString("base64");
      rc.send(
        `<authenticate xmlns='${NS_SASL2}' mechanism='HT-SHA-256-NONE'><initial-response>${initial}</initial-response>` +
          `<user-agent id='${agentId}'/><fast xmlns='${NS_FAST}'/></authenticate>`,
      );
      const el = await answer(rc);
      return el.name === "success" ? "success" : (el.getChildByNs(NS_SASL)?.name ?? el.toString());
    } finally {
      rc.destroy();
    }
  }

  before(async () => {
    ts = await startTestServer({ yaml: "admins: [admin@localhost]" });
    for (const u of ["alice", "bob", "carol", "admin"]) await ts.addUser(u, `${u}-pw`);
    readToken = (await ts.server.apiTokens.create({ scopes: ["users:read"], name: "read" })).token;
    writeToken = (await ts.server.apiTokens.create({ scopes: ["users:read", "users:write"], name: "write" })).token;
  });

  after(async () => {
    await ts?.stop();
  });

  test("list, revoke one client's token, then all: each refused at once, the others still valid", async () => {
    const phone = randomUUID();
    const laptop = randomUUID();
    const phoneToken = await tokenFor("alice", "alice-pw", phone, "PhoneChat");
    const laptopToken = await tokenFor("alice", "alice-pw", laptop, "DeskChat");

    const listed = await call("GET", "/users/alice@localhost/fast-tokens", readToken);
    assert.equal(listed.status, 200);
    const byClient = new Map((listed.body as { client: string }[]).map((t) => [t.client, t]));
    assert.deepEqual(
      { ...byClient.get(phone), issued: 0, expiry: 0 },
      { client: phone, software: "PhoneChat", device: "phone", mechanism: "HT-SHA-256-NONE", issued: 0, expiry: 0 },
    );
    assert.ok(byClient.has(laptop));
    const phoneEntry = byClient.get(phone) as unknown as { issued: number; expiry: number };
    assert.ok(phoneEntry.expiry > phoneEntry.issued && phoneEntry.issued <= Date.now());
    const raw = JSON.stringify(listed.body);
    assert.ok(!raw.includes(phoneToken) && !raw.includes(laptopToken), "never a token in the listing");

    // A read-only API token cannot revoke.
    assert.equal((await call("DELETE", `/users/alice@localhost/fast-tokens?client=${phone}`, readToken)).status, 403);
    // A client that holds no token: 404, nothing revoked.
    assert.equal((await call("DELETE", `/users/alice@localhost/fast-tokens?client=${randomUUID()}`)).status, 404);
    assert.equal(await fastLogin("alice", phoneToken, phone), "success");

    const one = await call("DELETE", `/users/alice@localhost/fast-tokens?client=${phone}`);
    assert.deepEqual([one.status, one.body], [200, { count: 1 }]);
    assert.equal(await fastLogin("alice", phoneToken, phone), "not-authorized", "revoked at once");
    assert.equal(await fastLogin("alice", laptopToken, laptop), "success", "another client's token is kept");

    const rest = await call("DELETE", "/users/alice@localhost/fast-tokens");
    assert.deepEqual([rest.status, rest.body], [200, { count: 1 }]);
    assert.equal(await fastLogin("alice", laptopToken, laptop), "not-authorized");
    assert.deepEqual((await call("GET", "/users/alice@localhost/fast-tokens")).body, []);
  });

  test("an unknown account is 404, a malformed client id 400, and another account's tokens are untouched", async () => {
    const agent = randomUUID();
    const bobToken = await tokenFor("bob", "bob-pw", agent, "BobChat");
    assert.equal((await call("GET", "/users/nobody@localhost/fast-tokens")).status, 404);
    assert.equal((await call("DELETE", "/users/nobody@localhost/fast-tokens")).status, 404);
    const bad = await call("DELETE", "/users/bob@localhost/fast-tokens?client=not%20an%20id");
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error, "bad-request");
    assert.deepEqual((await call("DELETE", "/users/alice@localhost/fast-tokens")).body, { count: 0 });
    assert.equal(await fastLogin("bob", bobToken, agent), "success");
  });

  test("an admin's ad-hoc command revokes one client's tokens or all; a non-admin is refused", async () => {
    const phone = randomUUID();
    const laptop = randomUUID();
    const phoneToken = await tokenFor("carol", "carol-pw", phone, "PhoneChat");
    const laptopToken = await tokenFor("carol", "carol-pw", laptop, "DeskChat");
    const admin = await connect(ts, "admin", "admin-pw", { resource: "console" });
    const bob = await connect(ts, "bob", "bob-pw", { resource: "nosy" });
    try {
      const refused = await runCommand(bob, REVOKE_NODE, { accountjid: "carol@localhost" });
      assert.equal(errorOf(refused).condition, "forbidden");
      assert.equal(await fastLogin("carol", phoneToken, phone), "success");

      const one = await runCommand(admin, REVOKE_NODE, { accountjid: "carol@localhost", client: phone });
      assert.match(cmdOf(one).getChild("note")?.getText() ?? "", /^Revoked 1 FAST token of carol@localhost/);
      assert.equal(await fastLogin("carol", phoneToken, phone), "not-authorized");
      assert.equal(await fastLogin("carol", laptopToken, laptop), "success");

      const all = await runCommand(admin, REVOKE_NODE, { accountjid: "carol@localhost" });
      assert.match(cmdOf(all).getChild("note")?.getText() ?? "", /^Revoked 1 FAST token of carol@localhost/);
      assert.equal(await fastLogin("carol", laptopToken, laptop), "not-authorized");

      const unknown = await runCommand(admin, REVOKE_NODE, { accountjid: "nobody@localhost" });
      assert.equal(errorOf(unknown).condition, "item-not-found");
    } finally {
      await admin.stop();
      await bob.stop();
    }
  });
});
