import { type Kysely, PostgresAdapter, SqliteAdapter } from "kysely";

/** The SQL dialects the storage layer supports. Only migrations and locking need to know which one runs. */
export type SqlDialectName = "sqlite" | "postgres";

// biome-ignore lint/suspicious/noExplicitAny: works for any schema, migrations included
export function sqlDialectOf(db: Kysely<any>): SqlDialectName {
  const adapter = db.getExecutor().adapter;
  if (adapter instanceof SqliteAdapter) return "sqlite";
  if (adapter instanceof PostgresAdapter) return "postgres";
  throw new Error(`unsupported SQL dialect: ${adapter.constructor.name}`);
}
