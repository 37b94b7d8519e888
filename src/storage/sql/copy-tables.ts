// `natter storage copy`: every row of every store, from one database to another with the same schema
// (SQLite to PostgreSQL). The tables are the same on both dialects, so a copy is table by table, in key
// order, a page at a time (keyset paging: the millionth row costs what the first does), one multi-row
// INSERT per page, all in one transaction on the target: it is stored whole or not at all.
import type { Kysely } from "kysely";
import type { StorageDatabase } from "./tables.js";

/** Rows read and written per INSERT: 7 parameters a row stays far below PostgreSQL's 65535. */
const PAGE = 1000;

export const STORE_TABLES = ["keyval", "map", "archive"] as const;
export type StoreTable = (typeof STORE_TABLES)[number];

/** Rows per table, host and store: "keyval|host|store" → count. */
export type StoreCounts = Map<string, number>;

export function storeCountKey(table: StoreTable, host: string, store: string): string {
  return JSON.stringify([table, host, store]);
}

export async function countRowsPerStore(db: Kysely<StorageDatabase>): Promise<StoreCounts> {
  const counts: StoreCounts = new Map();
  for (const table of STORE_TABLES) {
    const rows = await db
      .selectFrom(table)
      .select(["host", "store", (eb) => eb.fn.countAll().as("count")])
      .groupBy(["host", "store"])
      .execute();
    for (const row of rows) counts.set(storeCountKey(table, row.host, row.store), Number(row.count));
  }
  return counts;
}

/** Whether any store table holds a row. */
export async function holdsData(db: Kysely<StorageDatabase>): Promise<boolean> {
  for (const table of STORE_TABLES) {
    if (await db.selectFrom(table).select("host").limit(1).executeTakeFirst()) return true;
  }
  return false;
}

/**
 * Copies every row of `from` to `to`, replacing what `to` held. Archive rows are copied in `seq` order and
 * get new `seq` values on the target, so archive order (when, then seq) is kept. `onRows` is told how many
 * rows each page carried.
 */
export async function copyTables(
  from: Kysely<StorageDatabase>,
  to: Kysely<StorageDatabase>,
  onRows: (rows: number) => void,
): Promise<void> {
  await to.transaction().execute(async (trx) => {
    for (const table of STORE_TABLES) await trx.deleteFrom(table).execute();
    for await (const page of pages(from, "keyval")) {
      await trx.insertInto("keyval").values(page).execute();
      onRows(page.length);
    }
    for await (const page of pages(from, "map")) {
      await trx.insertInto("map").values(page).execute();
      onRows(page.length);
    }
    let seq = -1;
    while (true) {
      const rows = await from
        .selectFrom("archive")
        .select(["seq", "host", "store", "user", "id", "when", "with", "value"])
        .where("seq", ">", seq)
        .orderBy("seq")
        .limit(PAGE)
        .execute();
      if (rows.length === 0) break;
      seq = Number((rows.at(-1) as { seq: number }).seq);
      await trx
        .insertInto("archive")
        .values(rows.map(({ seq: _seq, ...row }) => ({ ...row, when: Number(row.when) })))
        .execute();
      onRows(rows.length);
    }
  });
}

type KeyedRow<T extends "keyval" | "map"> = T extends "map"
  ? { host: string; store: string; user: string; key: string; value: string }
  : { host: string; store: string; user: string; value: string };

/** A key table's rows in primary-key order, a page at a time. */
async function* pages<T extends "keyval" | "map">(
  db: Kysely<StorageDatabase>,
  table: T,
): AsyncGenerator<KeyedRow<T>[]> {
  // biome-ignore lint/suspicious/noExplicitAny: the two tables differ only by the `key` column
  const d = db as Kysely<any>;
  const keys = table === "map" ? ["host", "store", "user", "key"] : ["host", "store", "user"];
  let last: string[] | undefined;
  while (true) {
    let query = d.selectFrom(table).selectAll();
    if (last) {
      const after = last;
      // biome-ignore lint/suspicious/noExplicitAny: a row-value comparison over the primary key
      query = query.where((eb: any) => eb(eb.refTuple(...keys), ">", eb.tuple(...after)));
    }
    for (const key of keys) query = query.orderBy(key);
    const rows = (await query.limit(PAGE).execute()) as KeyedRow<T>[];
    if (rows.length === 0) return;
    const end = rows.at(-1) as Record<string, string>;
    last = keys.map((key) => end[key] as string);
    yield rows;
  }
}
