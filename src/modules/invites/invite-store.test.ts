// The invitation store's rules: token shape and strength, single and counted use, expiry, limits, purge; the
// URIs of XEP-0401 §3 / XEP-0379 §3; durations as the CLI reads them.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createMemoryDriver } from "../../storage/memory/driver.js";
import { type Invite, InviteLimitError, InviteStore, inviteUri, isTokenShaped, parseDuration } from "./invite-store.js";

const limits = { maxTotal: 3, maxPerUser: 2 };
const fresh = () => new InviteStore(createMemoryDriver().open("example.org", "invites", "map"));
const spec = (inviter = "admin") => ({ kind: "account" as const, inviter, subscribe: false, ttlSeconds: 60 });

describe("invite store", () => {
  it("makes 192-bit base64url tokens, each different", async () => {
    const s = fresh();
    const a = await s.create(spec(), limits);
    const b = await s.create(spec(), limits);
    assert.equal(Buffer.from(a.token, "base64url").length, 24);
    assert.ok(isTokenShaped(a.token));
    assert.notEqual(a.token, b.token);
  });

  it("a single-use token is spent by one consume; a counted one after n", async () => {
    const s = fresh();
    const one = await s.create(spec(), limits);
    assert.ok(await s.consume(one.token));
    assert.equal(await s.consume(one.token), undefined);
    assert.equal(await s.valid(one.token), undefined);
    const two = await s.create({ ...spec(), uses: 2 }, limits);
    assert.equal((await s.consume(two.token))?.usesLeft, 2);
    assert.ok(await s.valid(two.token));
    assert.ok(await s.consume(two.token));
    assert.equal(await s.valid(two.token), undefined);
  });

  it("expires, and purge removes what expired", async () => {
    const s = fresh();
    const t0 = 1_000_000;
    const inv = await s.create(spec(), limits, t0);
    assert.ok(await s.valid(inv.token, t0 + 59_999));
    assert.equal(await s.valid(inv.token, t0 + 60_000), undefined);
    assert.equal(await s.purge(t0 + 60_000), 1);
    assert.deepEqual(await s.all(t0), []);
  });

  it("refuses past the per-user and the total limit; admins count only towards the total", async () => {
    const s = fresh();
    await s.create(spec("alice@example.org"), limits);
    await s.create(spec("alice@example.org"), limits);
    await assert.rejects(s.create(spec("alice@example.org"), limits), InviteLimitError);
    await s.create(spec(), limits);
    await assert.rejects(s.create(spec(), limits), InviteLimitError);
  });

  it("never looks up what is not token-shaped; revoke reports whether there was one", async () => {
    const s = fresh();
    assert.equal(await s.valid("../../etc"), undefined);
    assert.equal(await s.revoke("x"), false);
    const inv = await s.create(spec(), limits);
    assert.equal(await s.revoke(inv.token), true);
    assert.equal(await s.valid(inv.token), undefined);
  });

  it("revokes every invitation of one inviter (account deleted), and only those", async () => {
    const s = fresh();
    await s.create(spec("alice@example.org"), limits);
    const other = await s.create(spec("bob@example.org"), limits);
    assert.equal(await s.revokeBy("alice@example.org"), 1);
    assert.deepEqual(
      (await s.all()).map((i) => i.token),
      [other.token],
    );
  });

  it("builds the URIs of XEP-0401 §3 and XEP-0379 §3", () => {
    const base: Invite = {
      token: "T".repeat(32),
      kind: "account",
      inviter: "admin",
      subscribe: false,
      created: 0,
      expires: 1,
      usesLeft: 1,
    };
    assert.equal(inviteUri(base, "example.org"), `xmpp:example.org?register;preauth=${"T".repeat(32)}`);
    assert.equal(
      inviteUri({ ...base, kind: "roster", inviter: "romeo@example.org", subscribe: true }, "example.org"),
      `xmpp:romeo@example.org?roster;preauth=${"T".repeat(32)};ibr=y`,
    );
  });

  it("reads durations", () => {
    assert.equal(parseDuration("90"), 90);
    assert.equal(parseDuration("90m"), 5400);
    assert.equal(parseDuration("7d"), 604800);
    assert.equal(parseDuration("2w"), 1209600);
    assert.equal(parseDuration("0"), undefined);
    assert.equal(parseDuration("-5"), undefined);
    assert.equal(parseDuration("1y"), undefined);
  });
});
