// Group commit for key-value writes, one writer per database shared by every key-value store. A write per
// logout (XEP-0012 last activity) made one SQLite commit each, the largest share of a login's server CPU once
// the rest was trimmed; writes made in the same turn of the event loop now share one transaction. Each promise
// resolves only after its commit (the store contract), writes keep the order they were made in whichever
// store made them, and a lone write is a single statement, as without the writer.
import type { Kysely } from "kysely";
import { compileOnce } from "./compiled-once.js";
import type { StorageDatabase } from "./tables.js";

interface PendingWrite {
  run: (on: Kysely<StorageDatabase>) => Promise<unknown>;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** Most writes committed in one transaction: bounds how long one flush holds the write lock. */
const MAX_BATCH = 500;

export class KeyValueWriter {
  private queue: PendingWrite[] = [];
  private flushing = false;
  private readonly upsert;
  private readonly remove;

  constructor(private readonly db: Kysely<StorageDatabase>) {
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
    return this.enqueue((on) => this.upsert({ host, store, user, value }, on));
  }

  delete(host: string, store: string, user: string): Promise<void> {
    return this.enqueue((on) => this.remove({ host, store, user }, on));
  }

  /** Resolves once every write made before it has been committed or has failed. */
  settled(): Promise<void> {
    return this.enqueue(async () => undefined);
  }

  private enqueue(run: PendingWrite["run"]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ run, resolve, reject });
      if (!this.flushing) {
        this.flushing = true;
        // Waiting one turn of the event loop lets the writes made in the same turn join the batch.
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, MAX_BATCH);
      if (batch.length === 1) {
        await settle(batch[0] as PendingWrite, this.db);
        continue;
      }
      try {
        await this.db.transaction().execute(async (trx) => {
          for (const write of batch) await write.run(trx);
        });
        for (const write of batch) write.resolve();
      } catch {
        // One write failed and the transaction rolled back: each is tried alone, so each gets its own outcome.
        for (const write of batch) await settle(write, this.db);
      }
    }
    this.flushing = false;
  }
}

async function settle(write: PendingWrite, db: Kysely<StorageDatabase>): Promise<void> {
  try {
    await write.run(db);
    write.resolve();
  } catch (error) {
    write.reject(error);
  }
}
