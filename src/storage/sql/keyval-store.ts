import type { Kysely } from "kysely";
import type { Json, KeyValueStore } from "../types.js";
import { compileOnce } from "./compiled-once.js";
import type { StorageDatabase } from "./tables.js";

export function sqlKeyValueStore(db: Kysely<StorageDatabase>, host: string, store: string): KeyValueStore {
  const rows = () => db.selectFrom("keyval").where("host", "=", host).where("store", "=", store);
  // get and set run at every login (account credentials, last activity): compiled once.
  const selectValue = compileOnce(db, ["user"], (slot) => rows().select("value").where("user", "=", slot("user")));
  const upsert = compileOnce(db, ["user", "value"], (slot) =>
    db
      .insertInto("keyval")
      .values({ host, store, user: slot("user"), value: slot("value") })
      .onConflict((oc) => oc.columns(["host", "store", "user"]).doUpdateSet({ value: slot("value") })),
  );
  return {
    async get(user) {
      const row = (await selectValue({ user })).rows[0];
      return row === undefined ? undefined : (JSON.parse(row.value) as Json);
    },
    async set(user, value) {
      await upsert({ user, value: JSON.stringify(value) });
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
