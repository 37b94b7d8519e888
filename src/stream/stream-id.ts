// Stream ids (RFC 6120 §4.7.3). Headers themselves are written by each framing (stream/framing.ts).
import { randomBase64url } from "../core/random-text.js";

export function newStreamId(): string {
  // RFC 6120 §4.7.3: unique and unpredictable (at least 128 bits of randomness recommended).
  return randomBase64url(16);
}
