// Measures MAM-style page queries on a large archive (not a test). Run:
//   node --import tsx bench/storage-archive.ts [items=1000000]
// Appends go through the driver for a sample (its real per-item cost); the bulk of the archive is
// filled with raw batched inserts into the same table, because the ArchiveStore contract has no
// batch append (a contract change, see the storage report). Page queries all go through the driver.
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { newArchiveId } from "../src/storage/archive-id.js";
import { createSqliteDriver } from "../src/storage/sqlite/index.js";
import type { ArchiveQuery } from "../src/storage/types.js";

const TOTAL = Number(process.argv[2] ?? 1_000_000);
const SAMPLE = 20_000; // appended through the driver
const BATCH = 10_000;
const QUERIES = 200;
const CONTACTS = 100;
const HOST = "example.org";
const STORE = "mam";
const USER = "alice";
const T0 = Date.UTC(2024, 0, 1);

const dir = mkdtempSync(join(tmpdir(), "natter-bench-"));
const path = join(dir, "natter.sqlite");
const ids: string[] = [];
const contactOf = (i: number) => `contact${i % CONTACTS}@example.net`;
const messageOf = (i: number) =>
  JSON.stringify(
    `<message xmlns="jabber:client" type="chat"><body>message number ${i}, about this long</body></message>`,
  );

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

try {
  const driver = await createSqliteDriver(path);
  const archive = driver.open(HOST, STORE, "archive");

  // 1. Appends through the driver: one at a time (each its own commit), then many in flight at once.
  let started = performance.now();
  for (let i = 0; i < SAMPLE / 2; i++)
    ids.push(await archive.append(USER, { when: T0 + i * 1000, with: contactOf(i), value: JSON.parse(messageOf(i)) }));
  const sequentialRate = SAMPLE / 2 / ((performance.now() - started) / 1000);
  started = performance.now();
  const concurrent = await Promise.all(
    Array.from({ length: SAMPLE / 2 }, (_, k) => {
      const i = SAMPLE / 2 + k;
      return archive.append(USER, { when: T0 + i * 1000, with: contactOf(i), value: JSON.parse(messageOf(i)) });
    }),
  );
  ids.push(...concurrent);
  const concurrentRate = SAMPLE / 2 / ((performance.now() - started) / 1000);
  console.log(
    `driver append: ${sequentialRate.toFixed(0)}/s one at a time, ${concurrentRate.toFixed(0)}/s with ${SAMPLE / 2} in flight`,
  );

  // 2. The rest in batched transactions on a second connection to the same file (as a CLI import would).
  started = performance.now();
  const raw = new Database(path);
  raw.pragma("journal_mode = WAL");
  raw.pragma("synchronous = NORMAL");
  const insert = raw.prepare(
    `insert into archive (host, store, user, id, "when", "with", value) values (?, ?, ?, ?, ?, ?, ?)`,
  );
  const insertBatch = raw.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const id = newArchiveId();
      ids.push(id);
      insert.run(HOST, STORE, USER, id, T0 + i * 1000, contactOf(i), messageOf(i));
    }
  });
  for (let from = SAMPLE; from < TOTAL; from += BATCH) insertBatch(from, Math.min(TOTAL, from + BATCH));
  raw.close();
  const fillSeconds = (performance.now() - started) / 1000;
  console.log(
    `bulk fill: ${TOTAL - SAMPLE} items in ${fillSeconds.toFixed(1)} s (${((TOTAL - SAMPLE) / fillSeconds).toFixed(0)}/s)`,
  );
  console.log(`archive: ${TOTAL} items for one user, file ${(statSync(path).size / 2 ** 20).toFixed(0)} MiB (+ WAL)`);

  // 3. Page queries from the middle of the archive, limit 50.
  const middle = () => ids[Math.floor(TOTAL * 0.4 + Math.random() * TOTAL * 0.2)] as string;
  const middleWhen = () => T0 + Math.floor(TOTAL * 0.4 + Math.random() * TOTAL * 0.2) * 1000;
  const scenarios: Record<string, () => ArchiveQuery> = {
    "after id (next page)": () => ({ after: middle(), limit: 50 }),
    "before id, reverse (previous page)": () => ({ before: middle(), limit: 50, reverse: true }),
    "with + after id": () => ({ with: contactOf(7), after: middle(), limit: 50 }),
    "with + before id, reverse": () => ({ with: contactOf(7), before: middle(), limit: 50, reverse: true }),
    "start..end + after id": () => {
      const start = middleWhen();
      return { start, end: start + 3_600_000 * 24, after: middle(), limit: 50 };
    },
    "last page (reverse, no cursor)": () => ({ limit: 50, reverse: true }),
  };
  for (const [name, makeQuery] of Object.entries(scenarios)) {
    for (let i = 0; i < 20; i++) await archive.find(USER, makeQuery()); // warm the page cache
    const times: number[] = [];
    let items = 0;
    for (let i = 0; i < QUERIES; i++) {
      const query = makeQuery();
      const t = performance.now();
      items += (await archive.find(USER, query)).length;
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    console.log(
      `${name.padEnd(36)} p50 ${percentile(times, 50).toFixed(3)} ms  p99 ${percentile(times, 99).toFixed(3)} ms  max ${(times.at(-1) as number).toFixed(3)} ms  (${(items / QUERIES).toFixed(0)} items/page)`,
    );
  }
  const t = performance.now();
  const count = await archive.count(USER);
  console.log(`count(all): ${count} in ${(performance.now() - t).toFixed(1)} ms`);
  await driver.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
