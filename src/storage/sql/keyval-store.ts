import type { Kysely } from "kysely";
import type { Json, KeyValueStore } from "../types.js";
import { compiledOnce } from "./compiled-once.js";
import type { StorageDatabase } from "./tables.js";

export function sqlKeyValueStore(db: Kysely<StorageDatabase>, host: string, store: string): KeyValueStore {
  const rows = () => db.selectFrom("keyval").where("host", "=", host).where("store", "=", store);
  // The reads and writes of every login and presence: compiled once (compiled-once.ts).
  const getValue = compiledOnce(db, (user) => rows().select("value").where("user", "=", user).limit(1), 1);
  const upsert = compiledOnce(
    db,
    (user, text) =>
      db
        .insertInto("keyval")
        .values({ host, store, user, value: text })
        .onConflict((oc) => oc.columns(["host", "store", "user"]).doUpdateSet({ value: text })),
    2,
  );
  const deleteValue = compiledOnce(
    db,
    (user) => db.deleteFrom("keyval").where("host", "=", host).where("store", "=", store).where("user", "=", user),
    1,
  );
  return {
    async get(user) {
      const [row] = await getValue(user);
      return row === undefined ? undefined : (JSON.parse(row.value) as Json);
    },
    async set(user, value) {
      const text = JSON.stringify(value);
      await upsert(user, text);
    },
    async delete(user) {
      await deleteValue(user);
    },
    async users() {
      const found = await rows().select("user").orderBy("user").execute();
      return found.map((row) => row.user);
    },
  };
}
