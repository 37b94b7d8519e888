import { Kysely, PostgresDialect } from "kysely";
import pg from "pg";
import type { Logger } from "pino";
import { migrateToLatest } from "../migrations/index.js";
import { createSqlDriver } from "../sql/sql-driver.js";
import type { StorageDatabase } from "../sql/tables.js";
import type { StorageDriver } from "../types.js";
import { EscapingClient, natterTypes } from "./escaping-client.js";
import { redactPostgresUrl } from "./redact-url.js";

export interface PostgresDriverOptions {
  /** Connections the pool opens at most (storage.postgres.pool_size). */
  poolSize?: number;
  /** Milliseconds to wait for a connection (storage.postgres.connect_timeout, in seconds there). */
  connectTimeoutMs?: number;
  /** Where a connection lost while idle is reported; silent when absent. */
  log?: Logger;
  /** Told the SQL of every statement sent (tests count round trips; debugging). */
  onQuery?: (sql: string) => void;
}

/**
 * The same stores as the SQLite driver on a PostgreSQL database (the tables are created by the shared
 * migrations), over a pool of `poolSize` connections. Rejects, with the URL's password hidden, when the
 * database cannot be reached or migrated.
 */
export async function createPostgresDriver(url: string, options: PostgresDriverOptions = {}): Promise<StorageDriver> {
  return createSqlDriver(await openPostgresTables(url, options));
}

/** The database's tables, migrated to the newest schema (the driver's, and `natter storage copy`'s target). */
export async function openPostgresTables(
  url: string,
  options: PostgresDriverOptions = {},
): Promise<Kysely<StorageDatabase>> {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    // A connection whose peer vanished (a network partition sends no FIN) is found by TCP keepalive.
    keepAlive: true,
    types: natterTypes,
    Client: EscapingClient,
  });
  // An idle client whose server goes away (restart, network) emits 'error' on the pool: without a listener
  // that kills the process. The next query gets a fresh connection, or rejects if the server is still gone.
  pool.on("error", (error) => {
    options.log?.error(
      { err: { message: error.message }, database: redactPostgresUrl(url) },
      "PostgreSQL connection lost",
    );
  });
  const onQuery = options.onQuery;
  const db = new Kysely<StorageDatabase>({
    dialect: new PostgresDialect({ pool }),
    ...(onQuery ? { log: (event) => onQuery(event.query.sql) } : {}),
  });
  try {
    await migrateToLatest(db);
  } catch (error) {
    await db.destroy().catch(() => undefined);
    throw new Error(`PostgreSQL ${redactPostgresUrl(url)}: ${(error as Error).message}`); // no `cause`: a parse error keeps the whole URL in `input`
  }
  return db;
}
