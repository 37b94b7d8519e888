import type { Insertable, Kysely } from "kysely";
import { ArchiveIdConflictError } from "../errors.js";
import { sqlDialectOf } from "./dialect.js";
import type { ArchiveTable, StorageDatabase } from "./tables.js";
import { type Pending, TurnBatchQueue } from "./turn-batch-queue.js";

/** Most rows committed in one transaction: bounds how long one flush holds the write lock. */
const MAX_BATCH = 1000;

/**
 * Group commit for archive appends. Appends that arrive while the database is busy (many sessions
 * archiving at once) are written together in one transaction, and each promise resolves only after
 * that commit: the contract's "committed before the promise resolves" holds, at a fraction of the
 * per-commit cost. A lone append is a single INSERT, as without the batcher. It also keeps the number
 * of queries waiting in Kysely small (Kysely's SQLite connection lock wakes every waiter on each
 * release, which costs quadratic time with thousands of them).
 */
export class AppendBatcher {
  private readonly queue: TurnBatchQueue<Insertable<ArchiveTable>>;
  private readonly oneStatement: boolean;

  constructor(private readonly db: Kysely<StorageDatabase>) {
    this.queue = new TurnBatchQueue(MAX_BATCH, (batch) => this.commit(batch));
    // PostgreSQL is a network round trip away: a batch is one multi-row INSERT there, not one per row.
    this.oneStatement = sqlDialectOf(db) === "postgres";
  }

  /** Resolves once the row is committed; rejects with ArchiveIdConflictError when its id is taken. */
  append(row: Insertable<ArchiveTable>): Promise<void> {
    return this.queue.push(row);
  }

  private async commit(batch: Pending<Insertable<ArchiveTable>>[]): Promise<void> {
    try {
      const inserted =
        batch.length === 1
          ? [await this.insert(this.db, (batch[0] as Pending<Insertable<ArchiveTable>>).item)]
          : this.oneStatement
            ? await this.insertAll(batch.map((pending) => pending.item))
            : await this.db.transaction().execute(async (trx) => {
                const results: boolean[] = [];
                for (const pending of batch) results.push(await this.insert(trx, pending.item));
                return results;
              });
      for (const [i, pending] of batch.entries()) {
        if (inserted[i]) pending.resolve();
        else pending.reject(new ArchiveIdConflictError(pending.item.id));
      }
    } catch (error) {
      for (const pending of batch) pending.reject(error); // the transaction rolled back: nothing was stored
    }
  }

  /**
   * One INSERT of every row, in batch order (so `seq` follows it). A row whose id is taken, by a stored item or
   * by an earlier row of the same batch, is skipped (ON CONFLICT DO NOTHING handles both); RETURNING names
   * the rows stored, the first of each id in the batch.
   */
  private async insertAll(rows: Insertable<ArchiveTable>[]): Promise<boolean[]> {
    const stored = await this.db
      .insertInto("archive")
      .values(rows)
      .onConflict((oc) => oc.columns(["host", "store", "user", "id"]).doNothing())
      .returning(["host", "store", "user", "id"])
      .execute();
    const unclaimed = new Set(stored.map((row) => JSON.stringify([row.host, row.store, row.user, row.id])));
    return rows.map((row) => unclaimed.delete(JSON.stringify([row.host, row.store, row.user, row.id])));
  }

  private async insert(db: Kysely<StorageDatabase>, row: Insertable<ArchiveTable>): Promise<boolean> {
    const result = await db
      .insertInto("archive")
      .values(row)
      .onConflict((oc) => oc.columns(["host", "store", "user", "id"]).doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  }
}
