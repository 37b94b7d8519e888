// Builds a query with Kysely once and runs it many times with new values. Kysely builds and compiles a query
// afresh on every call, which under a presence storm cost more CPU than SQLite running it (--cpu-prof: query
// building and compiling ~5% of the server, SQLite ~8%). The query is built with a distinct sentinel string
// where each runtime value goes; the compiled parameters that are sentinels are filled in per call, the others
// (host, store name) stay.
import type { CompiledQuery, Kysely } from "kysely";

interface Compilable<R> {
  compile(): CompiledQuery<R>;
}

/** The sentinel for value `i` of a compiled-once query: a string no caller can pass (NUL-delimited). */
export const slot = (i: number): string => `\u0000slot${i}\u0000`;

/** A runner for `build(slot(0), slot(1), …)`: call it with the values in the same order. */
export function compiledOnce<R>(
  // biome-ignore lint/suspicious/noExplicitAny: works for any schema
  db: Kysely<any>,
  build: (...slots: string[]) => Compilable<R>,
  slotCount: number,
): (...values: unknown[]) => Promise<R[]> {
  const slots = Array.from({ length: slotCount }, (_, i) => slot(i));
  const compiled = build(...slots).compile();
  const positions = compiled.parameters.map((p) => slots.indexOf(p as string));
  for (let i = 0; i < slotCount; i++) {
    if (!positions.includes(i)) throw new Error(`compiledOnce: value ${i} does not appear in the query`);
  }
  return async (...values: unknown[]) => {
    const parameters = positions.map((at, i) => (at >= 0 ? values[at] : compiled.parameters[i]));
    const result = await db.executeQuery<R>({ ...compiled, parameters });
    return result.rows;
  };
}
