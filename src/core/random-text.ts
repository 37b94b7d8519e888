// Random strings for ids and nonces (stream ids, SCRAM server nonces, generated resources), taken from a pool of
// CSPRNG output filled 4 KiB at a time: a randomBytes() call per value cost a few microseconds each, several
// times per login. Every byte is used once; the pool is refilled when it runs out. Node's randomUUID() keeps
// a pool the same way.
import { randomFillSync } from "node:crypto";

const POOL_BYTES = 4096;
const pool = Buffer.allocUnsafe(POOL_BYTES);
let offset = POOL_BYTES;

function take(octets: number): number {
  if (octets > POOL_BYTES) throw new RangeError(`at most ${POOL_BYTES} random octets at once`);
  if (offset + octets > POOL_BYTES) {
    randomFillSync(pool);
    offset = 0;
  }
  const start = offset;
  offset += octets;
  return start;
}

/** `octets` random octets in base64 (RFC 4648 §4). */
export function randomBase64(octets: number): string {
  const start = take(octets);
  return pool.toString("base64", start, start + octets);
}

/** `octets` random octets in base64url (RFC 4648 §5: no '+' or '/', no padding). */
export function randomBase64url(octets: number): string {
  const start = take(octets);
  return pool.toString("base64url", start, start + octets);
}
