// Opens the storage driver the config names.
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { Config } from "../core/config/index.js";
import { createSqliteDriver } from "./sqlite/index.js";
import type { StorageDriver } from "./types.js";

export async function openStorage(config: Config): Promise<StorageDriver> {
  switch (config.storage.driver) {
    case "sqlite":
      mkdirSync(dirname(config.storage.sqlite.path), { recursive: true, mode: 0o700 });
      return createSqliteDriver(config.storage.sqlite.path);
  }
}
