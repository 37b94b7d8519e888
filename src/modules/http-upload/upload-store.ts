// What the upload service remembers about slots and files, in the host's stores so that quotas and expiry
// survive restarts: per owner, slot id → record (quota sums one user's records); host-wide, slot id → owner
// (the HTTP side and the expiry sweep find a record from the id in the URL alone).
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { Json, MapStore } from "../../storage/types.js";

export interface UploadRecord {
  /** The file name as the client asked for it (validated by filenameProblem). */
  name: string;
  size: number;
  /** Media type given in the slot request, or null. */
  type: string | null;
  /** When the slot was handed out (ms). */
  created: number;
  /** The PUT must start before this (ms). */
  slotExpires: number;
  /** When the upload completed (ms); null while the slot is unused. */
  stored: number | null;
  /** SHA-256 (hex) of the bearer token the PUT must carry. */
  tokenHash: string;
}

/** Slot ids: 192 random bits, URL-safe (XEP-0363 §8: long random parts that cannot be guessed). */
export const ID_PATTERN = /^[A-Za-z0-9_-]{32}$/;

export function newId(): string {
  return randomBytes(24).toString("base64url");
}

export function newToken(): { token: string; hash: string } {
  const token = randomBytes(32).toString("base64url");
  return { token, hash: hashToken(token) };
}

export function hashToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/** Constant-time comparison of a presented token with the stored hash. */
export function tokenMatches(presented: string, hash: string): boolean {
  const a = Buffer.from(hashToken(presented), "hex");
  const b = Buffer.from(hash, "hex");
  return a.length === b.length && timingSafeEqual(a, b);
}

export class UploadStore {
  constructor(
    private readonly records: MapStore,
    private readonly index: MapStore,
  ) {}

  async add(owner: string, id: string, record: UploadRecord): Promise<void> {
    await this.records.set(owner, id, record as unknown as Json);
    await this.index.set("", id, owner);
  }

  async find(id: string): Promise<{ owner: string; record: UploadRecord } | undefined> {
    const owner = await this.index.get("", id);
    if (typeof owner !== "string") return undefined;
    const record = await this.records.get(owner, id);
    if (record === undefined || record === null || typeof record !== "object") return undefined;
    return { owner, record: record as unknown as UploadRecord };
  }

  async markStored(owner: string, id: string, record: UploadRecord, when: number): Promise<void> {
    await this.records.set(owner, id, { ...record, stored: when } as unknown as Json);
  }

  async remove(owner: string | undefined, id: string): Promise<void> {
    if (owner !== undefined) await this.records.delete(owner, id);
    await this.index.delete("", id);
  }

  /** One owner's records (stored files and slots not used yet). */
  async ofOwner(owner: string): Promise<Map<string, UploadRecord>> {
    return (await this.records.getAll(owner)) as unknown as Map<string, UploadRecord>;
  }

  /** Every id of the host with its owner (for the sweep). */
  async all(): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const [id, owner] of await this.index.getAll("")) if (typeof owner === "string") out.set(id, owner);
    return out;
  }
}
