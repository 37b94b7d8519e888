// Writes the presence scenario's rosters straight into Natter's storage, with the server stopped: the
// project's own config loader, storage driver and RosterStore (no second copy of the format), so
// 100,000 roster items take seconds instead of 100,000 subscription handshakes over XMPP.
//
// The shape of the rosters: bench/ring-contacts.ts. Prosody's and ejabberd's are written by
// writeProsodyRosters (bench/servers.ts) and loadEjabberdRosters (bench/ejabberd-server.ts).
//
// Also a CLI, for a Natter the bench does not start (stop the server first):
//   node dist/bench/provision-rosters.js <natter.yaml> <count> [contacts=100] [prefix=bench-user-]

import { pathToFileURL } from "node:url";
import { Kysely, SqliteDialect } from "kysely";
import { loadConfig } from "../src/core/config/index.js";
import { RosterStore } from "../src/modules/roster/roster-store.js";
import { migrateToLatest } from "../src/storage/migrations/index.js";
import { createSqlDriver } from "../src/storage/sql/sql-driver.js";
import type { StorageDatabase } from "../src/storage/sql/tables.js";
import { openSqliteDatabase } from "../src/storage/sqlite/open-database.js";
import type { StoreKind } from "../src/storage/types.js";
import { checkRingShape, ringContacts } from "./ring-contacts.js";

/** Writes the rosters of accounts 1..count on every host of the config; returns the items written. */
export async function provisionRosters(
  configPath: string,
  count: number,
  contacts: number,
  prefix = "bench-user-",
): Promise<number> {
  checkRingShape(count, contacts);
  const config = loadConfig(configPath);
  if (config.storage.driver !== "sqlite") throw new Error(`provisionRosters: storage driver ${config.storage.driver}, not sqlite`);
  // The sqlite driver's own pieces (open, migrate, SQL stores), with every write in one transaction:
  // one commit per item, as the server's driver does, ran at ~3,000 items/s, one transaction at ~17,000/s.
  const database = openSqliteDatabase(config.storage.sqlite.path);
  const db = new Kysely<StorageDatabase>({ dialect: new SqliteDialect({ database }) });
  let written = 0;
  try {
    await migrateToLatest(db);
    await db.transaction().execute(async (trx) => {
      const driver = createSqlDriver(trx);
      for (const host of config.hosts) {
        const roster = new RosterStore({
          store: <K extends StoreKind>(name: string, kind: K) => driver.open(host, name, kind),
        });
        for (let i = 1; i <= count; i++) {
          for (const c of ringContacts(i, count, contacts)) {
            // One at a time: Kysely queues concurrent queries on a transaction at a quadratic cost.
            await roster.put(`${prefix}${i}`, {
              jid: `${prefix}${c}@${host}`,
              groups: ["bench"],
              subscription: "both",
              ask: false,
              approved: false,
            });
            written++;
          }
        }
      }
    });
  } finally {
    await db.destroy();
  }
  return written;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const [config, count, contacts = "100", prefix = "bench-user-"] = process.argv.slice(2);
  if (config === undefined || count === undefined) {
    process.stderr.write("usage: provision-rosters <natter.yaml> <count> [contacts=100] [prefix=bench-user-]\n");
    process.exit(2);
  }
  const t0 = performance.now();
  const n = await provisionRosters(config, Number(count), Number(contacts), prefix);
  process.stderr.write(`${n} roster items written in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
}
