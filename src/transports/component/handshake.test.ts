import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { handshakeDigest, handshakeMatches } from "./handshake.js";

describe("XEP-0114 §3 handshake", () => {
  it("is the lowercase hex SHA-1 of stream id + secret", () => {
    // The stream id of XEP-0114's example 2 with the secret "secret" (checked with Python's hashlib).
    assert.equal(handshakeDigest("3BF96D32", "secret"), "b09ea9b3b7f586be8a08d0a3dd7466f110aeb136");
  });

  it("hashes a non-ASCII secret as UTF-8", () => {
    assert.equal(handshakeDigest("id", "é"), handshakeDigest("id", "\u00e9"));
    assert.notEqual(handshakeDigest("id", "é"), handshakeDigest("id", "\u00c3\u00a9"));
  });

  it("accepts the right digest (upper case and surrounding whitespace too) and refuses anything else", () => {
    const good = handshakeDigest("abc", "s3cret");
    assert.ok(handshakeMatches(good, "abc", "s3cret"));
    assert.ok(handshakeMatches(` ${good.toUpperCase()}\n`, "abc", "s3cret"));
    assert.ok(!handshakeMatches(good, "abd", "s3cret"));
    assert.ok(!handshakeMatches(handshakeDigest("abc", "wrong"), "abc", "s3cret"));
    assert.ok(!handshakeMatches("", "abc", "s3cret"));
    assert.ok(!handshakeMatches(good.slice(1), "abc", "s3cret"));
    assert.ok(!handshakeMatches(`${good}00`, "abc", "s3cret"));
  });
});
