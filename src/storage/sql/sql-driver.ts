import type { Kysely } from "kysely";
import type { StorageDriver, StoreKind, StoreKinds } from "../types.js";
import { AppendBatcher } from "./append-batcher.js";
import { sqlArchiveStore } from "./archive-store.js";
import { distinctStores } from "./distinct-stores.js";
import { sqlKeyValueStore } from "./keyval-store.js";
import { KeyValueWriter } from "./keyval-writer.js";
import { sqlMapStore } from "./map-store.js";
import { OpenedStores } from "../opened-stores.js";
import type { StorageDatabase } from "./tables.js";

const TABLES = ["keyval", "map", "archive"] as const;

/**
 * A StorageDriver over an already-migrated Kysely database. The SQLite and PostgreSQL drivers differ
 * only in how they open the connection; every query lives here.
 */
export function createSqlDriver(db: Kysely<StorageDatabase>): StorageDriver {
  const batcher = new AppendBatcher(db); // one per database, shared by every archive store
  const keyvalWriter = new KeyValueWriter(db); // the same for key-value writes
  // Each store compiles its queries once (compiled-once.ts): a store opened once keeps them compiled.
  const opened = new OpenedStores();
  return {
    open<K extends StoreKind>(host: string, name: string, kind: K): StoreKinds[K] {
      const stores: { [Kind in StoreKind]: () => StoreKinds[Kind] } = {
        keyval: () => sqlKeyValueStore(db, keyvalWriter, host, name),
        map: () => sqlMapStore(db, host, name),
        archive: () => sqlArchiveStore(db, batcher, host, name),
      };
      return opened.get(host, name, kind, stores[kind]);
    },

    async deleteUser(host, user) {
      await keyvalWriter.settled(); // key-value writes made before this call land first, then go with the rest
      // Find the stores first, outside the transaction, so the transaction only writes: on SQLite a
      // transaction that reads before writing can fail at once when another process writes meanwhile.
      const plan = await Promise.all(
        TABLES.map(async (table) => ({ table, stores: await distinctStores(db, table, host) })),
      );
      await db.transaction().execute(async (trx) => {
        for (const { table, stores } of plan) {
          for (const store of stores) {
            await trx
              .deleteFrom(table)
              .where("host", "=", host)
              .where("store", "=", store)
              .where("user", "=", user)
              .execute();
          }
        }
      });
    },

    forgetUser() {}, // nothing is kept in memory

    async close() {
      await keyvalWriter.settled(); // writes still waiting for their batch are committed first
      await db.destroy();
    },
  };
}
