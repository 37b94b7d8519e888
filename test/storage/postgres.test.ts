import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { pino } from "pino";
import { sql } from "kysely";
import { createPostgresDriver } from "../../src/storage/postgres/index.js";
import { openPostgresTables } from "../../src/storage/postgres/driver.js";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.js";
import { runStorageContract } from "./contract.js";

// One database per run of this file; each contract test starts from empty tables.
let database: TestDatabase;
before(async () => {
  database = await createTestDatabase();
});
after(async () => {
  await database?.drop();
});

runStorageContract(
  "postgres",
  async () => {
    const driver = await createPostgresDriver(database.url, { poolSize: 4 });
    await database.query(`truncate keyval, map, archive restart identity`);
    return driver;
  },
  { reopen: () => createPostgresDriver(database.url, { poolSize: 4 }) },
);

describe("postgres driver", () => {
  it("applies the schema once and records its version", async () => {
    await (await createPostgresDriver(database.url)).close();
    await (await createPostgresDriver(database.url)).close();
    assert.deepEqual(await database.query("select version, name from schema_version"), [
      { version: 1, name: "initial-schema" },
    ]);
  });

  it("migrates once when several processes open a new database together", async () => {
    const fresh = await createTestDatabase();
    try {
      const drivers = await Promise.all([1, 2, 3].map(() => createPostgresDriver(fresh.url, { poolSize: 2 })));
      await Promise.all(drivers.map((d) => d.close()));
      assert.deepEqual(await fresh.query("select version from schema_version"), [{ version: 1 }]);
    } finally {
      await fresh.drop();
    }
  });

  it("rejects, without the password, when the server cannot be reached", async () => {
    await assert.rejects(
      createPostgresDriver("postgres://natter:s3cret-pw@127.0.0.1:1/natter", { connectTimeoutMs: 2000 }),
      (error: Error) => {
        assert.match(error.message, /PostgreSQL postgres:\/\/natter:\*\*\*@127\.0\.0\.1:1\/natter/);
        assert.doesNotMatch(error.message, /s3cret-pw/);
        return true;
      },
    );
  });

  it("rejects the store's promise when the database goes away, and the process lives on", async () => {
    const fresh = await createTestDatabase();
    const lines: { msg: string; database?: string }[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const line of chunk.toString().split("\n").filter(Boolean)) lines.push(JSON.parse(line));
        cb();
      },
    });
    const driver = await createPostgresDriver(fresh.url, { poolSize: 2, log: pino(sink) });
    const store = driver.open("h", "s", "keyval");
    await store.set("u", 1);
    // Every connection to it is cut (idle pool clients get an 'error' event) and the database is gone.
    await fresh.drop();
    await assert.rejects(store.get("u"));
    await assert.rejects(store.set("u", 2));
    await assert.rejects(driver.open("h", "a", "archive").append("u", { value: 1 }));
    // The idle connection cut by the drop was reported, not thrown.
    assert.ok(
      lines.some((l) => l.msg === "PostgreSQL connection lost" && l.database?.includes(fresh.name)),
      JSON.stringify(lines),
    );
    await driver.close();
  });

  it("lives through a connection cut while a transaction holds it between statements", async () => {
    // pg-pool takes its 'error' listener off a client while it is checked out: a connection the server ends
    // then (a restart, pg_terminate_backend) emitted an unhandled 'error' and killed the process.
    const tables = await openPostgresTables(database.url, { poolSize: 1 });
    try {
      await assert.rejects(
        tables.transaction().execute(async (trx) => {
          await sql`select 1`.execute(trx);
          await database.terminateConnections();
          await new Promise((resolve) => setTimeout(resolve, 300)); // the server's FATAL arrives meanwhile
          await sql`select 1`.execute(trx);
        }),
      );
      // The pool dropped the dead connection on release; the next statement gets a fresh one.
      const { rows } = await sql<{ one: number }>`select 1 as one`.execute(tables);
      assert.deepEqual(rows, [{ one: 1 }]);
    } finally {
      await tables.destroy();
    }
  });

  it("commits a turn's key-value writes together: the last write to a key wins, each promise resolves", async () => {
    const driver = await createPostgresDriver(database.url, { poolSize: 2 });
    try {
      const a = driver.open("batch", "a", "keyval");
      const b = driver.open("batch", "b", "keyval");
      await Promise.all([a.set("gone", 0), a.set("kept", 0)]);
      // One turn: sets, overwrites and deletes of the same keys, in two stores.
      await Promise.all([
        a.set("u1", 1),
        a.set("u1", 2),
        b.set("u1", "b"),
        a.delete("gone"),
        a.set("u2", 1),
        a.delete("u2"),
        a.delete("never"),
        a.set("kept", { v: "\u0000 raw" }),
        b.delete("u1"),
        b.set("u1", "b2"),
      ]);
      assert.deepEqual(await a.users(), ["kept", "u1"]);
      assert.equal(await a.get("u1"), 2);
      assert.deepEqual(await a.get("kept"), { v: "\u0000 raw" });
      assert.equal(await b.get("u1"), "b2");
    } finally {
      await driver.close();
    }
  });

  it("sends a turn's batch as one statement: 200 appends, 200 key-value writes, one round trip each", async () => {
    const statements: string[] = [];
    const driver = await createPostgresDriver(database.url, { poolSize: 4, onQuery: (sql) => statements.push(sql) });
    try {
      statements.length = 0; // the migration check
      const archive = driver.open("rt", "mam", "archive");
      await Promise.all(Array.from({ length: 200 }, (_, i) => archive.append(`u${i % 7}`, { value: i })));
      assert.equal(statements.length, 1, statements.join("\n"));
      assert.match(statements[0] as string, /^insert into "archive"/);
      const keyval = driver.open("rt", "last", "keyval");
      await Promise.all(Array.from({ length: 200 }, (_, i) => keyval.set(`u${i}`, i)));
      assert.equal(statements.length, 2);
      assert.equal((await keyval.users()).length, 200);
      assert.equal(await archive.count("u0"), 29);
    } finally {
      await driver.close();
    }
  });

  it("refuses a database whose schema is newer than it knows", async () => {
    await database.query("insert into schema_version (version, name, applied_at) values (999, 'future', 0)");
    try {
      await assert.rejects(createPostgresDriver(database.url), /newer than this Natter knows/);
    } finally {
      await database.query("delete from schema_version where version = 999");
    }
  });
});
