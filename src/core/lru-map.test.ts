import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LruMap } from "./lru-map.js";

describe("LruMap", () => {
  it("holds at most its capacity, forgetting the least recently set first", () => {
    const m = new LruMap<string, number>(2);
    m.set("a", 1);
    m.set("b", 2);
    m.set("c", 3);
    assert.equal(m.size, 2);
    assert.equal(m.get("a"), undefined);
    assert.equal(m.get("b"), 2);
    assert.equal(m.get("c"), 3);
  });

  it("counts a read as a use: the entry read stays, the other goes", () => {
    const m = new LruMap<string, number>(2);
    m.set("a", 1);
    m.set("b", 2);
    assert.equal(m.get("a"), 1);
    m.set("c", 3);
    assert.equal(m.has("a"), true);
    assert.equal(m.has("b"), false);
  });

  it("replacing a value neither grows the map nor evicts another entry", () => {
    const m = new LruMap<string, number>(2);
    m.set("a", 1);
    m.set("b", 2);
    m.set("a", 10);
    assert.equal(m.size, 2);
    assert.equal(m.get("a"), 10);
    assert.equal(m.get("b"), 2);
  });

  it("refuses a capacity below one", () => {
    assert.throws(() => new LruMap(0), RangeError);
  });
});
