import type { Kysely } from "kysely";
import type { Json, MapStore } from "../types.js";
import { compiledOnce } from "./compiled-once.js";
import type { StorageDatabase } from "./tables.js";

export function sqlMapStore(db: Kysely<StorageDatabase>, host: string, store: string): MapStore {
  const userRows = (user: string) =>
    db.selectFrom("map").where("host", "=", host).where("store", "=", store).where("user", "=", user);
  const deleteUserRows = (user: string) =>
    db.deleteFrom("map").where("host", "=", host).where("store", "=", store).where("user", "=", user);
  // Read on every probe, broadcast and login where not cached (store-cache.ts): compiled once (compiled-once.ts).
  const getValue = compiledOnce(db, (user, key) => userRows(user).select("value").where("key", "=", key).limit(1), 2);
  const getEntries = compiledOnce(db, (user) => userRows(user).select(["key", "value"]).orderBy("key"), 1);
  const countEntries = compiledOnce(db, (user) => userRows(user).select((eb) => eb.fn.countAll().as("count")), 1);
  const upsert = compiledOnce(
    db,
    (user, key, text) =>
      db
        .insertInto("map")
        .values({ host, store, user, key, value: text })
        .onConflict((oc) => oc.columns(["host", "store", "user", "key"]).doUpdateSet({ value: text })),
    3,
  );
  const deleteEntry = compiledOnce(db, (user, key) => deleteUserRows(user).where("key", "=", key), 2);
  return {
    async get(user, key) {
      const [row] = await getValue(user, key);
      return row === undefined ? undefined : (JSON.parse(row.value) as Json);
    },
    async set(user, key, value) {
      await upsert(user, key, JSON.stringify(value));
    },
    async delete(user, key) {
      await deleteEntry(user, key);
    },
    async getAll(user) {
      const rows = await getEntries(user);
      return new Map(rows.map((row) => [row.key, JSON.parse(row.value) as Json]));
    },
    async count(user) {
      const [row] = await countEntries(user);
      return Number(row?.count ?? 0);
    },
    async deleteAll(user) {
      await deleteUserRows(user).execute();
    },
  };
}
