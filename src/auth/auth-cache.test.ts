import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AuthCache } from "./auth-cache.js";

function cache(ttlMs = 60_000, maxEntries = 100) {
  const clock = { now: 1_000_000 };
  return { clock, cache: new AuthCache({ ttlMs, maxEntries, now: () => clock.now }) };
}

describe("AuthCache", () => {
  it("remembers a verified password for its TTL, and only that password", () => {
    const { clock, cache: c } = cache();
    c.rememberVerified("example.org", "alice", "s3cret");
    assert.equal(c.hasVerified("example.org", "alice", "s3cret"), true);
    assert.equal(c.hasVerified("example.org", "alice", "s3cret "), false, "another password");
    assert.equal(c.hasVerified("example.com", "alice", "s3cret"), false, "another host");
    assert.equal(c.hasVerified("example.org", "bob", "s3cret"), false, "another user");
    clock.now += 59_999;
    assert.equal(c.hasVerified("example.org", "alice", "s3cret"), true);
    clock.now += 1;
    assert.equal(c.hasVerified("example.org", "alice", "s3cret"), false, "expired");
  });

  it("never holds the password itself", () => {
    const { cache: c } = cache();
    c.rememberVerified("example.org", "alice", "very-distinctive-password");
    const seen = JSON.stringify([...(c as unknown as { passwords: Map<string, unknown> }).passwords.values()]);
    assert.equal(seen.includes("very-distinctive-password"), false);
  });

  it("caches nothing negative about passwords, and forgets on a failure", () => {
    const { cache: c } = cache();
    assert.equal(c.hasVerified("example.org", "alice", "wrong"), false);
    assert.equal(c.size.passwords, 0);
    c.rememberVerified("example.org", "alice", "old");
    c.forget("example.org", "alice");
    assert.equal(c.hasVerified("example.org", "alice", "old"), false);
    assert.equal(c.exists("example.org", "alice"), undefined);
  });

  it("is bounded: the oldest entry goes first", () => {
    const { cache: c } = cache(60_000, 3);
    for (const user of ["a", "b", "c", "d"]) c.rememberVerified("h", user, "pw");
    assert.equal(c.size.passwords, 3);
    assert.equal(c.hasVerified("h", "a", "pw"), false);
    assert.equal(c.hasVerified("h", "d", "pw"), true);
    for (let i = 0; i < 10; i++) c.rememberExists("h", `u${i}`, i % 2 === 0);
    assert.equal(c.size.existence, 3);
  });

  it("remembers existence answers, positive and negative, for the TTL", () => {
    const { clock, cache: c } = cache();
    c.rememberExists("h", "alice", true);
    c.rememberExists("h", "nobody", false);
    assert.equal(c.exists("h", "alice"), true);
    assert.equal(c.exists("h", "nobody"), false);
    clock.now += 60_000;
    assert.equal(c.exists("h", "alice"), undefined);
  });

  it("with a TTL of 0 remembers nothing", () => {
    const { cache: c } = cache(0);
    c.rememberVerified("h", "alice", "pw");
    c.rememberExists("h", "alice", true);
    assert.equal(c.hasVerified("h", "alice", "pw"), false);
    assert.equal(c.exists("h", "alice"), undefined);
  });
});
