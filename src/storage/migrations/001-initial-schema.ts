import { type Kysely, sql } from "kysely";
import { sqlDialectOf } from "../sql/dialect.js";
import type { Migration } from "./migration.js";

export const initialSchema: Migration = {
  version: 1,
  name: "initial-schema",
  // biome-ignore lint/suspicious/noExplicitAny: migrations describe the schema of their time
  async up(db: Kysely<any>) {
    const dialect = sqlDialectOf(db);
    // "Sorted" in the store contract is code point order: SQLite's default BINARY collation gives it;
    // PostgreSQL needs the "C" collation on every text key column.
    const key = dialect === "postgres" ? sql`text collate "C"` : sql`text`;

    await db.schema
      .createTable("keyval")
      .addColumn("host", key, (c) => c.notNull())
      .addColumn("store", key, (c) => c.notNull())
      .addColumn("user", key, (c) => c.notNull())
      .addColumn("value", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("keyval_pk", ["host", "store", "user"])
      .execute();

    await db.schema
      .createTable("map")
      .addColumn("host", key, (c) => c.notNull())
      .addColumn("store", key, (c) => c.notNull())
      .addColumn("user", key, (c) => c.notNull())
      .addColumn("key", key, (c) => c.notNull())
      .addColumn("value", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("map_pk", ["host", "store", "user", "key"])
      .execute();

    await db.schema
      .createTable("archive")
      // The one per-dialect column. SQLite: an alias of the rowid, so the table itself is the seq index.
      .addColumn("seq", dialect === "postgres" ? sql`bigint generated always as identity` : "integer", (c) =>
        c.primaryKey(),
      )
      .addColumn("host", key, (c) => c.notNull())
      .addColumn("store", key, (c) => c.notNull())
      .addColumn("user", key, (c) => c.notNull())
      .addColumn("id", key, (c) => c.notNull())
      .addColumn("when", "bigint", (c) => c.notNull())
      .addColumn("with", key, (c) => c.notNull())
      .addColumn("value", "text", (c) => c.notNull())
      .execute();

    // Resolves RSM after/before ids and `ids` filters; enforces id uniqueness per user.
    await db.schema
      .createIndex("archive_by_id")
      .unique()
      .on("archive")
      .columns(["host", "store", "user", "id"])
      .execute();
    // Keyset paging in archive order (when, seq) for one user, with or without a time range.
    await db.schema
      .createIndex("archive_by_user_time")
      .on("archive")
      .columns(["host", "store", "user", "when", "seq"])
      .execute();
    // The same for one conversation (MAM `with`).
    await db.schema
      .createIndex("archive_by_user_with_time")
      .on("archive")
      .columns(["host", "store", "user", "with", "when", "seq"])
      .execute();
    // Retention: deleteOlderThan across users of one store.
    await db.schema.createIndex("archive_by_time").on("archive").columns(["host", "store", "when"]).execute();
  },
};
