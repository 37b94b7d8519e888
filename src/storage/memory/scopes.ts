// The memory driver's tables: one entry per (host, store name), each holding per-user data.
// Values are kept as JSON text so callers never share mutable objects with the store,
// and so a value round-trips exactly as it would through SQL.

export interface Scope<Rows> {
  host: string;
  name: string;
  users: Map<string, Rows>;
}

export class ScopeTable<Rows> {
  private readonly scopes = new Map<string, Scope<Rows>>();

  get(host: string, name: string): Scope<Rows> {
    const key = JSON.stringify([host, name]);
    let scope = this.scopes.get(key);
    if (!scope) {
      scope = { host, name, users: new Map() };
      this.scopes.set(key, scope);
    }
    return scope;
  }

  /** Every scope of one host (for account deletion). */
  *ofHost(host: string): Iterable<Scope<Rows>> {
    for (const scope of this.scopes.values()) if (scope.host === host) yield scope;
  }
}
