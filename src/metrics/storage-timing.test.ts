import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createMemoryDriver } from "../storage/memory/index.js";
import { LatencyHistogram } from "./latency-histogram.js";
import { type StorageOperation, withStorageTiming } from "./storage-timing.js";

describe("withStorageTiming", () => {
  it("times each store operation under its kind and method, and changes nothing it returns", async () => {
    const histogram = new LatencyHistogram<StorageOperation>();
    const storage = withStorageTiming(createMemoryDriver(), histogram);
    const kv = storage.open("example.org", "settings", "keyval");
    await kv.set("alice", { a: 1 });
    assert.deepEqual(await kv.get("alice"), { a: 1 });
    assert.deepEqual(await kv.get("bob"), undefined);
    const archive = storage.open("example.org", "log", "archive");
    const id = await archive.append("alice", { value: "x" });
    assert.equal((await archive.find("alice"))[0]?.id, id);
    const counts = Object.fromEntries([...histogram.entries()].map(([op, s]) => [op, s.count]));
    assert.deepEqual(counts, { "keyval.set": 1, "keyval.get": 2, "archive.append": 1, "archive.find": 1 });
    for (const [, s] of histogram.entries()) {
      assert.equal(
        s.counts.reduce((a, b) => a + b, 0),
        s.count,
        "every observation is in one bucket",
      );
    }
  });

  it("counts an operation that fails too, and passes the failure on", async () => {
    const histogram = new LatencyHistogram<StorageOperation>();
    const driver = createMemoryDriver();
    const broken = {
      ...driver,
      open: (host: string, name: string, kind: "keyval") => ({
        ...driver.open(host, name, kind),
        get: () => Promise.reject(new Error("disk gone")),
      }),
    } as typeof driver;
    const kv = withStorageTiming(broken, histogram).open("example.org", "settings", "keyval");
    await assert.rejects(kv.get("alice"), /disk gone/);
    assert.equal([...histogram.entries()].find(([op]) => op === "keyval.get")?.[1].count, 1);
  });

  it("puts each time in the first bucket whose bound it does not exceed", () => {
    const h = new LatencyHistogram<"x">([0.01, 0.1]);
    for (const t of [0.005, 0.01, 0.05, 0.2]) h.observe("x", t);
    const s = [...h.entries()][0]?.[1];
    assert.deepEqual(s?.counts, [2, 1, 1]);
    assert.equal(s?.count, 4);
    assert.ok(Math.abs((s?.sum ?? 0) - 0.265) < 1e-9);
  });
});
