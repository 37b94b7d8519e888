import type { Expression, ExpressionBuilder, Kysely, SqlBool } from "kysely";
import { newArchiveId } from "../archive-id.js";
import type { ArchivePosition } from "../archive-order.js";
import { ArchiveItemNotFoundError } from "../errors.js";
import type { ArchiveItem, ArchiveQuery, ArchiveStore, Json } from "../types.js";
import type { AppendBatcher } from "./append-batcher.js";
import { compileOnce } from "./compiled-once.js";
import type { StorageDatabase } from "./tables.js";

type ArchiveFilter = Omit<ArchiveQuery, "limit" | "reverse">;
type Where = ExpressionBuilder<StorageDatabase, "archive">;

/**
 * An archive over the shared `archive` table, following ../archive-order.ts. Every query is a range
 * on one index (`archive_by_user_time` or `archive_by_user_with_time`), walked in archive order from a
 * cursor with the limit in SQL: a page costs the same on the millionth item as on the first (no OFFSET).
 */
export function sqlArchiveStore(
  db: Kysely<StorageDatabase>,
  batcher: AppendBatcher,
  host: string,
  store: string,
): ArchiveStore {
  /** Where `id` sits in archive order; unknown ids are the caller's item-not-found. */
  async function positionOf(user: string, id: string): Promise<ArchivePosition> {
    const row = await db
      .selectFrom("archive")
      .select(["when", "seq"])
      .where("host", "=", host)
      .where("store", "=", store)
      .where("user", "=", user)
      .where("id", "=", id)
      .executeTakeFirst();
    if (!row) throw new ArchiveItemNotFoundError(id);
    return { when: Number(row.when), seq: Number(row.seq) };
  }

  /** The WHERE clause for one user's items matching a filter (cursors resolved first). */
  async function matching(user: string, filter: ArchiveFilter): Promise<(eb: Where) => Expression<SqlBool>> {
    const after = filter.after === undefined ? undefined : await positionOf(user, filter.after);
    const before = filter.before === undefined ? undefined : await positionOf(user, filter.before);
    return (eb) => {
      const conditions: Expression<SqlBool>[] = [eb("host", "=", host), eb("store", "=", store), eb("user", "=", user)];
      if (filter.with !== undefined) conditions.push(eb("with", "=", filter.with));
      if (filter.start !== undefined) conditions.push(eb("when", ">=", filter.start));
      if (filter.end !== undefined) conditions.push(eb("when", "<=", filter.end));
      if (filter.ids !== undefined) conditions.push(eb("id", "in", filter.ids));
      // Row-value comparisons: both SQLite and PostgreSQL turn them into an index range.
      if (after) conditions.push(eb(eb.refTuple("when", "seq"), ">", eb.tuple(after.when, after.seq)));
      if (before) conditions.push(eb(eb.refTuple("when", "seq"), "<", eb.tuple(before.when, before.seq)));
      return eb.and(conditions);
    };
  }

  // The first page of a user's items with no filter: offline storage's read at every login, and the most
  // common archive read; Kysely's builder cost more than SQLite's walk of an empty range (--cpu-prof). Compiled once
  // per direction, the limit a slot.
  const firstPage = (["asc", "desc"] as const).map((direction) =>
    compileOnce(db, ["user", "limit"], (slot) =>
      db
        .selectFrom("archive")
        .select(["id", "when", "with", "value"])
        .where("host", "=", host)
        .where("store", "=", store)
        .where("user", "=", slot("user"))
        .orderBy("when", direction)
        .orderBy("seq", direction)
        .limit(slot("limit") as unknown as number),
    ),
  );
  const unfiltered = (q: ArchiveQuery) =>
    q.with === undefined &&
    q.start === undefined &&
    q.end === undefined &&
    q.ids === undefined &&
    q.after === undefined &&
    q.before === undefined;

  return {
    async append(user, item) {
      const id = item.id ?? newArchiveId();
      await batcher.append({
        host,
        store,
        user,
        id,
        when: item.when ?? Date.now(),
        with: item.with ?? "",
        value: JSON.stringify(item.value),
      });
      return id;
    },

    async find(user, query = {}) {
      if (query.limit !== undefined && query.limit > 0 && unfiltered(query)) {
        const { rows } = await (firstPage[query.reverse ? 1 : 0] as (typeof firstPage)[0])({
          user,
          limit: query.limit,
        });
        if (query.reverse) rows.reverse();
        return rows.map(toItem);
      }
      const where = await matching(user, query);
      if (query.ids?.length === 0 || query.limit === 0) return [];
      const direction = query.reverse ? "desc" : "asc";
      let select = db
        .selectFrom("archive")
        .select(["id", "when", "with", "value"])
        .where(where)
        .orderBy("when", direction)
        .orderBy("seq", direction);
      if (query.limit !== undefined) select = select.limit(query.limit);
      const rows = await select.execute();
      // `reverse` picks the newest page; the page itself is still returned oldest first.
      if (query.reverse) rows.reverse();
      return rows.map(toItem);
    },

    async count(user, query = {}) {
      if (query.ids?.length === 0) return 0;
      const row = await db
        .selectFrom("archive")
        .select((eb) => eb.fn.countAll().as("count"))
        .where(await matching(user, query))
        .executeTakeFirstOrThrow();
      return Number(row.count);
    },

    async delete(user, query = {}) {
      const where = await matching(user, query);
      if (query.ids?.length === 0) return 0;
      const result = await db.deleteFrom("archive").where(where).executeTakeFirst();
      return Number(result.numDeletedRows);
    },

    async deleteOlderThan(when) {
      const result = await db
        .deleteFrom("archive")
        .where("host", "=", host)
        .where("store", "=", store)
        .where("when", "<", when)
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}

function toItem(row: { id: string; when: number; with: string; value: string }): ArchiveItem {
  return { id: row.id, when: Number(row.when), with: row.with, value: JSON.parse(row.value) as Json };
}
