import type { Kysely } from "kysely";
import type { Json, KeyValueStore } from "../types.js";
import { compileOnce } from "./compiled-once.js";
import type { KeyValueWriter } from "./keyval-writer.js";
import type { StorageDatabase } from "./tables.js";

export function sqlKeyValueStore(db: Kysely<StorageDatabase>, writer: KeyValueWriter, host: string, store: string): KeyValueStore {
  const rows = () => db.selectFrom("keyval").where("host", "=", host).where("store", "=", store);
  // Read at every login (account credentials): compiled once.
  const selectValue = compileOnce(db, ["user"], (slot) => rows().select("value").where("user", "=", slot("user")));
  return {
    async get(user) {
      const row = (await selectValue({ user })).rows[0];
      return row === undefined ? undefined : (JSON.parse(row.value) as Json);
    },
    async set(user, value) {
      return writer.set(host, store, user, JSON.stringify(value));
    },
    async delete(user) {
      return writer.delete(host, store, user);
    },
    async users() {
      const found = await rows().select("user").orderBy("user").execute();
      return found.map((row) => row.user);
    },
  };
}
