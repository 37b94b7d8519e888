import type { Kysely } from "kysely";
import type { Json, KeyValueStore } from "../types.js";
import type { StorageDatabase } from "./tables.js";

export function sqlKeyValueStore(db: Kysely<StorageDatabase>, host: string, store: string): KeyValueStore {
  const rows = () => db.selectFrom("keyval").where("host", "=", host).where("store", "=", store);
  return {
    async get(user) {
      const row = await rows().select("value").where("user", "=", user).executeTakeFirst();
      return row === undefined ? undefined : (JSON.parse(row.value) as Json);
    },
    async set(user, value) {
      const text = JSON.stringify(value);
      await db
        .insertInto("keyval")
        .values({ host, store, user, value: text })
        .onConflict((oc) => oc.columns(["host", "store", "user"]).doUpdateSet({ value: text }))
        .execute();
    },
    async delete(user) {
      await db
        .deleteFrom("keyval")
        .where("host", "=", host)
        .where("store", "=", store)
        .where("user", "=", user)
        .execute();
    },
    async users() {
      const found = await rows().select("user").orderBy("user").execute();
      return found.map((row) => row.user);
    },
  };
}
