// Group commit for key-value writes, one writer per database shared by every key-value store. A write per
// logout (XEP-0012 last activity) made one SQLite commit each, the largest share of a login's server CPU once
// the rest was trimmed; writes made in the same turn of the event loop now share one transaction. Each promise
// resolves only after its commit (the store contract), writes keep the order they were made in whichever
// store made them, and a lone write is a single statement, as without the writer.
import type { Kysely } from "kysely";
import { compileOnce } from "./compiled-once.js";
import type { StorageDatabase } from "./tables.js";
import { type Pending, TurnBatchQueue } from "./turn-batch-queue.js";

/** One write, run on the database or inside the batch's transaction. */
type Write = (on: Kysely<StorageDatabase>) => Promise<unknown>;

/** Most writes committed in one transaction: bounds how long one flush holds the write lock. */
const MAX_BATCH = 500;

export class KeyValueWriter {
  private readonly queue: TurnBatchQueue<Write>;
  private readonly upsert;
  private readonly remove;

  constructor(private readonly db: Kysely<StorageDatabase>) {
    this.queue = new TurnBatchQueue(MAX_BATCH, (batch) => this.commit(batch));
    this.upsert = compileOnce(db, ["host", "store", "user", "value"], (slot) =>
      db
        .insertInto("keyval")
        .values({ host: slot("host"), store: slot("store"), user: slot("user"), value: slot("value") })
        .onConflict((oc) => oc.columns(["host", "store", "user"]).doUpdateSet({ value: slot("value") })),
    );
    this.remove = compileOnce(db, ["host", "store", "user"], (slot) =>
      db.deleteFrom("keyval").where("host", "=", slot("host")).where("store", "=", slot("store")).where("user", "=", slot("user")),
    );
  }

  set(host: string, store: string, user: string, value: string): Promise<void> {
    return this.queue.push((on) => this.upsert({ host, store, user, value }, on));
  }

  delete(host: string, store: string, user: string): Promise<void> {
    return this.queue.push((on) => this.remove({ host, store, user }, on));
  }

  /** Resolves once every write made before it has been committed or has failed. */
  settled(): Promise<void> {
    return this.queue.push(async () => undefined);
  }

  private async commit(batch: Pending<Write>[]): Promise<void> {
    if (batch.length === 1) return settle(batch[0] as Pending<Write>, this.db);
    try {
      await this.db.transaction().execute(async (trx) => {
        for (const write of batch) await write.item(trx);
      });
      for (const write of batch) write.resolve();
    } catch {
      // One write failed and the transaction rolled back: each is tried alone, so each gets its own outcome.
      for (const write of batch) await settle(write, this.db);
    }
  }
}

async function settle(write: Pending<Write>, db: Kysely<StorageDatabase>): Promise<void> {
  try {
    await write.item(db);
    write.resolve();
  } catch (error) {
    write.reject(error);
  }
}
