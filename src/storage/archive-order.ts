// The archive rules every driver follows (the contract tests in test/storage/contract.ts pin each one):
//
// - Archive order is chronological: by `when`, ties broken by append order (a per-database sequence
//   number, "seq"). Ordering by `when` first keeps imported or late items in their place, and lets
//   one index answer a time range and a page cursor together.
// - `find` returns items in archive order, oldest first, also with `reverse`: `reverse` only decides
//   which `limit` items are picked (the newest that match), as RSM `<before/>` paging needs.
// - `after` / `before` mean strictly after / before the named item in archive order; an id this
//   user's archive does not hold throws ArchiveItemNotFoundError.
// - `start` / `end` are inclusive; `with` matches exactly; `ids` keeps only those ids (an empty list
//   matches nothing); `limit` 0 returns nothing.
// - `deleteOlderThan(t)` removes items with `when < t`.

/** An item's place in archive order. */
export interface ArchivePosition {
  when: number;
  seq: number;
}

export function compareArchivePositions(a: ArchivePosition, b: ArchivePosition): number {
  return a.when - b.when || a.seq - b.seq;
}
