import pg from "pg";
import { escapeNul, unescapeNul } from "./nul-escape.js";

// int8 (count(*), `when`, `seq`) arrives as a string by default; every bigint the schema holds is a
// millisecond time or a row count, far inside Number's exact range (STACK.md). Text comes back unescaped
// (nul-escape.ts). Set on this driver's clients only, not on pg's global table.
const INT8_OID = 20;
const TEXT_OID = 25;
export const natterTypes = {
  getTypeParser(oid: number, format?: "text" | "binary") {
    if (format !== "binary") {
      if (oid === INT8_OID) return (value: string) => Number(value);
      if (oid === TEXT_OID) return unescapeNul;
    }
    // biome-ignore lint/suspicious/noExplicitAny: pg's overloads do not accept a union format
    return pg.types.getTypeParser(oid, format as any);
  },
};

/**
 * A pg client whose string parameters are escaped (nul-escape.ts): the form Kysely calls, `query(sql, values)`.
 * It also survives its connection being ended while checked out of the pool.
 */
export class EscapingClient extends pg.Client {
  // biome-ignore lint/suspicious/noExplicitAny: pg.Client's constructor takes a config or a connection string
  constructor(config?: any) {
    super(config);
    // pg-pool listens for 'error' only on idle clients. One checked out (a transaction between statements) that
    // the server ends emits 'error' with no listener, which would kill the process. Its statement rejects, it is
    // no longer queryable, and the pool drops it on release: nothing else to do here.
    this.on("error", () => undefined);
  }

  // biome-ignore lint/suspicious/noExplicitAny: pg's query has many overloads; only the (text, values) one is changed
  override query(...args: any[]): any {
    if (typeof args[0] === "string" && Array.isArray(args[1])) {
      args[1] = args[1].map((value: unknown) => (typeof value === "string" ? escapeNul(value) : value));
    }
    // biome-ignore lint/suspicious/noExplicitAny: see above
    return (super.query as any)(...args);
  }
}
