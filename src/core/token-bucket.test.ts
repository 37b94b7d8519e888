import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TokenBucket } from "./token-bucket.js";

describe("TokenBucket", () => {
  it("lets a burst through, then owes time in proportion to the excess", () => {
    const b = new TokenBucket(1000, 5000, 0);
    assert.equal(b.drain(5000, 0), 0, "the whole burst is free");
    assert.equal(b.drain(500, 0), 500, "500 tokens over at 1000/s: half a second");
  });

  it("takes new limits in place: a lower burst caps what is there, a higher one grants nothing at once", () => {
    const b = new TokenBucket(1, 10, 0);
    b.setLimits(1, 2, 0);
    assert.equal(b.take(0), true);
    assert.equal(b.take(0), true);
    assert.equal(b.take(0), false, "capped at the new burst of 2");
    b.setLimits(10, 100, 0);
    assert.equal(b.take(0), false, "the higher burst is not granted at once");
    assert.equal(b.msUntilToken(0), 100, "it refills at the new rate");
  });

  it("refills at the rate, never above the burst", () => {
    const b = new TokenBucket(1000, 2000, 0);
    b.drain(2000, 0);
    assert.equal(b.drain(1000, 1000), 0, "a second refills 1000");
    assert.equal(b.drain(3000, 100_000), 1000, "a long pause refills only up to the burst");
  });

  it("debt is paid back by waiting: the average stays at the rate", () => {
    const b = new TokenBucket(100, 100, 0);
    let now = 0;
    let taken = 0;
    // A flooder that sends 50 tokens' worth whenever it is allowed to.
    while (now < 10_000) {
      taken += 50;
      now += b.drain(50, now);
    }
    // 100 burst + 100/s for 10 s, give or take one chunk.
    assert.ok(taken >= 1050 && taken <= 1200, `took ${taken}`);
  });
});
