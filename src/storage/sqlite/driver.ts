import { Kysely, SqliteDialect } from "kysely";
import { migrateToLatest } from "../migrations/index.js";
import { createSqlDriver } from "../sql/sql-driver.js";
import type { StorageDatabase } from "../sql/tables.js";
import type { StorageDriver } from "../types.js";
import { openSqliteDatabase } from "./open-database.js";
import { withStatementCache } from "./statement-cache.js";

/**
 * The default driver: one SQLite file (created with its directory if missing), migrated to the newest
 * schema before the promise resolves. Each write is committed when its promise resolves.
 */
export async function createSqliteDriver(path: string): Promise<StorageDriver> {
  return createSqlDriver(await openSqliteTables(path));
}

/** The file's tables, migrated to the newest schema (the driver's, and `natter storage copy`'s source). */
export async function openSqliteTables(path: string): Promise<Kysely<StorageDatabase>> {
  const database = openSqliteDatabase(path);
  const db = new Kysely<StorageDatabase>({ dialect: new SqliteDialect({ database: withStatementCache(database) }) });
  try {
    await migrateToLatest(db);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  return db;
}
