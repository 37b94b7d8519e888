import type { Kysely } from "kysely";
import type { Json, MapStore } from "../types.js";
import type { StorageDatabase } from "./tables.js";

export function sqlMapStore(db: Kysely<StorageDatabase>, host: string, store: string): MapStore {
  const userRows = (user: string) =>
    db.selectFrom("map").where("host", "=", host).where("store", "=", store).where("user", "=", user);
  const deleteUserRows = (user: string) =>
    db.deleteFrom("map").where("host", "=", host).where("store", "=", store).where("user", "=", user);
  return {
    async get(user, key) {
      const row = await userRows(user).select("value").where("key", "=", key).executeTakeFirst();
      return row === undefined ? undefined : (JSON.parse(row.value) as Json);
    },
    async set(user, key, value) {
      const text = JSON.stringify(value);
      await db
        .insertInto("map")
        .values({ host, store, user, key, value: text })
        .onConflict((oc) => oc.columns(["host", "store", "user", "key"]).doUpdateSet({ value: text }))
        .execute();
    },
    async delete(user, key) {
      await deleteUserRows(user).where("key", "=", key).execute();
    },
    async getAll(user) {
      const rows = await userRows(user).select(["key", "value"]).orderBy("key").execute();
      return new Map(rows.map((row) => [row.key, JSON.parse(row.value) as Json]));
    },
    async count(user) {
      const row = await userRows(user).select((eb) => eb.fn.countAll().as("count")).executeTakeFirstOrThrow();
      return Number(row.count);
    },
    async deleteAll(user) {
      await deleteUserRows(user).execute();
    },
  };
}
