// XEP-0114 §3 handshake: the component proves it knows the shared secret without sending it.
import { createHash, timingSafeEqual } from "node:crypto";

/** SHA1(concat(stream id, secret)) in lowercase hex (XEP-0114 §3, steps 1–4; UTF-8 as XML streams are). */
export function handshakeDigest(streamId: string, secret: string): string {
  return createHash("sha1").update(streamId + secret, "utf8").digest("hex");
}

/** Compares the component's <handshake/> text with the expected digest in constant time. */
export function handshakeMatches(received: string, streamId: string, secret: string): boolean {
  const expected = Buffer.from(handshakeDigest(streamId, secret), "utf8");
  // Step 4 asks the component for lowercase; accept what a lenient component sends in upper case.
  const given = Buffer.from(received.trim().toLowerCase(), "utf8");
  // A SHA-1 hex digest is always 40 characters: its length tells an attacker nothing.
  return given.length === expected.length && timingSafeEqual(given, expected);
}
