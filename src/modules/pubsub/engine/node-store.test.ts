// The per-account byte count behind pep.max_account_bytes: every write keeps it equal to the payload bytes
// actually stored (what a fresh count from the items gives), and usageAfterPut predicts a put exactly.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createMemoryDriver } from "../../../storage/memory/index.js";
import type { StoreKind } from "../../../storage/types.js";
import { NodeStore } from "./node-store.js";

function fresh() {
  const driver = createMemoryDriver();
  const ctx = { store: <K extends StoreKind>(name: string, kind: K) => driver.open("h", name, kind) };
  return { driver, ctx, pep: new NodeStore(ctx, "pep") };
}

const item = (id: string, bytes: number) => ({ id, payload: "x".repeat(bytes), publisher: "u@h" });

/** The usage as counted from scratch by a new NodeStore on the same data (the stored count dropped first). */
async function recount(ctx: ReturnType<typeof fresh>["ctx"]): Promise<number> {
  await ctx.store("pep-usage", "keyval").delete("u");
  return new NodeStore(ctx, "pep").usage("u");
}

describe("NodeStore usage", () => {
  it("follows puts, replacements, trimming, retractions and node deletion", async () => {
    const { ctx, pep } = fresh();
    assert.equal(await pep.usage("u"), 0);
    await pep.putItem("u", "a", item("1", 100), 2);
    await pep.putItem("u", "a", item("2", 50), 2);
    assert.equal(await pep.usage("u"), 150);
    await pep.putItem("u", "a", item("1", 10), 2); // replaces 100 bytes
    assert.equal(await pep.usage("u"), 60);
    await pep.putItem("u", "a", item("3", 5), 2); // trims item 2 (the oldest)
    assert.equal(await pep.usage("u"), 15);
    await pep.putItem("u", "b", item("1", 200), 1);
    assert.equal(await pep.deleteItem("u", "a", "3"), true);
    assert.equal(await pep.usage("u"), 210);
    await pep.trim("u", "a", 0);
    assert.equal(await pep.usage("u"), 200);
    await pep.deleteNode("u", "b");
    assert.equal(await pep.usage("u"), 0);
    await pep.putItem("u", "c", item("1", 42), 5);
    assert.equal(await pep.usage("u"), await recount(ctx));
  });

  it("predicts a put: new item, replacement of the same id, and the oldest trimmed beyond max items", async () => {
    const { pep } = fresh();
    await pep.putItem("u", "a", item("1", 100), 2);
    await pep.putItem("u", "a", item("2", 50), 2);
    await pep.putItem("u", "b", item("1", 7), 1);
    const cases: [string, string, number, number][] = [
      ["a", "3", 30, 2], // trims item 1 (100)
      ["a", "2", 30, 2], // replaces item 2 (50)
      ["a", "1", 30, 2], // replaces item 1 (100), nothing trimmed
      ["a", "3", 30, 5], // room for it
      ["c", "1", 30, 1], // a new node
    ];
    for (const [node, id, bytes, max] of cases) {
      const { ctx, pep: copy } = fresh();
      await copy.putItem("u", "a", item("1", 100), 2);
      await copy.putItem("u", "a", item("2", 50), 2);
      await copy.putItem("u", "b", item("1", 7), 1);
      const predicted = await copy.usageAfterPut("u", node, id, bytes, max);
      await copy.putItem("u", node, item(id, bytes), max);
      assert.equal(predicted, await copy.usage("u"), `${node}/${id} max ${max}`);
      assert.equal(predicted, await recount(ctx), `${node}/${id} max ${max}: the count matches the items`);
    }
    assert.equal(await pep.usage("u"), 157);
  });
});
