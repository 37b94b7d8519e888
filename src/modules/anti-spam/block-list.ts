// A real-time block list (RTBL): the JIDs and domains a trusted pubsub service publishes, one item per entry
// (XEP-0060). The xmppbl.org convention, which Prosody's and ejabberd's anti-spam modules follow: an item id
// is either the SHA-256 of a bare JID in lowercase hex (nodes such as muc_bans_sha256), or a plain JID or
// domain (spam_source_domains). Both are accepted; a lookup hashes the sender's bare JID once (cached).
import { createHash } from "node:crypto";
import { LruMap } from "../../core/lru-map.js";

export class BlockList {
  /** Entries by source (service + node), so that a refetch replaces one source's entries only. */
  private readonly sources = new Map<string, Set<string>>();
  /** Every entry of every source, with how many sources list it. */
  private readonly all = new Map<string, number>();
  private readonly hashes = new LruMap<string, string>(10_000);

  constructor(private readonly maxEntries: number) {}

  get size(): number {
    return this.all.size;
  }

  /** Replaces a source's entries (a fetch of the node's items); returns how many were kept. */
  replace(source: string, ids: Iterable<string>): number {
    for (const id of this.sources.get(source) ?? []) this.drop(id);
    const set = new Set<string>();
    this.sources.set(source, set);
    for (const id of ids) this.add(source, id);
    return set.size;
  }

  /** A published item (notification); false when the list is full and it was not taken. */
  add(source: string, id: string): boolean {
    const key = normalise(id);
    if (key === undefined) return false;
    let set = this.sources.get(source);
    if (!set) {
      set = new Set();
      this.sources.set(source, set);
    }
    if (set.has(key)) return true;
    if (this.all.size >= this.maxEntries && !this.all.has(key)) return false;
    set.add(key);
    this.all.set(key, (this.all.get(key) ?? 0) + 1);
    return true;
  }

  /** A retracted item (notification). */
  remove(source: string, id: string): void {
    const key = normalise(id);
    const set = this.sources.get(source);
    if (key === undefined || !set?.delete(key)) return;
    this.drop(key);
  }

  /** Whether the domain itself is listed. */
  hasDomain(domain: string): boolean {
    return this.all.size > 0 && this.all.has(domain);
  }

  /** Whether a bare JID (or its domain) is listed, plainly or hashed. */
  lists(bare: string, domain: string): boolean {
    if (this.all.size === 0) return false;
    if (this.all.has(domain) || this.all.has(bare)) return true;
    let hash = this.hashes.get(bare);
    if (hash === undefined) {
      hash = createHash("sha256").update(bare).digest("hex");
      this.hashes.set(bare, hash);
    }
    return this.all.has(hash);
  }

  private drop(key: string): void {
    const n = this.all.get(key) ?? 0;
    if (n <= 1) this.all.delete(key);
    else this.all.set(key, n - 1);
  }
}

/** An item id as stored: hashes in lowercase, JIDs and domains lowercased; empty or oversized ids are ignored. */
function normalise(id: string): string | undefined {
  const trimmed = id.trim().toLowerCase();
  if (trimmed === "" || trimmed.length > 3071) return undefined;
  return trimmed;
}
