import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FailureCounter } from "./failure-counter.js";

describe("FailureCounter", () => {
  it("counts failures that leak out at threshold per window, a partly leaked one still counting", () => {
    const c = new FailureCounter(4, 60, 10); // one failure leaks every 15 s
    for (let i = 0; i < 4; i++) c.record("k", 0);
    assert.equal(c.failures("k", 0), 4);
    assert.equal(c.failures("k", 14_999), 4);
    assert.equal(c.failures("k", 15_000), 3);
    assert.equal(c.retryAfterMs("k", 15_000, 4), 0);
    c.record("k", 15_000);
    assert.equal(c.retryAfterMs("k", 15_000, 4), 15_000);
    assert.equal(c.failures("k", 75_000), 0);
    assert.equal(c.size, 0, "forgotten once everything leaked out");
  });

  it("caps the count, so a key is clean one window after its last failure", () => {
    const c = new FailureCounter(2, 10, 10, 2);
    for (let i = 0; i < 50; i++) c.record("k", 0);
    assert.equal(c.failures("k", 0), 2);
    assert.equal(c.failures("k", 10_000), 0);
  });

  it("raises a key's level once per episode", () => {
    const c = new FailureCounter(2, 10, 10);
    c.record("k", 0);
    assert.equal(c.raise("k", 1), true);
    assert.equal(c.raise("k", 1), false);
    assert.equal(c.raise("k", 2), true);
    assert.equal(c.raise("missing", 1), false);
    c.record("k", 20_000); // the old failure leaked out: a new episode
    assert.equal(c.raise("k", 1), true);
  });

  it("keeps at most maxEntries keys, forgetting those that have not failed for longest", () => {
    const c = new FailureCounter(1, 3600, 4);
    c.record("a", 0);
    c.record("b", 1);
    c.record("c", 2);
    c.record("a", 3); // a fails again: kept over b
    assert.ok(c.size <= 4, `size ${c.size}`);
    assert.equal(c.failures("b", 3), 0, "b forgotten");
    for (const key of ["a", "c"]) assert.ok(c.failures(key, 3) >= 1, key);
    for (let i = 0; i < 1000; i++) c.record(`k${i}`, 4);
    assert.ok(c.size <= 4);
  });
});
