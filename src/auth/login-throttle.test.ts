import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ipKey, LoginThrottle } from "./login-throttle.js";

function throttle(overrides: { maxEntries?: number } = {}) {
  const clock = { ms: 1_000_000 };
  const t = new LoginThrottle({
    perIp: { attempts: 5, windowSeconds: 60 },
    perAccount: { attempts: 3, windowSeconds: 300 },
    now: () => clock.ms,
    ...overrides,
  });
  return { t, clock };
}

describe("LoginThrottle", () => {
  it("allows attempts until the per-account limit, then asks to wait until the oldest failure leaves the window", () => {
    const { t, clock } = throttle();
    for (let i = 0; i < 3; i++) {
      assert.equal(t.retryAfter("192.0.2.1", "juliet@example.com"), 0);
      t.recordFailure("192.0.2.1", "juliet@example.com");
      clock.ms += 10_000;
    }
    // Failures at +0 s, +10 s, +20 s; now +30 s: the first expires at +300 s.
    assert.equal(t.retryAfter("192.0.2.99", "juliet@example.com"), 270);
    assert.equal(t.retryAfter("192.0.2.99", "romeo@example.com"), 0, "other accounts are not affected");
    clock.ms += 269_000;
    assert.equal(t.retryAfter("192.0.2.99", "juliet@example.com"), 1);
    clock.ms += 1_000;
    assert.equal(t.retryAfter("192.0.2.99", "juliet@example.com"), 0, "sliding window: one failure has left it");
    t.recordFailure("192.0.2.99", "juliet@example.com");
    assert.equal(t.retryAfter("192.0.2.99", "juliet@example.com"), 10, "the next-oldest failure now decides");
  });

  it("limits one address across many accounts", () => {
    const { t, clock } = throttle();
    for (let i = 0; i < 5; i++) t.recordFailure("198.51.100.7", `user${i}@example.com`);
    assert.equal(t.retryAfter("198.51.100.7", "fresh@example.com"), 60);
    assert.equal(t.retryAfter("198.51.100.7", undefined), 60, "checked before the client names an account");
    assert.equal(t.retryAfter("198.51.100.8", "fresh@example.com"), 0);
    clock.ms += 60_000;
    assert.equal(t.retryAfter("198.51.100.7", "fresh@example.com"), 0);
  });

  it("clears the account's failures on success but keeps the address's", () => {
    const { t } = throttle();
    for (let i = 0; i < 3; i++) t.recordFailure("203.0.113.5", "juliet@example.com");
    t.recordFailure("203.0.113.5", "romeo@example.com");
    t.recordFailure("203.0.113.5", "romeo@example.com");
    assert.ok(t.retryAfter("203.0.113.9", "juliet@example.com") > 0);
    t.recordSuccess("203.0.113.5", "juliet@example.com");
    assert.equal(t.retryAfter("203.0.113.9", "juliet@example.com"), 0);
    assert.equal(t.retryAfter("203.0.113.5", "juliet@example.com"), 60, "five failures from the address remain");
  });

  it("counts an IPv6 /64 as one address and IPv4-mapped addresses as IPv4", () => {
    const { t } = throttle();
    for (let i = 1; i <= 5; i++) t.recordFailure(`2001:db8:1:2::${i}`, `u${i}@example.com`);
    assert.equal(t.retryAfter("2001:db8:1:2:ffff:ffff:ffff:ffff", "x@example.com"), 60);
    assert.equal(t.retryAfter("2001:db8:1:3::1", "x@example.com"), 0);
    for (let i = 1; i <= 5; i++) t.recordFailure("::ffff:192.0.2.200", `v${i}@example.com`);
    assert.equal(t.retryAfter("192.0.2.200", "x@example.com"), 60);
  });

  it("keeps memory bounded by forgetting the least recently failing keys", () => {
    const { t } = throttle({ maxEntries: 3 });
    for (let i = 0; i < 5; i++) t.recordFailure("192.0.2.1", "juliet@example.com");
    assert.ok(t.retryAfter("192.0.2.1", undefined) > 0);
    for (const ip of ["10.0.0.1", "10.0.0.2", "10.0.0.3"]) t.recordFailure(ip, undefined);
    assert.equal(t.retryAfter("192.0.2.1", undefined), 0, "evicted: the cap won over the window");
    assert.ok(t.retryAfter("192.0.2.1", "juliet@example.com") > 0, "accounts have their own cap");
  });

  it("attempts: 0 turns a throttle off", () => {
    const t = new LoginThrottle({ perIp: { attempts: 0, windowSeconds: 60 }, perAccount: { attempts: 1, windowSeconds: 60 } });
    for (let i = 0; i < 50; i++) t.recordFailure("192.0.2.9", undefined);
    assert.equal(t.retryAfter("192.0.2.9", undefined), 0);
    t.recordFailure("192.0.2.9", "romeo@example.net");
    assert.ok(t.retryAfter("192.0.2.10", "romeo@example.net") > 0, "the other throttle still works");
  });

  it("refuses nonsensical limits", () => {
    assert.throws(
      () => new LoginThrottle({ perIp: { attempts: -1, windowSeconds: 60 }, perAccount: { attempts: 1, windowSeconds: 1 } }),
      RangeError,
    );
    assert.throws(
      () => new LoginThrottle({ perIp: { attempts: 1, windowSeconds: 60 }, perAccount: { attempts: 1, windowSeconds: 0 } }),
      RangeError,
    );
  });
});

describe("ipKey", () => {
  it("normalises IPv6 to its /64 and leaves IPv4 alone", () => {
    assert.equal(ipKey("192.0.2.1"), "192.0.2.1");
    assert.equal(ipKey("2001:DB8::1"), "2001:db8:0:0::/64");
    assert.equal(ipKey("2001:0db8:0000:0000:1:2:3:4"), "2001:db8:0:0::/64");
    assert.equal(ipKey("fe80::1%eth0"), "fe80:0:0:0::/64");
    assert.equal(ipKey("::ffff:10.1.2.3"), "10.1.2.3");
    assert.equal(ipKey("64:ff9b::192.0.2.33"), "64:ff9b:0:0::/64");
  });
});
