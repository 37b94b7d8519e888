// `natter storage copy`'s core: every row from SQLite to PostgreSQL, in pages, archive order kept.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createPostgresDriver, openPostgresTables } from "../../src/storage/postgres/index.js";
import { copyTables, countRowsPerStore, holdsData } from "../../src/storage/sql/copy-tables.js";
import { createSqliteDriver, openSqliteTables } from "../../src/storage/sqlite/index.js";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.js";

describe("copyTables (SQLite → PostgreSQL)", () => {
  const dir = mkdtempSync(join(tmpdir(), "natter-copy-test-"));
  const path = join(dir, "natter.sqlite");
  let database: TestDatabase;
  before(async () => {
    database = await createTestDatabase();
  });
  after(async () => {
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("copies pages of rows, odd keys and archive order exactly; the counts match", async () => {
    const source = await createSqliteDriver(path);
    const odd = "n\u0000ul \u{1F600} ë";
    const roster = source.open("h", "roster", "map");
    // More than one page (1000 rows) in one store.
    await Promise.all(Array.from({ length: 2345 }, (_, i) => roster.set(`user${i % 3}`, `c${i}@x`, { i })));
    await roster.set(odd, odd, odd);
    await source.open("h", "accounts", "keyval").set(odd, { k: 1 });
    await source.open("other.example", "accounts", "keyval").set("u", 2);
    const archive = source.open("h", "mam", "archive");
    // Same `when` for all: only the append order (seq) orders them.
    for (const n of [3, 1, 2]) await archive.append("u", { id: `a${n}`, when: 1000, with: odd, value: n });
    await archive.append("u", { id: "early", when: 10, value: 0 });
    await source.close();

    const from = await openSqliteTables(path);
    const to = await openPostgresTables(database.url);
    try {
      assert.equal(await holdsData(to), false);
      let rows = 0;
      await copyTables(from, to, (n) => {
        assert.ok(n <= 1000);
        rows += n;
      });
      assert.equal(rows, 2346 + 2 + 4);
      assert.equal(await holdsData(to), true);
      assert.deepEqual(await countRowsPerStore(to), await countRowsPerStore(from));
    } finally {
      await from.destroy();
      await to.destroy();
    }

    const target = await createPostgresDriver(database.url);
    try {
      const copied = target.open("h", "roster", "map");
      assert.equal(await copied.count("user1"), 782);
      assert.deepEqual(await copied.get("user2", "c2@x"), { i: 2 });
      assert.equal(await copied.get(odd, odd), odd);
      assert.deepEqual(await target.open("h", "accounts", "keyval").users(), [odd]);
      const items = await target.open("h", "mam", "archive").find("u");
      assert.deepEqual(
        items.map((item) => item.id),
        ["early", "a3", "a1", "a2"],
      );
      assert.equal(items[1]?.with, odd);
    } finally {
      await target.close();
    }
  });
});
