// Opens the storage driver the config names.
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { Logger } from "pino";
import type { Config } from "../core/config/index.js";
import { createPostgresDriver } from "./postgres/index.js";
import { createSqliteDriver } from "./sqlite/index.js";
import type { StorageDriver } from "./types.js";

/** `log` receives what the driver reports outside any call (a PostgreSQL connection lost while idle). */
export async function openStorage(config: Config, log?: Logger): Promise<StorageDriver> {
  switch (config.storage.driver) {
    case "sqlite":
      mkdirSync(dirname(config.storage.sqlite.path), { recursive: true, mode: 0o700 });
      return createSqliteDriver(config.storage.sqlite.path);
    case "postgres":
      return createPostgresDriver(config.storage.postgres.url, {
        poolSize: config.storage.postgres.pool_size,
        connectTimeoutMs: config.storage.postgres.connect_timeout * 1000,
        ...(log ? { log } : {}),
      });
  }
}
