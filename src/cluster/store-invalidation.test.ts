// Two nodes over one database, each with its own store cache, wired by the loopback bus: a write through one
// node is read through the other as soon as the broadcast arrived; a resync drops everything.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import pino from "pino";
import { LoopbackNetwork } from "../../test/helpers/loopback-bus.js";
import { createSqliteDriver } from "../storage/sqlite/index.js";
import { type CachingStorageDriver, withStoreCache } from "../storage/store-cache.js";
import { attachStoreInvalidation } from "./store-invalidation.js";

const dir = mkdtempSync(join(tmpdir(), "natter-invalidation-test-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const log = pino({ level: "silent" });
const turn = () => new Promise((r) => setImmediate(r));
let n = 0;

async function twoNodes() {
  const path = join(dir, `db-${++n}`, "natter.sqlite");
  // Two drivers on one file, as two processes on one PostgreSQL database.
  const first = await createSqliteDriver(path);
  const second = await createSqliteDriver(path);
  const network = new LoopbackNetwork();
  const forgotten: string[] = [];
  const node = (driver: typeof first, id: string) => {
    const storage = withStoreCache(driver, { stores: new Set(["roster"]), maxEntries: 1000 });
    const bus = network.node(id);
    attachStoreInvalidation({
      bus,
      storage,
      accounts: { forgetUser: (h, u) => forgotten.push(`${id}:${u}@${h}`) },
      log,
    });
    return { storage, bus };
  };
  const a = node(first, "a");
  const b = node(second, "b");
  const close = async () => {
    await a.storage.close();
    await b.storage.close();
  };
  return { a, b, network, forgotten, close };
}

test("a roster write on node A is read on node B once the broadcast arrived, not the copy B held", async () => {
  const { a, b, close } = await twoNodes();
  const rosterA = a.storage.open("h", "roster", "map");
  const rosterB = b.storage.open("h", "roster", "map");
  await rosterA.set("alice", "bob@h", { name: "Bob" });
  await turn();
  assert.deepEqual(await rosterB.get("alice", "bob@h"), { name: "Bob" }); // B now holds a copy
  await rosterA.set("alice", "bob@h", { name: "Robert" });
  assert.deepEqual(a.bus.sent.at(-1), { kind: "storage.forget", host: "h", user: "alice", store: "roster" });
  await turn();
  assert.deepEqual(await rosterB.get("alice", "bob@h"), { name: "Robert" });
  await rosterA.delete("alice", "bob@h");
  await turn();
  assert.equal(await rosterB.get("alice", "bob@h"), undefined);
  await close();
});

test("without the bus, node B keeps serving its stale copy (what the invalidation is for)", async () => {
  const { a, b, network, close } = await twoNodes();
  const rosterA = a.storage.open("h", "roster", "map");
  const rosterB = b.storage.open("h", "roster", "map");
  await rosterA.set("alice", "bob@h", { name: "Bob" });
  await turn();
  assert.deepEqual(await rosterB.get("alice", "bob@h"), { name: "Bob" });
  network.buses.delete("b"); // B stops hearing broadcasts
  await rosterA.set("alice", "bob@h", { name: "Robert" });
  await turn();
  assert.deepEqual(await rosterB.get("alice", "bob@h"), { name: "Bob" });
  // …until a resync, which drops every copy.
  await (b.bus as unknown as { resync(): Promise<void> }).resync();
  assert.deepEqual(await rosterB.get("alice", "bob@h"), { name: "Robert" });
  await close();
});

test("an account deleted on node A: B drops every copy and its provider forgets the account", async () => {
  const { a, b, forgotten, close } = await twoNodes();
  await a.storage.open("h", "roster", "map").set("carol", "dave@h", {});
  await turn();
  const rosterB = b.storage.open("h", "roster", "map");
  assert.equal(await rosterB.count("carol"), 1);
  await a.storage.deleteUser("h", "carol");
  await turn();
  assert.equal(await rosterB.count("carol"), 0);
  assert.deepEqual(forgotten, ["b:carol@h"]);
  await close();
});

test("a malformed message is ignored", async () => {
  const { a, b, close } = await twoNodes();
  const rosterB = b.storage.open("h", "roster", "map");
  a.bus.broadcast({ kind: "storage.forget", host: 1, user: null });
  await turn();
  assert.equal(await rosterB.count("x"), 0);
  await close();
});

test("the cache off: only account deletions are broadcast", async () => {
  const network = new LoopbackNetwork();
  const storage: CachingStorageDriver = withStoreCache(await createSqliteDriver(join(dir, "off", "natter.sqlite")), {
    stores: new Set(["roster"]),
    maxEntries: 0,
  });
  const bus = network.node("a");
  attachStoreInvalidation({ bus, storage, accounts: { forgetUser() {} }, log });
  await storage.open("h", "roster", "map").set("u", "k", 1);
  assert.deepEqual(bus.sent, []);
  await storage.deleteUser("h", "u");
  assert.deepEqual(bus.sent, [{ kind: "storage.forget", host: "h", user: "u", store: "*" }]);
  await storage.close();
});
