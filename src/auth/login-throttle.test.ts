import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ipKey, LoginThrottle, type LoginThrottleOptions, type ThrottleEvent, throttleLogLine } from "./login-throttle.js";

function throttle(overrides: Partial<LoginThrottleOptions> = {}) {
  const clock = { ms: 1_000_000 };
  const events: ThrottleEvent[] = [];
  const t = new LoginThrottle({
    perIp: { delayAfter: 5, attempts: 20, windowSeconds: 600 },
    perIpAccount: { delayAfter: 3, attempts: 5, windowSeconds: 600 },
    perAccount: { delayAfter: 10, windowSeconds: 600 },
    initialDelaySeconds: 0.5,
    maxDelaySeconds: 4,
    maxAccountDelaySeconds: 2,
    now: () => clock.ms,
    onThrottle: (e) => events.push(e),
    ...overrides,
  });
  return { t, clock, events };
}

const ALICE = "alice@example.com";

describe("LoginThrottle", () => {
  it("delays an address+account progressively, then refuses it, whatever the account's owner does elsewhere", () => {
    const { t } = throttle();
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      const v = t.check("192.0.2.1", ALICE);
      assert.equal(v.refused, false, `attempt ${i + 1}`);
      delays.push(v.delayMs);
      t.recordFailure("192.0.2.1", ALICE);
    }
    assert.deepEqual(delays, [0, 0, 0, 500, 1000], "the first delay after 3 failures, doubling");
    assert.deepEqual(t.check("192.0.2.1", ALICE), { refused: true, delayMs: 0 }, "refused after 5");
    assert.equal(t.check("192.0.2.1", "romeo@example.com").refused, false, "other accounts from the address: not refused");
    assert.deepEqual(t.check("198.51.100.9", ALICE), { refused: false, delayMs: 0 }, "the owner elsewhere: untouched");
  });

  it("reconfigure (a reload): an unchanged tier keeps its counts, a changed one counts afresh", () => {
    const { t } = throttle();
    for (let i = 0; i < 5; i++) t.recordFailure("192.0.2.1", ALICE);
    assert.equal(t.check("192.0.2.1", ALICE).refused, true);
    const options: LoginThrottleOptions = {
      perIp: { delayAfter: 5, attempts: 20, windowSeconds: 600 },
      perIpAccount: { delayAfter: 3, attempts: 5, windowSeconds: 600 },
      perAccount: { delayAfter: 10, windowSeconds: 600 },
      initialDelaySeconds: 0.5,
      maxDelaySeconds: 8,
      maxAccountDelaySeconds: 2,
    };
    t.reconfigure(options);
    assert.equal(t.check("192.0.2.1", ALICE).refused, true, "the address+account tier did not change: still refused");
    t.reconfigure({ ...options, perIpAccount: { delayAfter: 3, attempts: 6, windowSeconds: 600 } });
    // The address+account tier starts afresh; the address tier, unchanged, still counts 5 failures (a delay).
    assert.deepEqual(t.check("192.0.2.1", ALICE), { refused: false, delayMs: 500 }, "a changed tier starts afresh");
  });

  it("refuses an address that fails across many accounts, before it names one", () => {
    const { t } = throttle();
    for (let i = 0; i < 20; i++) t.recordFailure("198.51.100.7", `user${i}@example.com`);
    assert.equal(t.check("198.51.100.7", undefined).refused, true);
    assert.equal(t.check("198.51.100.7", "fresh@example.com").refused, true);
    assert.equal(t.check("198.51.100.8", "fresh@example.com").refused, false);
  });

  it("caps the progressive delay", () => {
    const { t } = throttle({ perIpAccount: { delayAfter: 1, attempts: 0, windowSeconds: 600 } });
    for (let i = 0; i < 12; i++) t.recordFailure("192.0.2.1", ALICE);
    assert.deepEqual(t.check("192.0.2.1", ALICE), { refused: false, delayMs: 4000 }, "attempts: 0 never refuses");
  });

  it("per account, failures from everywhere only slow logins down, by at most max_account_delay, and never refuse", () => {
    const { t } = throttle();
    for (let i = 0; i < 200; i++) t.recordFailure(`10.0.${i >> 8}.${i & 255}`, ALICE);
    const v = t.check("203.0.113.50", ALICE);
    assert.deepEqual(v, { refused: false, delayMs: 2000 });
    assert.equal(t.check("203.0.113.50", "romeo@example.com").delayMs, 0);
  });

  it("failures leak away: one more attempt per window/attempts, all forgotten after the window", () => {
    const { t, clock } = throttle();
    for (let i = 0; i < 5; i++) t.recordFailure("192.0.2.1", ALICE);
    assert.equal(t.check("192.0.2.1", ALICE).refused, true);
    clock.ms += 119_000;
    assert.equal(t.check("192.0.2.1", ALICE).refused, true);
    clock.ms += 1_000; // 600 s / 5 attempts = one failure forgotten every 120 s
    assert.equal(t.check("192.0.2.1", ALICE).refused, false);
    t.recordFailure("192.0.2.1", ALICE);
    assert.equal(t.check("192.0.2.1", ALICE).refused, true, "a guess spent, refused again");
    clock.ms += 600_000;
    assert.deepEqual(t.check("192.0.2.1", ALICE), { refused: false, delayMs: 0 });
  });

  it("a success takes back its own advance failure and clears the address+account and the account's slowdown", () => {
    const { t } = throttle();
    for (let i = 0; i < 4; i++) t.recordFailure("203.0.113.5", ALICE);
    for (let i = 0; i < 15; i++) t.recordFailure("203.0.113.5", `u${i}@example.com`);
    assert.ok(t.check("203.0.113.5", ALICE).delayMs > 0);
    t.recordFailure("203.0.113.5", ALICE); // counted when the password check starts …
    t.recordSuccess("203.0.113.5", ALICE); // … taken back when it succeeds
    assert.equal(t.check("203.0.113.9", ALICE).delayMs, 0, "account slowdown cleared");
    // 19 failures from the address remain: the address is still delayed, not yet refused.
    assert.deepEqual(t.check("203.0.113.5", ALICE), { refused: false, delayMs: 4000 });
    t.recordFailure("203.0.113.5", "x@example.com");
    assert.equal(t.check("203.0.113.5", undefined).refused, true, "20 from the address: refused");
  });

  it("refund takes back an advance failure that led to no password verdict", () => {
    const { t } = throttle();
    for (let i = 0; i < 5; i++) {
      t.recordFailure("192.0.2.1", ALICE);
      t.refund("192.0.2.1", ALICE);
    }
    assert.deepEqual(t.check("192.0.2.1", ALICE), { refused: false, delayMs: 0 });
  });

  it("exempt addresses and ranges are neither delayed nor refused, but still count towards the account", () => {
    const { t, events } = throttle({ exempt: ["192.0.2.10", "2001:db8::/32"] });
    for (let i = 0; i < 30; i++) t.recordFailure("192.0.2.10", ALICE);
    for (let i = 0; i < 30; i++) t.recordFailure("2001:db8:5::1", `u${i}@example.com`);
    assert.equal(t.check("192.0.2.10", undefined).refused, false);
    assert.equal(t.check("2001:db8:5::1", undefined).refused, false);
    assert.equal(t.check("::ffff:192.0.2.10", "x@example.com").delayMs, 0, "IPv4-mapped form matches too");
    assert.equal(t.check("198.51.100.1", ALICE).delayMs, 2000, "the account-wide slowdown still applies");
    assert.deepEqual(
      events.map((e) => e.kind),
      ["slowing-account"],
      "no address-level events for exempt addresses",
    );
  });

  it("reports a key when it first delays or refuses an attempt, once per episode and level", () => {
    const { t, clock, events } = throttle();
    for (let i = 0; i < 8; i++) {
      t.check("192.0.2.1", ALICE);
      t.recordFailure("192.0.2.1", ALICE);
    }
    t.check("192.0.2.1", ALICE);
    assert.deepEqual(
      events.map((e) => e.kind),
      ["delaying-address-account", "delaying-address", "refusing-address-account"],
    );
    assert.deepEqual(throttleLogLine(events[2] as ThrottleEvent), {
      msg: "login throttle: refusing an address for an account",
      fields: { failures: 5, ip: "192.0.2.1", user: ALICE },
    });
    clock.ms += 601_000; // everything leaked out: a new episode
    for (let i = 0; i < 4; i++) {
      t.check("192.0.2.1", ALICE);
      t.recordFailure("192.0.2.1", ALICE);
    }
    assert.equal(events.length, 4);
    assert.equal(events[3]?.kind, "delaying-address-account");
  });

  it("counts an IPv6 /64 as one address and IPv4-mapped addresses as IPv4", () => {
    const { t } = throttle();
    for (let i = 1; i <= 20; i++) t.recordFailure(`2001:db8:1:2::${i}`, `u${i}@example.com`);
    assert.equal(t.check("2001:db8:1:2:ffff:ffff:ffff:ffff", undefined).refused, true);
    assert.equal(t.check("2001:db8:1:3::1", undefined).refused, false);
    for (let i = 1; i <= 20; i++) t.recordFailure("::ffff:192.0.2.200", `v${i}@example.com`);
    assert.equal(t.check("192.0.2.200", undefined).refused, true);
  });

  it("counts a very long account name under a short key, still apart from other accounts", () => {
    const { t } = throttle();
    const long = (c: string) => `${c.repeat(1000)}@example.com`;
    for (let i = 0; i < 5; i++) t.recordFailure("192.0.2.1", long("a"));
    assert.equal(t.check("192.0.2.1", long("a")).refused, true);
    assert.equal(t.check("192.0.2.1", long("b")).refused, false);
  });

  it("keeps memory bounded by forgetting the least recently failing keys", () => {
    const { t } = throttle({ maxEntries: 3 });
    for (let i = 0; i < 20; i++) t.recordFailure("192.0.2.1", undefined);
    assert.equal(t.check("192.0.2.1", undefined).refused, true);
    for (const ip of ["10.0.0.1", "10.0.0.2", "10.0.0.3"]) t.recordFailure(ip, undefined);
    assert.equal(t.check("192.0.2.1", undefined).refused, false, "evicted: the cap won over the window");
  });

  it("a tier with delay_after and attempts both 0 is off", () => {
    const { t } = throttle({ perIp: { delayAfter: 0, attempts: 0, windowSeconds: 60 } });
    for (let i = 0; i < 50; i++) t.recordFailure("192.0.2.9", undefined);
    assert.deepEqual(t.check("192.0.2.9", undefined), { refused: false, delayMs: 0 });
  });

  it("refuses nonsensical limits and exempt entries", () => {
    const base = throttle().t; // the defaults are valid
    assert.ok(base);
    assert.throws(() => throttle({ perIp: { delayAfter: -1, attempts: 1, windowSeconds: 60 } }), RangeError);
    assert.throws(() => throttle({ perIpAccount: { delayAfter: 1, attempts: 1, windowSeconds: 0 } }), RangeError);
    assert.throws(() => throttle({ maxDelaySeconds: -1 }), RangeError);
    assert.throws(() => throttle({ exempt: ["192.0.2.0/33"] }), RangeError);
    assert.throws(() => throttle({ exempt: ["example.org"] }), RangeError);
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
