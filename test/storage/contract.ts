// The storage contract (DESIGN.md example 4): one suite every driver must pass unchanged, nothing skipped.
// Archive ordering rules are spelled out in src/storage/archive-order.ts.
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import { ArchiveIdConflictError, ArchiveItemNotFoundError } from "../../src/storage/errors.js";
import type { ArchiveItem, ArchiveStore, Json, StorageDriver } from "../../src/storage/types.js";

export interface StorageContractOptions {
  /** Reopens the storage of the driver `makeDriver` made last, after it was closed (persistent drivers only). */
  reopen?: () => Promise<StorageDriver>;
}

// Code point order: U+FF21 (fullwidth A) sorts before U+1F600 (an emoji), unlike JavaScript's default sort.
const SORTED_NAMES = ["", "Alice", "alice", "bob", "zoë", "\uFF21", "\u{1F600}"];

const ids = (items: ArchiveItem[]) => items.map((item) => item.id);
const values = (items: ArchiveItem[]) => items.map((item) => item.value);

export function runStorageContract(
  name: string,
  makeDriver: () => Promise<StorageDriver>,
  options: StorageContractOptions = {},
): void {
  describe(`storage contract: ${name}`, () => {
    let driver: StorageDriver;
    let closed = false;
    beforeEach(async () => {
      driver = await makeDriver();
      closed = false;
    });
    afterEach(async () => {
      if (!closed) await driver.close();
    });

    describe("keyval", () => {
      it("returns undefined for a user without a value", async () => {
        assert.equal(await driver.open("h", "s", "keyval").get("nobody"), undefined);
      });

      it("round-trips every JSON shape", async () => {
        const store = driver.open("h", "s", "keyval");
        const shapes: Json[] = [
          null,
          false,
          true,
          0,
          -1.5,
          1e300,
          "",
          "text",
          [],
          [1, "two", null],
          {},
          { a: { b: [1, { c: "d" }] } },
        ];
        for (const [i, value] of shapes.entries()) await store.set(`u${i}`, value);
        for (const [i, value] of shapes.entries()) assert.deepEqual(await store.get(`u${i}`), value);
      });

      it("overwrites, deletes, and ignores deleting what is not there", async () => {
        const store = driver.open("h", "s", "keyval");
        await store.set("u", 1);
        await store.set("u", { v: 2 });
        assert.deepEqual(await store.get("u"), { v: 2 });
        await store.delete("u");
        assert.equal(await store.get("u"), undefined);
        await store.delete("u");
        assert.deepEqual(await store.users(), []);
      });

      it("lists users in code point order", async () => {
        const store = driver.open("h", "s", "keyval");
        for (const user of [...SORTED_NAMES].reverse()) await store.set(user, user);
        assert.deepEqual(await store.users(), SORTED_NAMES);
      });

      it("hands out copies: changing a value read does not change the store", async () => {
        const store = driver.open("h", "s", "keyval");
        const value = { list: [1] };
        await store.set("u", value);
        value.list.push(2);
        const read = (await store.get("u")) as { list: number[] };
        read.list.push(3);
        assert.deepEqual(await store.get("u"), { list: [1] });
      });

      it("keeps hosts, stores and kinds apart; two opens of one store share data", async () => {
        await driver.open("h1", "s", "keyval").set("u", "h1/s");
        await driver.open("h2", "s", "keyval").set("u", "h2/s");
        await driver.open("h1", "t", "keyval").set("u", "h1/t");
        await driver.open("h1", "s", "map").set("u", "k", "map");
        assert.equal(await driver.open("h1", "s", "keyval").get("u"), "h1/s");
        assert.equal(await driver.open("h2", "s", "keyval").get("u"), "h2/s");
        assert.equal(await driver.open("h1", "t", "keyval").get("u"), "h1/t");
        await driver.open("h1", "s", "keyval").delete("u");
        assert.equal(await driver.open("h2", "s", "keyval").get("u"), "h2/s");
        assert.equal(await driver.open("h1", "t", "keyval").get("u"), "h1/t");
        assert.equal(await driver.open("h1", "s", "map").get("u", "k"), "map");
        assert.deepEqual(await driver.open("h1", "s", "keyval").users(), []);
      });
    });

    describe("map", () => {
      it("returns undefined for a missing key and an empty map for a user without entries", async () => {
        const store = driver.open("h", "s", "map");
        assert.equal(await store.get("u", "k"), undefined);
        assert.deepEqual(await store.getAll("u"), new Map());
      });

      it("sets, overwrites and deletes single keys", async () => {
        const store = driver.open("h", "s", "map");
        await store.set("u", "k", { a: 1 });
        await store.set("u", "k", [null]);
        await store.set("u", "other", 5);
        assert.deepEqual(await store.get("u", "k"), [null]);
        await store.delete("u", "k");
        await store.delete("u", "never-set");
        assert.equal(await store.get("u", "k"), undefined);
        assert.deepEqual(await store.getAll("u"), new Map([["other", 5]]));
      });

      it("returns all of one user's entries sorted by key in code point order", async () => {
        const store = driver.open("h", "s", "map");
        for (const key of [...SORTED_NAMES].reverse()) await store.set("u", key, { key });
        await store.set("v", "not-mine", 1);
        const all = await store.getAll("u");
        assert.deepEqual([...all.keys()], SORTED_NAMES);
        assert.deepEqual(all.get("zoë"), { key: "zoë" });
      });

      it("counts one user's entries: overwrites once, deletions gone, other users and stores apart", async () => {
        const store = driver.open("h", "s", "map");
        assert.equal(await store.count("u"), 0);
        await store.set("u", "a", 1);
        await store.set("u", "b", 2);
        await store.set("u", "a", 3);
        await store.set("v", "a", 1);
        await driver.open("h", "t", "map").set("u", "x", 1);
        assert.equal(await store.count("u"), 2);
        await store.delete("u", "b");
        assert.equal(await store.count("u"), 1);
        await store.deleteAll("u");
        assert.equal(await store.count("u"), 0);
        assert.equal(await store.count("v"), 1);
      });

      it("deleteAll removes one user's entries only", async () => {
        const store = driver.open("h", "s", "map");
        await store.set("u", "a", 1);
        await store.set("u", "b", 2);
        await store.set("v", "a", 3);
        await store.deleteAll("u");
        assert.deepEqual(await store.getAll("u"), new Map());
        assert.deepEqual(await store.getAll("v"), new Map([["a", 3]]));
      });

      it("keeps hosts, stores and users apart", async () => {
        await driver.open("h1", "s", "map").set("u", "k", "h1/s/u");
        await driver.open("h2", "s", "map").set("u", "k", "h2/s/u");
        await driver.open("h1", "t", "map").set("u", "k", "h1/t/u");
        await driver.open("h1", "s", "map").set("v", "k", "h1/s/v");
        await driver.open("h1", "s", "map").deleteAll("u");
        assert.equal(await driver.open("h2", "s", "map").get("u", "k"), "h2/s/u");
        assert.equal(await driver.open("h1", "t", "map").get("u", "k"), "h1/t/u");
        assert.equal(await driver.open("h1", "s", "map").get("v", "k"), "h1/s/v");
      });
    });

    describe("archive", () => {
      /** Appends items with `when` = 1000 + 10*i and `with` alternating a/b; returns their ids. */
      async function fill(store: ArchiveStore, user: string, n: number): Promise<string[]> {
        const appended: string[] = [];
        for (let i = 0; i < n; i++) {
          appended.push(await store.append(user, { when: 1000 + 10 * i, with: i % 2 ? "b@x" : "a@x", value: i }));
        }
        return appended;
      }

      it("assigns unique URL-safe ids, the current time and an empty `with` when not given", async () => {
        const store = driver.open("h", "s", "archive");
        const before = Date.now();
        const appended = new Set<string>();
        for (let i = 0; i < 200; i++) appended.add(await store.append("u", { value: i }));
        const after = Date.now();
        assert.equal(appended.size, 200);
        for (const id of appended) assert.match(id, /^[A-Za-z0-9_-]{8,}$/);
        const items = await store.find("u");
        assert.deepEqual(new Set(ids(items)), appended);
        for (const item of items) {
          assert.ok(item.when >= before && item.when <= after, `when ${item.when} not in [${before}, ${after}]`);
          assert.equal(item.with, "");
        }
      });

      it("keeps a given id, refuses a duplicate for the same user, allows it for another user", async () => {
        const store = driver.open("h", "s", "archive");
        assert.equal(
          await store.append("u", { id: "given-1", when: 5, with: "w@x", value: { body: "hi" } }),
          "given-1",
        );
        assert.deepEqual(await store.find("u"), [{ id: "given-1", when: 5, with: "w@x", value: { body: "hi" } }]);
        await assert.rejects(store.append("u", { id: "given-1", value: 2 }), (error: unknown) => {
          assert.ok(error instanceof ArchiveIdConflictError);
          assert.equal(error.id, "given-1");
          return true;
        });
        assert.equal(await store.count("u"), 1);
        assert.equal(await store.append("v", { id: "given-1", value: 3 }), "given-1");
        assert.equal(await driver.open("h", "other", "archive").append("u", { id: "given-1", value: 4 }), "given-1");
      });

      it("returns items in chronological order: by `when`, ties in append order", async () => {
        const store = driver.open("h", "s", "archive");
        await store.append("u", { id: "c", when: 300, value: "c" });
        await store.append("u", { id: "a", when: 100, value: "a" });
        await store.append("u", { id: "b1", when: 200, value: "b1" });
        await store.append("u", { id: "b2", when: 200, value: "b2" });
        await store.append("u", { id: "d", when: 400, value: "d" });
        assert.deepEqual(ids(await store.find("u")), ["a", "b1", "b2", "c", "d"]);
        assert.deepEqual(ids(await store.find("u", { after: "b1" })), ["b2", "c", "d"]);
        assert.deepEqual(ids(await store.find("u", { before: "b2" })), ["a", "b1"]);
        assert.deepEqual(ids(await store.find("u", { limit: 2, reverse: true })), ["c", "d"]);
      });

      it("filters by inclusive start and end", async () => {
        const store = driver.open("h", "s", "archive");
        await fill(store, "u", 10); // when 1000..1090
        assert.deepEqual(values(await store.find("u", { start: 1020 })), [2, 3, 4, 5, 6, 7, 8, 9]);
        assert.deepEqual(values(await store.find("u", { end: 1020 })), [0, 1, 2]);
        assert.deepEqual(values(await store.find("u", { start: 1020, end: 1040 })), [2, 3, 4]);
        assert.deepEqual(values(await store.find("u", { start: 1021, end: 1029 })), []);
        assert.deepEqual(values(await store.find("u", { start: 2000 })), []);
      });

      it("filters by `with`", async () => {
        const store = driver.open("h", "s", "archive");
        await fill(store, "u", 10);
        assert.deepEqual(values(await store.find("u", { with: "a@x" })), [0, 2, 4, 6, 8]);
        assert.deepEqual(values(await store.find("u", { with: "b@x" })), [1, 3, 5, 7, 9]);
        assert.deepEqual(values(await store.find("u", { with: "c@x" })), []);
      });

      it("filters by ids, in archive order whatever the order asked; an empty list matches nothing", async () => {
        const store = driver.open("h", "s", "archive");
        const all = await fill(store, "u", 10);
        assert.deepEqual(
          values(await store.find("u", { ids: [all[7] as string, all[2] as string, "unknown"] })),
          [2, 7],
        );
        assert.deepEqual(await store.find("u", { ids: [] }), []);
        assert.equal(await store.count("u", { ids: [] }), 0);
        assert.equal(await store.delete("u", { ids: [] }), 0);
        assert.equal(await store.count("u"), 10);
      });

      it("pages strictly after and before an id", async () => {
        const store = driver.open("h", "s", "archive");
        const all = await fill(store, "u", 10);
        assert.deepEqual(values(await store.find("u", { after: all[6] })), [7, 8, 9]);
        assert.deepEqual(values(await store.find("u", { before: all[3] })), [0, 1, 2]);
        assert.deepEqual(values(await store.find("u", { after: all[2], before: all[6] })), [3, 4, 5]);
        assert.deepEqual(values(await store.find("u", { after: all[9] })), []);
        assert.deepEqual(values(await store.find("u", { before: all[0] })), []);
      });

      it("limits, and with reverse picks the newest items but returns them oldest first", async () => {
        const store = driver.open("h", "s", "archive");
        await fill(store, "u", 10);
        assert.deepEqual(values(await store.find("u", { limit: 3 })), [0, 1, 2]);
        assert.deepEqual(values(await store.find("u", { limit: 3, reverse: true })), [7, 8, 9]);
        assert.deepEqual(values(await store.find("u", { reverse: true })), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        assert.deepEqual(values(await store.find("u", { limit: 50 })).length, 10);
        assert.deepEqual(await store.find("u", { limit: 0 }), []);
        assert.deepEqual(await store.find("u", { limit: 0, reverse: true }), []);
      });

      it("combines filters, cursors, limit and reverse", async () => {
        const store = driver.open("h", "s", "archive");
        const all = await fill(store, "u", 20); // when 1000..1190, even values with a@x
        const q = { with: "a@x", start: 1020, end: 1160 }; // a@x values 2,4,...,16
        assert.deepEqual(values(await store.find("u", q)), [2, 4, 6, 8, 10, 12, 14, 16]);
        assert.deepEqual(values(await store.find("u", { ...q, limit: 3 })), [2, 4, 6]);
        assert.deepEqual(values(await store.find("u", { ...q, limit: 3, reverse: true })), [12, 14, 16]);
        // The cursor may be an item the filter excludes (a b@x item here): paging goes on from its place.
        assert.deepEqual(values(await store.find("u", { ...q, after: all[7], limit: 2 })), [8, 10]);
        assert.deepEqual(values(await store.find("u", { ...q, before: all[13], limit: 2, reverse: true })), [10, 12]);
        assert.deepEqual(
          values(await store.find("u", { ...q, after: all[4], before: all[12], reverse: true, limit: 2 })),
          [8, 10],
        );
        assert.deepEqual(
          values(await store.find("u", { ...q, ids: [all[4] as string, all[5] as string, all[18] as string] })),
          [4],
        );
        assert.equal(await store.count("u", q), 8);
      });

      it("walks the whole archive forwards and backwards in pages, each item once", async () => {
        const store = driver.open("h", "s", "archive");
        const all = await fill(store, "u", 23);
        const forwards: string[] = [];
        let page = await store.find("u", { limit: 5 });
        while (page.length > 0) {
          forwards.push(...ids(page));
          page = await store.find("u", { limit: 5, after: page.at(-1)?.id });
        }
        assert.deepEqual(forwards, all);
        const backwards: string[] = [];
        page = await store.find("u", { limit: 5, reverse: true });
        while (page.length > 0) {
          backwards.unshift(...ids(page));
          page = await store.find("u", { limit: 5, reverse: true, before: page[0]?.id });
        }
        assert.deepEqual(backwards, all);
      });

      it("rejects an unknown after/before id with ArchiveItemNotFoundError, also another user's id", async () => {
        const store = driver.open("h", "s", "archive");
        await fill(store, "u", 3);
        const [othersId] = await fill(store, "v", 1);
        for (const query of [
          { after: "nope" },
          { before: "nope" },
          { after: othersId },
          { before: "nope", limit: 0 },
        ]) {
          await assert.rejects(store.find("u", query), (error: unknown) => {
            assert.ok(error instanceof ArchiveItemNotFoundError);
            assert.equal(error.id, query.after ?? query.before);
            return true;
          });
        }
        await assert.rejects(store.find("nobody", { after: "nope" }), ArchiveItemNotFoundError);
        await assert.rejects(store.delete("u", { before: "nope" }), ArchiveItemNotFoundError);
        assert.equal(await store.count("u"), 3);
      });

      it("counts with and without a query", async () => {
        const store = driver.open("h", "s", "archive");
        const all = await fill(store, "u", 10);
        assert.equal(await store.count("u"), 10);
        assert.equal(await store.count("nobody"), 0);
        assert.equal(await store.count("u", { with: "b@x" }), 5);
        assert.equal(await store.count("u", { start: 1050 }), 5);
        assert.equal(await store.count("u", { end: 1050, with: "a@x" }), 3);
        assert.equal(await store.count("u", { ids: [all[0] as string, all[1] as string] }), 2);
      });

      it("deletes matching items and returns how many", async () => {
        const store = driver.open("h", "s", "archive");
        const all = await fill(store, "u", 10);
        await fill(store, "v", 2);
        assert.equal(await store.delete("u", { with: "a@x", end: 1040 }), 3); // 0, 2, 4
        assert.deepEqual(values(await store.find("u")), [1, 3, 5, 6, 7, 8, 9]);
        assert.equal(await store.delete("u", { after: all[7] }), 2);
        assert.equal(await store.delete("u", { before: all[3], start: 1000 }), 1);
        assert.equal(await store.delete("u", { ids: [all[5] as string] }), 1);
        assert.deepEqual(values(await store.find("u")), [3, 6, 7]);
        assert.equal(await store.delete("u"), 3);
        assert.equal(await store.delete("u"), 0);
        assert.deepEqual(await store.find("u"), []);
        assert.equal(await store.count("v"), 2);
      });

      it("deleteOlderThan removes items strictly older, across users, in this store only", async () => {
        const store = driver.open("h", "s", "archive");
        const otherStore = driver.open("h", "t", "archive");
        const otherHost = driver.open("h2", "s", "archive");
        await fill(store, "u", 10);
        await fill(store, "v", 4);
        await fill(otherStore, "u", 10);
        await fill(otherHost, "u", 10);
        assert.equal(await store.deleteOlderThan(1030), 3 + 3);
        assert.deepEqual(values(await store.find("u")), [3, 4, 5, 6, 7, 8, 9]);
        assert.deepEqual(values(await store.find("v")), [3]);
        assert.equal(await otherStore.count("u"), 10);
        assert.equal(await otherHost.count("u"), 10);
        assert.equal(await store.deleteOlderThan(0), 0);
      });

      it("keeps users, stores and hosts apart", async () => {
        await driver.open("h", "s", "archive").append("u", { id: "x", value: "h/s/u" });
        await driver.open("h", "s", "archive").append("v", { id: "y", value: "h/s/v" });
        await driver.open("h", "t", "archive").append("u", { id: "z", value: "h/t/u" });
        await driver.open("h2", "s", "archive").append("u", { id: "w", value: "h2/s/u" });
        assert.deepEqual(values(await driver.open("h", "s", "archive").find("u")), ["h/s/u"]);
        assert.deepEqual(values(await driver.open("h", "t", "archive").find("u")), ["h/t/u"]);
        assert.deepEqual(values(await driver.open("h2", "s", "archive").find("u")), ["h2/s/u"]);
        assert.equal(await driver.open("h", "s", "archive").delete("u"), 1);
        assert.equal(await driver.open("h", "s", "archive").count("v"), 1);
        assert.equal(await driver.open("h", "t", "archive").count("u"), 1);
      });

      it("accepts many concurrent appends, each committed when its promise resolves", async () => {
        const store = driver.open("h", "s", "archive");
        const appended = await Promise.all(
          Array.from({ length: 100 }, (_, i) => store.append("u", { when: 7, value: i })),
        );
        assert.equal(new Set(appended).size, 100);
        assert.deepEqual(
          values(await store.find("u")),
          Array.from({ length: 100 }, (_, i) => i),
        );
      });
      it("rejects only the duplicate among concurrent appends; the others are stored", async () => {
        const store = driver.open("h", "s", "archive");
        const results = await Promise.allSettled([
          store.append("u", { id: "one", when: 1, value: 1 }),
          store.append("u", { id: "dup", when: 2, value: 2 }),
          store.append("u", { id: "dup", when: 3, value: 3 }),
          store.append("u", { id: "four", when: 4, value: 4 }),
        ]);
        assert.deepEqual(
          results.map((r) => r.status),
          ["fulfilled", "fulfilled", "rejected", "fulfilled"],
        );
        assert.ok((results[2] as PromiseRejectedResult).reason instanceof ArchiveIdConflictError);
        assert.deepEqual(values(await store.find("u")), [1, 2, 4]);
      });
    });

    describe("driver", () => {
      it("deleteUser removes the user from every kind and store of that host only", async () => {
        for (const host of ["h", "h2"]) {
          for (const user of ["u", "v"]) {
            await driver.open(host, "settings", "keyval").set(user, 1);
            await driver.open(host, "vcard", "keyval").set(user, 2);
            await driver.open(host, "roster", "map").set(user, "k", 3);
            await driver.open(host, "pep", "map").set(user, "k", 4);
            await driver.open(host, "mam", "archive").append(user, { value: 5 });
            await driver.open(host, "offline", "archive").append(user, { value: 6 });
          }
        }
        await driver.deleteUser("h", "u");
        assert.equal(await driver.open("h", "settings", "keyval").get("u"), undefined);
        assert.equal(await driver.open("h", "vcard", "keyval").get("u"), undefined);
        assert.deepEqual(await driver.open("h", "roster", "map").getAll("u"), new Map());
        assert.deepEqual(await driver.open("h", "pep", "map").getAll("u"), new Map());
        assert.equal(await driver.open("h", "mam", "archive").count("u"), 0);
        assert.equal(await driver.open("h", "offline", "archive").count("u"), 0);
        assert.equal(await driver.open("h", "settings", "keyval").get("v"), 1);
        assert.equal(await driver.open("h", "pep", "map").get("v", "k"), 4);
        assert.equal(await driver.open("h", "offline", "archive").count("v"), 1);
        assert.equal(await driver.open("h2", "vcard", "keyval").get("u"), 2);
        assert.equal(await driver.open("h2", "roster", "map").get("u", "k"), 3);
        assert.equal(await driver.open("h2", "mam", "archive").count("u"), 1);
        await driver.deleteUser("h", "nobody");
        await driver.deleteUser("nowhere", "u");
      });

      it("stores unicode and large values unchanged", async () => {
        const text = 'zoë 𝄞 \u{1F600} עברית e\u0301 \u0000 \uFFFD "quoted" \\ \n\t';
        const big = "x".repeat(1_000_000) + text;
        const keyval = driver.open("hôst.example", "störe", "keyval");
        const map = driver.open("hôst.example", "störe", "map");
        const archive = driver.open("hôst.example", "störe", "archive");
        await keyval.set(text, { [text]: text, big });
        await map.set(text, text, [text, big]);
        const id = await archive.append(text, { id: text, with: text, when: 1, value: { text, big } });
        assert.deepEqual(await keyval.get(text), { [text]: text, big });
        assert.deepEqual(await keyval.users(), [text]);
        assert.deepEqual(await map.getAll(text), new Map([[text, [text, big]]]));
        assert.equal(id, text);
        assert.deepEqual(await archive.find(text, { with: text, after: undefined }), [
          { id: text, when: 1, with: text, value: { text, big } },
        ]);
        assert.deepEqual(await archive.find(text, { before: text }), []);
      });

      it("keeps large `when` values exact (far past and future milliseconds)", async () => {
        const archive = driver.open("h", "s", "archive");
        const far = 8_640_000_000_000_000; // the largest Date
        await archive.append("u", { id: "future", when: far, value: 1 });
        await archive.append("u", { id: "past", when: -far, value: 2 });
        const items = await archive.find("u");
        assert.deepEqual(ids(items), ["past", "future"]);
        assert.deepEqual(
          items.map((item) => item.when),
          [-far, far],
        );
      });

      if (options.reopen) {
        const reopen = options.reopen;
        it("keeps everything after close and reopen", async () => {
          await driver.open("h", "s", "keyval").set("u", { v: 1 });
          await driver.open("h", "s", "map").set("u", "k", [2]);
          const archive = driver.open("h", "s", "archive");
          const first = await archive.append("u", { when: 10, value: "first" });
          await archive.append("u", { when: 20, value: "second" });
          await driver.close();
          closed = true;
          driver = await reopen();
          closed = false;
          assert.deepEqual(await driver.open("h", "s", "keyval").get("u"), { v: 1 });
          assert.deepEqual(await driver.open("h", "s", "map").getAll("u"), new Map([["k", [2]]]));
          const reopened = driver.open("h", "s", "archive");
          await reopened.append("u", { when: 20, value: "third" });
          assert.deepEqual(values(await reopened.find("u")), ["first", "second", "third"]);
          assert.deepEqual(values(await reopened.find("u", { after: first, limit: 1 })), ["second"]);
        });
      }
    });
  });
}
