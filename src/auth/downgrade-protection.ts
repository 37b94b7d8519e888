// XEP-0474 (SASL SCRAM Downgrade Protection, v0.5.0) §5.1: the hash the server puts in the `h` attribute of its
// SCRAM server-first-message, over what the stream features offered. The client recomputes it from what it
// received; a difference means the offer was altered in transit.
import { createHash } from "node:crypto";
import type { ScramHash } from "./types.js";

const MECHANISM_DELIMITER = "\x1e"; // XEP-0474 §5.1: %x1E, invalid in XML so no name can contain it
const CHANNEL_BINDING_SEPARATOR = "\x1f";

/**
 * base64(H(S)), H being the SCRAM mechanism's hash, S the advertised mechanisms sorted (i;octet, RFC 4790 §9.3)
 * and joined by %x1E, then — only when XEP-0440 advertised channel-binding types — %x1F and those types, sorted
 * and joined the same way.
 */
export function ssdpHash(
  hash: ScramHash,
  mechanisms: readonly string[],
  channelBindings: readonly string[] | undefined,
): string {
  // A server makes few distinct offers (per TLS state and config), and every SCRAM login needs one: remembered.
  const key = `${hash}\n${mechanisms.join(",")}\n${channelBindings?.join(",") ?? "-"}`;
  let value = remembered.get(key);
  if (value === undefined) {
    value = computeSsdpHash(hash, mechanisms, channelBindings);
    if (remembered.size >= MAX_REMEMBERED) remembered.clear();
    remembered.set(key, value);
  }
  return value;
}

/** Distinct offers remembered; more than a handful would mean something odd, so the map is simply bounded. */
const MAX_REMEMBERED = 64;
const remembered = new Map<string, string>();

function computeSsdpHash(
  hash: ScramHash,
  mechanisms: readonly string[],
  channelBindings: readonly string[] | undefined,
): string {
  let s = octetSort(mechanisms).join(MECHANISM_DELIMITER);
  if (channelBindings !== undefined) s += CHANNEL_BINDING_SEPARATOR + octetSort(channelBindings).join(MECHANISM_DELIMITER);
  return createHash(hash === "SHA-1" ? "sha1" : "sha256")
    .update(s, "utf8")
    .digest("base64");
}

/** i;octet collation: compare the UTF-8 octets (for these ASCII names, plain code-unit order). */
function octetSort(values: readonly string[]): string[] {
  return [...values].sort((a, b) => Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8")));
}
