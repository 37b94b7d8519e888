import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import Database from "better-sqlite3";
import { createSqliteDriver } from "../../src/storage/sqlite/index.js";
import { runStorageContract } from "./contract.js";

const dir = mkdtempSync(join(tmpdir(), "natter-sqlite-test-"));
after(() => rmSync(dir, { recursive: true, force: true }));

// A fresh file per test (in a directory that does not exist yet, so its creation is tested too).
let files = 0;
let lastPath = "";
runStorageContract(
  "sqlite",
  async () => {
    lastPath = join(dir, `db-${++files}`, "natter.sqlite");
    return createSqliteDriver(lastPath);
  },
  { reopen: () => createSqliteDriver(lastPath) },
);

describe("sqlite driver", () => {
  it("applies the schema once and records its version", async () => {
    const path = join(dir, "versions", "natter.sqlite");
    await (await createSqliteDriver(path)).close();
    await (await createSqliteDriver(path)).close();
    const db = new Database(path, { readonly: true });
    try {
      assert.deepEqual(db.prepare("select version, name from schema_version").all(), [
        { version: 1, name: "initial-schema" },
      ]);
      assert.equal(db.pragma("journal_mode", { simple: true }), "wal");
    } finally {
      db.close();
    }
  });

  it("lets another process (a CLI command) write the file while the server has it open", async () => {
    const path = join(dir, "shared", "natter.sqlite");
    const server = await createSqliteDriver(path);
    try {
      await server.open("h", "mam", "archive").append("u", { id: "a", when: 1, value: 1 });
      const cli = join(dir, "cli.mts");
      writeFileSync(
        cli,
        `import { createSqliteDriver } from ${JSON.stringify(fileURLToPath(new URL("../../src/storage/sqlite/index.ts", import.meta.url)))};
        const driver = await createSqliteDriver(${JSON.stringify(path)});
        await driver.open("h", "mam", "archive").append("u", { id: "b", when: 2, value: 2 });
        await driver.deleteUser("h", "nobody");
        await driver.close();`,
      );
      // Async, so the server's event loop stays free while the other process runs.
      const writes = promisify(execFile)(process.execPath, ["--import", "tsx", cli]);
      await server.open("h", "mam", "archive").append("u", { id: "c", when: 3, value: 3 });
      await writes;
      const items = await server.open("h", "mam", "archive").find("u");
      assert.deepEqual(
        items.map((item) => item.id),
        ["a", "b", "c"],
      );
    } finally {
      await server.close();
    }
  });

  it("refuses a database whose schema is newer than it knows", async () => {
    const path = join(dir, "newer", "natter.sqlite");
    await (await createSqliteDriver(path)).close();
    const db = new Database(path);
    db.prepare("insert into schema_version (version, name, applied_at) values (999, 'future', 0)").run();
    db.close();
    await assert.rejects(createSqliteDriver(path), /newer than this Natter knows/);
  });
});
