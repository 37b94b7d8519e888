// A throwaway database on the machine's PostgreSQL (127.0.0.1:5432, trust auth, user postgres, as in CI):
// each test file creates its own uniquely named database and drops it when done.
import { randomBytes } from "node:crypto";
import pg from "pg";

/** The server's maintenance database; NATTER_TEST_POSTGRES_URL overrides it (another host or user). */
const ADMIN_URL = process.env.NATTER_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

export interface TestDatabase {
  /** URL of the new, empty database. */
  url: string;
  name: string;
  /** Runs one SQL statement on the test database (checks behind Natter's back). */
  query<Row = Record<string, unknown>>(text: string, values?: unknown[]): Promise<Row[]>;
  /** Cuts every connection to the database, as a database restart does. */
  terminateConnections(): Promise<void>;
  /** Drops the database (closing any connection still on it). */
  drop(): Promise<void>;
}

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `natter_test_${randomBytes(6).toString("hex")}`;
  await admin((c) => c.query(`create database ${name}`));
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async query(text, values) {
      const client = new pg.Client({ connectionString: url.toString() });
      await client.connect();
      try {
        return (await client.query(text, values)).rows;
      } finally {
        await client.end();
      }
    },
    async terminateConnections() {
      await admin((c) =>
        c.query(
          "select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()",
          [name],
        ),
      );
    },
    async drop() {
      await admin((c) => c.query(`drop database if exists ${name} with (force)`));
    },
  };
}
