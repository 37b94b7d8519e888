// The in-memory copy of hot map stores (src/storage/store-cache.ts) must keep the storage contract, see every
// write made through any opener at once, survive writes racing a load, and forget what another process deleted.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { CachedMapStore } from "../../src/storage/cached-map-store.js";
import { EntryBudget } from "../../src/storage/user-cache.js";
import { createMemoryDriver } from "../../src/storage/memory/index.js";
import { createSqliteDriver } from "../../src/storage/sqlite/index.js";
import { withStoreCache } from "../../src/storage/store-cache.js";
import type { MapStore, StorageDriver } from "../../src/storage/types.js";
import { runStorageContract } from "./contract.js";

const dir = mkdtempSync(join(tmpdir(), "natter-store-cache-test-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const CACHED = new Set(["s", "t", "pep", "roster", "störe", "settings", "vcard"]);
let files = 0;
let lastPath = "";
const cachedSqlite = async (path: string, maxEntries = 1000): Promise<StorageDriver> =>
  withStoreCache(await createSqliteDriver(path), { stores: CACHED, maxEntries });
const freshPath = () => {
  lastPath = join(dir, `db-${++files}`, "natter.sqlite");
  return lastPath;
};

runStorageContract("sqlite with the map cache", async () => cachedSqlite(freshPath()), {
  reopen: async () => cachedSqlite(lastPath),
});
// Every entry over the budget is evicted at once: the contract must hold with nothing kept too.
runStorageContract("sqlite with a one-entry map cache", async () => cachedSqlite(freshPath(), 1), {
  reopen: async () => cachedSqlite(lastPath, 1),
});

describe("map cache", () => {
  it("shares one copy between openers, so a write through one is read through the other", async () => {
    const driver = await cachedSqlite(freshPath());
    const a = driver.open("h", "roster", "map");
    const b = driver.open("h", "roster", "map");
    assert.deepEqual(await b.getAll("u"), new Map());
    await a.set("u", "x@h", { subscription: "both" });
    assert.deepEqual(await b.get("u", "x@h"), { subscription: "both" });
    assert.equal(await b.count("u"), 1);
    await driver.close();
  });

  it("keeps users without entries apart: a write for one leaves the others empty", async () => {
    // Users with no entries share one cached empty map (issue 13): a write must replace it, never fill it.
    const driver = await cachedSqlite(freshPath());
    const store = driver.open("h", "roster", "map");
    assert.equal(await store.count("u"), 0);
    assert.equal(await store.count("v"), 0);
    await store.set("u", "x@h", { subscription: "both" });
    await store.delete("v", "x@h");
    assert.equal(await store.count("u"), 1);
    assert.deepEqual(await store.getAll("v"), new Map());
    assert.equal(await store.count("w"), 0);
    await store.delete("u", "x@h");
    assert.deepEqual(await store.getAll("u"), new Map());
    assert.equal(await store.count("v"), 0);
    await driver.close();
  });

  it("hands out copies: changing a value read does not change the store", async () => {
    const driver = await cachedSqlite(freshPath());
    const store = driver.open("h", "roster", "map");
    await store.set("u", "x@h", { subscription: "none" });
    const item = (await store.get("u", "x@h")) as { subscription: string };
    item.subscription = "both";
    assert.deepEqual(await store.get("u", "x@h"), { subscription: "none" });
    await driver.close();
  });

  it("hands out frozen copies to read-only readers, parsed once and replaced by every write", async () => {
    const driver = await cachedSqlite(freshPath());
    const store = driver.open("h", "roster", "map");
    const other = driver.open("h", "roster", "map");
    await store.set("u", "x@h", { subscription: "none", groups: ["a"] });
    const first = (await store.getFrozen?.("u", "x@h")) as { subscription: string; groups: string[] };
    assert.deepEqual(first, { subscription: "none", groups: ["a"] });
    assert.ok(Object.isFrozen(first) && Object.isFrozen(first.groups));
    assert.throws(() => {
      first.subscription = "both";
    }, TypeError);
    assert.equal(await store.getFrozen?.("u", "x@h"), first, "the same copy, not parsed again");
    await other.set("u", "x@h", { subscription: "both", groups: [] });
    assert.deepEqual(await store.getFrozen?.("u", "x@h"), { subscription: "both", groups: [] });
    await other.set("u", "y@h", { subscription: "to", groups: [] });
    assert.deepEqual([...((await store.getAllFrozen?.("u")) ?? new Map()).keys()], ["x@h", "y@h"]);
    await other.delete("u", "x@h");
    assert.equal(await store.getFrozen?.("u", "x@h"), undefined);
    assert.deepEqual([...((await store.getAllFrozen?.("u")) ?? new Map()).keys()], ["y@h"]);
    assert.deepEqual(await store.get("u", "y@h"), { subscription: "to", groups: [] }, "get still hands out copies");
    await driver.close();
  });

  it("does not keep a load that a write overtook", async () => {
    const driver = await cachedSqlite(freshPath());
    const store = driver.open("h", "roster", "map");
    await driver.open("h", "roster", "map").set("u", "a", 1);
    // Load and write at once: whatever order they land in, the next read sees the write.
    const [loaded] = await Promise.all([store.getAll("u"), store.set("u", "b", 2)]);
    assert.ok(loaded.get("a") === 1);
    assert.deepEqual(
      await store.getAll("u"),
      new Map<string, unknown>([
        ["a", 1],
        ["b", 2],
      ]),
    );
    await driver.close();
  });

  it("does not keep a load that read before a write landed", async () => {
    // A pooled database (PostgreSQL) can run the write before the slower read returns its older snapshot.
    const backing = createMemoryDriver().open("h", "roster", "map");
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow: MapStore = {
      ...backing,
      getAll: async (user) => {
        const snapshot = await backing.getAll(user);
        await gate;
        return snapshot;
      },
    };
    const store = new CachedMapStore(slow, new EntryBudget(1000));
    const loading = store.getAll("u");
    await new Promise((resolve) => setImmediate(resolve));
    await store.set("u", "b", 2);
    release();
    assert.deepEqual(await loading, new Map(), "the load returns what it read");
    assert.deepEqual(await store.getAll("u"), new Map([["b", 2]]), "but its stale copy is not kept");
  });

  it("forgets a user another process changed once told to, and a deleted user at once", async () => {
    const path = freshPath();
    const driver = await cachedSqlite(path);
    const store = driver.open("h", "roster", "map");
    await store.set("u", "x@h", 1);
    assert.equal(await store.get("u", "x@h"), 1);
    // Another process (the CLI) deletes the user in the same file.
    const other = await createSqliteDriver(path);
    await other.deleteUser("h", "u");
    await other.close();
    assert.equal(await store.get("u", "x@h"), 1, "still the copy: nothing told this process");
    driver.forgetUser("h", "u");
    assert.equal(await store.get("u", "x@h"), undefined);
    await store.set("u", "y@h", 2);
    await driver.deleteUser("h", "u");
    assert.deepEqual(await store.getAll("u"), new Map());
    await driver.close();
  });

  it("keeps key-value absence and values in step with writes, and forgets another process's deletion when told", async () => {
    const path = freshPath();
    const driver = await cachedSqlite(path);
    const hashes = driver.open("h", "vcard", "keyval");
    assert.equal(await hashes.get("u"), undefined);
    await driver.open("h", "vcard", "keyval").set("u", "abc");
    assert.equal(await hashes.get("u"), "abc");
    const other = await createSqliteDriver(path);
    await other.deleteUser("h", "u");
    await other.close();
    driver.forgetUser("h", "u");
    assert.equal(await hashes.get("u"), undefined);
    await driver.close();
  });

  it("keeps within its entry budget, dropping the least recently used users", async () => {
    const driver = await cachedSqlite(freshPath(), 3);
    const store = driver.open("h", "roster", "map");
    for (const user of ["u1", "u2", "u3", "u4"]) await store.set(user, "k", user);
    for (const user of ["u1", "u2", "u3", "u4"]) assert.equal(await store.get(user, "k"), user);
    await driver.close();
  });
});
