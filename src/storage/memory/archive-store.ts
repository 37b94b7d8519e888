import { newArchiveId } from "../archive-id.js";
import { type ArchivePosition, compareArchivePositions } from "../archive-order.js";
import { ArchiveIdConflictError, ArchiveItemNotFoundError } from "../errors.js";
import type { ArchiveItem, ArchiveQuery, ArchiveStore, Json } from "../types.js";
import type { Scope } from "./scopes.js";

interface StoredItem extends ArchivePosition {
  id: string;
  with: string;
  valueText: string;
}

/** One user's archive, kept sorted in archive order (see ../archive-order.ts). */
export interface UserArchive {
  items: StoredItem[];
  byId: Map<string, StoredItem>;
}

/** The driver-wide sequence that breaks ties between items with the same `when`. */
export interface SeqCounter {
  next(): number;
}

export function memoryArchiveStore(scope: Scope<UserArchive>, seq: SeqCounter): ArchiveStore {
  const archiveOf = (user: string): UserArchive | undefined => scope.users.get(user);

  return {
    async append(user, item) {
      let archive = archiveOf(user);
      if (!archive) {
        archive = { items: [], byId: new Map() };
        scope.users.set(user, archive);
      }
      const id = item.id ?? newArchiveId();
      if (archive.byId.has(id)) throw new ArchiveIdConflictError(id);
      const stored: StoredItem = {
        id,
        when: item.when ?? Date.now(),
        with: item.with ?? "",
        valueText: JSON.stringify(item.value),
        seq: seq.next(),
      };
      // Usually the newest item: appended at the end. Older `when` (imports) is inserted in place.
      let at = archive.items.length;
      while (at > 0 && compareArchivePositions(archive.items[at - 1] as StoredItem, stored) > 0) at--;
      archive.items.splice(at, 0, stored);
      archive.byId.set(id, stored);
      return id;
    },

    async find(user, query = {}) {
      const matching = select(archiveOf(user) ?? emptyArchive(), query);
      const limit = query.limit ?? Number.POSITIVE_INFINITY;
      const page =
        limit <= 0
          ? []
          : query.reverse
            ? matching.slice(Math.max(0, matching.length - limit))
            : matching.slice(0, limit);
      return page.map(toItem);
    },

    async count(user, query = {}) {
      return select(archiveOf(user) ?? emptyArchive(), query).length;
    },

    async delete(user, query = {}) {
      const archive = archiveOf(user) ?? emptyArchive();
      const doomed = new Set(select(archive, query));
      archive.items = archive.items.filter((item) => !doomed.has(item));
      for (const item of doomed) archive.byId.delete(item.id);
      if (archive.items.length === 0) scope.users.delete(user);
      return doomed.size;
    },

    async deleteOlderThan(when) {
      let deleted = 0;
      for (const archive of scope.users.values()) {
        const kept = archive.items.filter((item) => item.when >= when);
        for (const item of archive.items) if (item.when < when) archive.byId.delete(item.id);
        deleted += archive.items.length - kept.length;
        archive.items = kept;
      }
      return deleted;
    },
  };
}

function emptyArchive(): UserArchive {
  return { items: [], byId: new Map() };
}

/** Every item matching the query's filters, in archive order (limit and reverse are applied by the caller). */
function select(archive: UserArchive, query: ArchiveQuery): StoredItem[] {
  const after = query.after === undefined ? undefined : positionOf(archive, query.after);
  const before = query.before === undefined ? undefined : positionOf(archive, query.before);
  const ids = query.ids === undefined ? undefined : new Set(query.ids);
  return archive.items.filter(
    (item) =>
      (query.start === undefined || item.when >= query.start) &&
      (query.end === undefined || item.when <= query.end) &&
      (query.with === undefined || item.with === query.with) &&
      (ids === undefined || ids.has(item.id)) &&
      (after === undefined || compareArchivePositions(item, after) > 0) &&
      (before === undefined || compareArchivePositions(item, before) < 0),
  );
}

function positionOf(archive: UserArchive, id: string): ArchivePosition {
  const item = archive.byId.get(id);
  if (!item) throw new ArchiveItemNotFoundError(id);
  return item;
}

function toItem(item: StoredItem): ArchiveItem {
  return { id: item.id, when: item.when, with: item.with, value: JSON.parse(item.valueText) as Json };
}
