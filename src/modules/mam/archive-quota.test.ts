// The MAM quota on a real (memory) archive store: never more than `max` messages per account after an append,
// the oldest removed first, down to 1% below the quota; 0 means no quota.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { pino } from "pino";
import { createMemoryDriver } from "../../storage/memory/index.js";
import { ArchiveQuota } from "./archive-quota.js";

const silent = pino({ level: "silent" });

async function fill(max: number, n: number, user = "u") {
  const store = createMemoryDriver().open("h", "mam", "archive");
  const quota = new ArchiveQuota(store, max, silent);
  for (let i = 0; i < n; i++) {
    await store.append(user, { value: i });
    await quota.appended(user);
    assert.ok((await store.count(user)) <= (max || Number.POSITIVE_INFINITY), `at most ${max} after append ${i}`);
  }
  return { store, quota };
}

describe("ArchiveQuota", () => {
  it("keeps the newest: at the quota nothing goes, one past it trims to 1% below", async () => {
    const { store } = await fill(200, 200);
    assert.equal(await store.count("u"), 200);
    await store.append("u", { value: 200 });
    await new ArchiveQuota(store, 200, silent).appended("u"); // a fresh quota counts the archive first
    const left = await store.find("u");
    assert.equal(left.length, 198);
    assert.deepEqual(
      left.map((i) => i.value),
      Array.from({ length: 198 }, (_, i) => i + 3),
    );
  });

  it("stays within the quota over many appends, with the count remembered", async () => {
    const { store } = await fill(3, 10);
    assert.deepEqual(
      (await store.find("u")).map((i) => i.value),
      [7, 8, 9],
    );
  });

  it("0: no quota", async () => {
    const { store } = await fill(0, 20);
    assert.equal(await store.count("u"), 20);
  });

  it("counts afresh after forget() (retention deleted behind its back)", async () => {
    const { store, quota } = await fill(5, 5);
    await store.delete("u", { ids: (await store.find("u", { limit: 3 })).map((i) => i.id) });
    quota.forget();
    for (let i = 0; i < 3; i++) {
      await store.append("u", { value: 100 + i });
      await quota.appended("u");
    }
    assert.equal(await store.count("u"), 5, "nothing trimmed: the archive had room again");
  });
});
