// A query built and compiled by Kysely once, then run with each call's own values. Kysely's builder and compiler
// (immutable nodes, frozen at every step) cost several times what SQLite takes to read one row by its key:
// the account-credential read at every login, for one. The SQL text stays the same from run to run, so the
// SQLite driver's statement cache (sqlite/statement-cache.ts) prepares it once too.
import type { Compilable, CompiledQuery, Kysely, QueryResult } from "kysely";

/**
 * Returns a runner of the query `build` makes, in which `marker(name)` stands for a value each run gives (a slot);
 * every other value is fixed when it is compiled.
 */
export function compileOnce<DB, Row, Slots extends string>(
  db: Kysely<DB>,
  slots: readonly Slots[],
  build: (marker: (name: Slots) => string) => Compilable<Row>,
): (values: Record<Slots, unknown>, on?: Kysely<DB>) => Promise<QueryResult<Row>> {
  let compiled: CompiledQuery<Row> | undefined;
  let positions: (Slots | undefined)[] = [];
  // `on`: where to run it (a transaction), the database by default.
  return (values, on = db) => {
    // Compiled at the first run, not when the store is opened: some stores never run some queries.
    if (compiled === undefined) {
      // Markers no caller's value can equal: compared by identity below, never by text.
      const markers = new Map<string, Slots>(slots.map((name) => [`\u0000slot:${name}:${Math.random()}`, name]));
      const byName = new Map<Slots, string>([...markers].map(([marker, name]) => [name, marker]));
      const query = build((name) => byName.get(name) as string).compile();
      positions = query.parameters.map((p) => (typeof p === "string" ? markers.get(p) : undefined));
      for (const name of slots) {
        if (!positions.includes(name)) throw new Error(`compileOnce: slot ${name} does not appear in the query`);
      }
      compiled = query;
    }
    const parameters = compiled.parameters.map((fixed, i) => {
      const name = positions[i];
      return name === undefined ? fixed : values[name];
    });
    return on.executeQuery<Row>({ ...compiled, parameters });
  };
}
