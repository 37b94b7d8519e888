import type { Kysely } from "kysely";
import type { Json, MapStore } from "../types.js";
import { compileOnce } from "./compiled-once.js";
import type { StorageDatabase } from "./tables.js";

export function sqlMapStore(db: Kysely<StorageDatabase>, host: string, store: string): MapStore {
  const userRows = (user: string) =>
    db.selectFrom("map").where("host", "=", host).where("store", "=", store).where("user", "=", user);
  const deleteUserRows = (user: string) =>
    db.deleteFrom("map").where("host", "=", host).where("store", "=", store).where("user", "=", user);
  // Read on every probe, broadcast and login where not cached (store-cache.ts): compiled once.
  const selectValue = compileOnce(db, ["user", "key"], (slot) => userRows(slot("user")).select("value").where("key", "=", slot("key")));
  const selectEntries = compileOnce(db, ["user"], (slot) => userRows(slot("user")).select(["key", "value"]).orderBy("key"));
  const countEntries = compileOnce(db, ["user"], (slot) => userRows(slot("user")).select((eb) => eb.fn.countAll().as("count")));
  const upsert = compileOnce(db, ["user", "key", "value"], (slot) =>
    db
      .insertInto("map")
      .values({ host, store, user: slot("user"), key: slot("key"), value: slot("value") })
      .onConflict((oc) => oc.columns(["host", "store", "user", "key"]).doUpdateSet({ value: slot("value") })),
  );
  const deleteEntry = compileOnce(db, ["user", "key"], (slot) => deleteUserRows(slot("user")).where("key", "=", slot("key")));
  return {
    async get(user, key) {
      const row = (await selectValue({ user, key })).rows[0];
      return row === undefined ? undefined : (JSON.parse(row.value) as Json);
    },
    async set(user, key, value) {
      await upsert({ user, key, value: JSON.stringify(value) });
    },
    async delete(user, key) {
      await deleteEntry({ user, key });
    },
    async getAll(user) {
      const { rows } = await selectEntries({ user });
      return new Map(rows.map((row) => [row.key, JSON.parse(row.value) as Json]));
    },
    async count(user) {
      const row = (await countEntries({ user })).rows[0];
      return Number(row?.count ?? 0);
    },
    async deleteAll(user) {
      await deleteUserRows(user).execute();
    },
  };
}
