// Per-key token buckets: one key's burst is its own, refill over time, 0 a minute means no limit, bounded keys.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { KeyedBuckets } from "./keyed-buckets.js";

describe("KeyedBuckets", () => {
  it("gives each key its own burst and refills it at the rate", () => {
    const b = new KeyedBuckets({ perMinute: 60, burst: 3 }, 10);
    const t = 1_000_000;
    assert.deepEqual([b.take("a", t), b.take("a", t), b.take("a", t), b.take("a", t)], [true, true, true, false]);
    assert.equal(b.take("b", t), true); // another account is not affected
    assert.equal(b.retryAfter("a", t), 1);
    assert.equal(b.take("a", t + 1000), true); // one a second
    assert.equal(b.take("a", t + 1000), false);
  });

  it("does not limit at 0 a minute, and remembers at most its capacity of keys", () => {
    const free = new KeyedBuckets({ perMinute: 0, burst: 1 }, 10);
    for (let i = 0; i < 100; i++) assert.equal(free.take("a"), true);
    const b = new KeyedBuckets({ perMinute: 1, burst: 1 }, 100);
    for (let i = 0; i < 1000; i++) b.take(`k${i}`);
    assert.equal(b.size, 100);
  });
});
