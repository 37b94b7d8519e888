import type { Kysely } from "kysely";

/**
 * One schema change. `up` runs inside the migration transaction on SQLite and PostgreSQL alike
 * (both have transactional DDL), so a failed migration leaves the previous schema intact.
 * Migrations take `Kysely<any>`: they describe the schema as it was then, not today's types.
 */
export interface Migration {
  version: number;
  name: string;
  // biome-ignore lint/suspicious/noExplicitAny: see above
  up(db: Kysely<any>): Promise<void>;
}
