// The user directory's in-memory index: one row per listed user, kept sorted by user name so that a page
// of results starts at a binary search (XEP-0059 <after/>) and a change costs one splice. A query compares
// pre-folded strings only: no vCard is read or parsed per query, so 100k users answer in milliseconds
// (directory-index.test.ts measures it).

export const SEARCH_FIELDS = ["first", "last", "nick", "email"] as const;
export type SearchField = (typeof SEARCH_FIELDS)[number];

/** What a user's vCard shows in the directory (XEP-0055 §2.1 item fields), "" where the vCard has none. */
export type DirectoryEntry = Record<SearchField, string>;

/** The values a searcher gave, by field; all of them must match (case-insensitive substrings). */
export type SearchCriteria = Partial<Record<SearchField, string>>;

interface Row {
  user: string;
  entry: DirectoryEntry;
  folded: DirectoryEntry;
}

/** Case-insensitive and compatibility-insensitive form of a value ("Ｍüller" and "müller" match "mül"). */
export function foldForSearch(value: string): string {
  return value.normalize("NFKC").toLowerCase();
}

export class DirectoryIndex {
  private readonly rows: Row[] = [];

  get size(): number {
    return this.rows.length;
  }

  /** First position whose user sorts after `user` (strictly: `inclusive` false) or at/after it. */
  private position(user: string, inclusive: boolean): number {
    let lo = 0;
    let hi = this.rows.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const u = (this.rows[mid] as Row).user;
      if (u < user || (!inclusive && u === user)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private static row(user: string, entry: DirectoryEntry): Row {
    const folded = {
      first: foldForSearch(entry.first),
      last: foldForSearch(entry.last),
      nick: foldForSearch(entry.nick),
      email: foldForSearch(entry.email),
    };
    return { user, entry, folded };
  }

  /** Replaces every row at once (the load at start): one sort instead of a splice per user. */
  load(entries: Iterable<[string, DirectoryEntry]>): void {
    const byUser = new Map(entries);
    this.rows.length = 0;
    for (const [user, entry] of byUser) this.rows.push(DirectoryIndex.row(user, entry));
    this.rows.sort((a, b) => (a.user < b.user ? -1 : a.user > b.user ? 1 : 0));
  }

  /** Adds or replaces a user's row. */
  set(user: string, entry: DirectoryEntry): void {
    const row = DirectoryIndex.row(user, entry);
    const at = this.position(user, true);
    if (this.rows[at]?.user === user) this.rows[at] = row;
    else this.rows.splice(at, 0, row);
  }

  delete(user: string): void {
    const at = this.position(user, true);
    if (this.rows[at]?.user === user) this.rows.splice(at, 1);
  }

  has(user: string): boolean {
    return this.rows[this.position(user, true)]?.user === user;
  }

  /**
   * Users whose every given field contains the given value (both folded), in user-name order, starting after
   * `after` (a user name), at most `limit`; `more` tells whether further matches exist past the page.
   */
  search(
    criteria: SearchCriteria,
    limit: number,
    after?: string,
  ): { items: { user: string; entry: DirectoryEntry }[]; more: boolean } {
    const wanted = SEARCH_FIELDS.flatMap((f) =>
      criteria[f] === undefined ? [] : [[f, foldForSearch(criteria[f] as string)] as const],
    );
    const items: { user: string; entry: DirectoryEntry }[] = [];
    if (wanted.length === 0) return { items, more: false };
    for (let i = after === undefined ? 0 : this.position(after, false); i < this.rows.length; i++) {
      const row = this.rows[i] as Row;
      let ok = true;
      for (const [field, value] of wanted) {
        if (!row.folded[field].includes(value)) {
          ok = false;
          break;
        }
      }
      if (!ok) continue;
      if (items.length === limit) return { items, more: true };
      items.push({ user: row.user, entry: row.entry });
    }
    return { items, more: false };
  }
}
