// Group commit for key-value writes, one writer per database shared by every key-value store. A write per
// logout (XEP-0012 last activity) made one SQLite commit each, the largest share of a login's server CPU once
// the rest was trimmed; writes made in the same turn of the event loop now share one transaction. Each promise
// resolves only after its commit (the store contract), writes keep the order they were made in whichever
// store made them, and a lone write is a single statement, as without the writer.
import { type Kysely, sql } from "kysely";
import { compileOnce } from "./compiled-once.js";
import { sqlDialectOf } from "./dialect.js";
import type { StorageDatabase } from "./tables.js";
import { type Pending, TurnBatchQueue } from "./turn-batch-queue.js";

/** One write: `value` undefined deletes; a barrier writes nothing (settled()). */
type Write = { host: string; store: string; user: string; value: string | undefined } | { barrier: true };

/** Most writes committed in one transaction: bounds how long one flush holds the write lock. */
const MAX_BATCH = 500;

export class KeyValueWriter {
  private readonly queue: TurnBatchQueue<Write>;
  private readonly upsert;
  private readonly remove;
  private readonly oneStatement: boolean;

  constructor(private readonly db: Kysely<StorageDatabase>) {
    this.queue = new TurnBatchQueue(MAX_BATCH, (batch) => this.commit(batch));
    // PostgreSQL is a network round trip away: a batch is one statement there (writeAsOneStatement), not one per write.
    this.oneStatement = sqlDialectOf(db) === "postgres";
    this.upsert = compileOnce(db, ["host", "store", "user", "value"], (slot) =>
      db
        .insertInto("keyval")
        .values({ host: slot("host"), store: slot("store"), user: slot("user"), value: slot("value") })
        .onConflict((oc) => oc.columns(["host", "store", "user"]).doUpdateSet({ value: slot("value") })),
    );
    this.remove = compileOnce(db, ["host", "store", "user"], (slot) =>
      db
        .deleteFrom("keyval")
        .where("host", "=", slot("host"))
        .where("store", "=", slot("store"))
        .where("user", "=", slot("user")),
    );
  }

  set(host: string, store: string, user: string, value: string): Promise<void> {
    return this.queue.push({ host, store, user, value });
  }

  delete(host: string, store: string, user: string): Promise<void> {
    return this.queue.push({ host, store, user, value: undefined });
  }

  /** Resolves once every write made before it has been committed or has failed. */
  settled(): Promise<void> {
    return this.queue.push({ barrier: true });
  }

  private run(write: Write, on: Kysely<StorageDatabase>): Promise<unknown> {
    if ("barrier" in write) return Promise.resolve();
    const { host, store, user, value } = write;
    return value === undefined ? this.remove({ host, store, user }, on) : this.upsert({ host, store, user, value }, on);
  }

  private async commit(batch: Pending<Write>[]): Promise<void> {
    if (batch.length === 1) return this.settle(batch[0] as Pending<Write>);
    try {
      if (this.oneStatement)
        await writeAsOneStatement(
          this.db,
          batch.map((p) => p.item),
        );
      else {
        await this.db.transaction().execute(async (trx) => {
          for (const write of batch) await this.run(write.item, trx);
        });
      }
      for (const write of batch) write.resolve();
    } catch {
      // One write failed and the transaction rolled back: each is tried alone, so each gets its own outcome.
      for (const write of batch) await this.settle(write);
    }
  }

  private async settle(write: Pending<Write>): Promise<void> {
    try {
      await this.run(write.item, this.db);
      write.resolve();
    } catch (error) {
      write.reject(error);
    }
  }
}

/**
 * A batch as one PostgreSQL statement (atomic on its own): the last write to each key is what counts, so
 * the deletes and the upserts touch different keys and one data-modifying WITH runs both.
 */
async function writeAsOneStatement(db: Kysely<StorageDatabase>, writes: Write[]): Promise<void> {
  const last = new Map<string, { host: string; store: string; user: string; value: string | undefined }>();
  for (const write of writes) {
    if ("barrier" in write) continue;
    last.set(JSON.stringify([write.host, write.store, write.user]), write);
  }
  const finals = [...last.values()];
  const sets = finals.filter((w) => w.value !== undefined) as {
    host: string;
    store: string;
    user: string;
    value: string;
  }[];
  const deletes = finals.filter((w) => w.value === undefined);
  if (finals.length === 0) return;
  const deleting = sql.join(deletes.map((w) => sql`(${w.host}, ${w.store}, ${w.user})`));
  const deleteQuery = sql`delete from "keyval" where ("host", "store", "user") in (${deleting})`;
  if (sets.length === 0) {
    await deleteQuery.execute(db);
    return;
  }
  const rows = sql.join(sets.map((w) => sql`(${w.host}, ${w.store}, ${w.user}, ${w.value})`));
  const upsert = sql`insert into "keyval" ("host", "store", "user", "value") values ${rows}
    on conflict ("host", "store", "user") do update set "value" = excluded."value"`;
  await (deletes.length === 0 ? upsert : sql`with "deleted" as (${deleteQuery}) ${upsert}`).execute(db);
}
