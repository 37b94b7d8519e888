// Errors a store throws that callers are expected to map to protocol errors.

/** An `after`/`before` id names no item of this user's archive. Callers map it to `item-not-found` (XEP-0313 §5.1.2, XEP-0059 §2.4). */
export class ArchiveItemNotFoundError extends Error {
  readonly id: string;
  constructor(id: string) {
    super(`archive item not found: ${id}`);
    this.name = "ArchiveItemNotFoundError";
    this.id = id;
  }
}

/** `append` was given an id this user's archive already holds (ids are unique per host, store and user). Callers map it to `conflict`. */
export class ArchiveIdConflictError extends Error {
  readonly id: string;
  constructor(id: string) {
    super(`archive id already exists: ${id}`);
    this.name = "ArchiveIdConflictError";
    this.id = id;
  }
}
