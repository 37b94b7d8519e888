import { type Kysely, sql } from "kysely";
import type { StorageDatabase } from "./tables.js";

/**
 * The store names a host uses in one table, found by hopping through the (host, store, ...) index one
 * name at a time (a "loose index scan"): a handful of index seeks instead of reading every row of the
 * host, on SQLite and PostgreSQL alike.
 */
export async function distinctStores(
  db: Kysely<StorageDatabase>,
  table: "keyval" | "map" | "archive",
  host: string,
): Promise<string[]> {
  const t = sql.table(table);
  const result = await sql<{ store: string }>`
    with recursive stores(store) as (
      select (select min("store") from ${t} where "host" = ${host})
      union all
      select (select min("store") from ${t} where "host" = ${host} and "store" > stores.store)
      from stores where stores.store is not null
    )
    select store from stores where store is not null`.execute(db);
  return result.rows.map((row) => row.store);
}
