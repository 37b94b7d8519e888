// SCRAM key derivation (RFC 5802 §3, RFC 7677 §3): the stored credentials a server keeps instead of the
// password, and the HMAC/hash primitives both sides of an exchange need.
import { createHash, createHmac, pbkdf2, randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { enforceOpaqueString } from "../core/precis.js";
import type { ScramCredentials, ScramHash } from "./types.js";

const pbkdf2Async = promisify(pbkdf2);

const NODE_DIGEST: Record<ScramHash, "sha1" | "sha256"> = { "SHA-1": "sha1", "SHA-256": "sha256" };

/** Output length of H() in octets; a ClientProof must have exactly this length. */
export const SCRAM_HASH_LENGTH: Record<ScramHash, number> = { "SHA-1": 20, "SHA-256": 32 };

/** 16 random octets, as in the RFC 7677 §3 example; RFC 5802 §5.1 only asks for a random salt. */
export const SCRAM_SALT_LENGTH = 16;

/** RFC 5802 §2.2 HMAC(key, str). */
export function scramHmac(hash: ScramHash, key: Buffer, data: Buffer | string): Buffer {
  return createHmac(NODE_DIGEST[hash], key).update(data).digest();
}

/** RFC 5802 §2.2 H(str). */
export function scramDigest(hash: ScramHash, data: Buffer): Buffer {
  return createHash(NODE_DIGEST[hash]).update(data).digest();
}

/** RFC 5802 §3 StoredKey and ServerKey from SaltedPassword. */
export function scramKeysFromSaltedPassword(
  hash: ScramHash,
  saltedPassword: Buffer,
): { storedKey: Buffer; serverKey: Buffer; clientKey: Buffer } {
  const clientKey = scramHmac(hash, saltedPassword, "Client Key");
  return {
    clientKey,
    storedKey: scramDigest(hash, clientKey),
    serverKey: scramHmac(hash, saltedPassword, "Server Key"),
  };
}

/**
 * RFC 5802 §3 SaltedPassword := Hi(Normalize(password), salt, i). Hi() is PBKDF2 with HMAC and dLen = H's length.
 * Normalize() was SASLprep; RFC 8265 §4.2 OpaqueString replaces it. Throws PrecisError for a disallowed password.
 * Async on purpose: thousands of iterations must not block the event loop during a login.
 */
/**
 * PBKDF2 derivations run by this process (password checks, new credentials): a login by SCRAM or FAST runs
 * none, which is what the FAST tests and the bench read.
 */
export const pbkdf2Runs = { count: 0 };

export async function scramSaltedPassword(
  password: string,
  hash: ScramHash,
  iterations: number,
  salt: Buffer,
): Promise<Buffer> {
  if (!Number.isSafeInteger(iterations) || iterations < 1)
    throw new RangeError(`invalid iteration count ${iterations}`);
  const normalized = enforceOpaqueString(password);
  pbkdf2Runs.count++;
  return pbkdf2Async(Buffer.from(normalized, "utf8"), salt, iterations, SCRAM_HASH_LENGTH[hash], NODE_DIGEST[hash]);
}

/** Derives the credentials to store for a password. A fresh random salt is drawn when none is given. */
export async function deriveScramCredentials(
  password: string,
  hash: ScramHash,
  iterations: number,
  salt: Buffer = randomBytes(SCRAM_SALT_LENGTH),
): Promise<ScramCredentials> {
  const salted = await scramSaltedPassword(password, hash, iterations, salt);
  const { storedKey, serverKey } = scramKeysFromSaltedPassword(hash, salted);
  return { salt, iterations, storedKey, serverKey };
}
