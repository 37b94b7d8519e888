import { type Kysely, sql } from "kysely";
import { sqlDialectOf } from "../sql/dialect.js";
import { migrations as allMigrations } from "./list.js";
import type { Migration } from "./migration.js";

export interface MigrationResult {
  from: number;
  to: number;
}

// Any fixed number: PostgreSQL advisory locks are keyed by a bigint.
const POSTGRES_LOCK_KEY = 0x4e61747465; // "Natte"

/**
 * Brings the schema to the newest version, recording each applied migration in `schema_version`.
 * Several processes may open one database at once (the server and a CLI command), so the whole check
 * and apply runs in one transaction that holds the database's write lock from its first statement:
 * SQLite `BEGIN IMMEDIATE` (waits out busy_timeout), PostgreSQL a transaction-scoped advisory lock.
 */
export async function migrateToLatest(
  // biome-ignore lint/suspicious/noExplicitAny: runs before the schema's types hold
  db: Kysely<any>,
  migrations: readonly Migration[] = allMigrations,
): Promise<MigrationResult> {
  const dialect = sqlDialectOf(db);
  const latest = migrations.at(-1)?.version ?? 0;
  return db.connection().execute(async (conn) => {
    await sql.raw(dialect === "sqlite" ? "begin immediate" : "begin").execute(conn);
    try {
      if (dialect === "postgres") await sql`select pg_advisory_xact_lock(${POSTGRES_LOCK_KEY})`.execute(conn);
      await conn.schema
        .createTable("schema_version")
        .ifNotExists()
        .addColumn("version", "integer", (c) => c.primaryKey())
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("applied_at", "bigint", (c) => c.notNull())
        .execute();
      const row = await conn
        .selectFrom("schema_version")
        .select((eb) => eb.fn.max("version").as("version"))
        .executeTakeFirst();
      const from = Number(row?.version ?? 0);
      if (from > latest) {
        throw new Error(
          `the database's schema is version ${from}, newer than this Natter knows (${latest}): upgrade Natter`,
        );
      }
      for (const migration of migrations) {
        if (migration.version <= from) continue;
        await migration.up(conn);
        await conn
          .insertInto("schema_version")
          .values({ version: migration.version, name: migration.name, applied_at: Date.now() })
          .execute();
      }
      await sql`commit`.execute(conn);
      return { from, to: Math.max(from, latest) };
    } catch (error) {
      await sql`rollback`.execute(conn).catch(() => undefined);
      throw error;
    }
  });
}
