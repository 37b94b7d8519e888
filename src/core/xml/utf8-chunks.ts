// Strict UTF-8 decoding of a byte stream in chunks (RFC 6120 §11.6: UTF-8 only, invalid bytes end the stream),
// with no per-stream object but the few bytes of a code point split across chunks. A TextDecoder does the same
// but holds an ICU converter per stream (native memory outside the JS heap) for as long as the stream lives.

import { isUtf8 } from "node:buffer";

export class InvalidUtf8Error extends Error {}

/** Bytes a sequence has, from its lead byte; 0 for a byte that cannot start one (the validator then refuses it). */
function sequenceLength(lead: number): number {
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 0;
}

/**
 * Where the unfinished code point at the end of `bytes` starts (bytes.length when the last one is complete).
 * Only a valid lead byte followed by too few continuation bytes counts as unfinished; anything else is left
 * in place for the validator to refuse.
 */
function completeLength(bytes: Uint8Array): number {
  const end = bytes.length;
  for (let i = end - 1; i >= 0 && i >= end - 3; i--) {
    const b = bytes[i] as number;
    if ((b & 0xc0) === 0x80) continue; // a continuation byte: look further back
    const need = sequenceLength(b);
    return need > end - i ? i : end;
  }
  return end;
}

/**
 * Decodes `chunk` after `carried` (the unfinished code point the previous chunk ended with, or undefined).
 * Returns the text and the bytes to carry into the next chunk; throws InvalidUtf8Error on invalid UTF-8
 * (overlong forms, surrogates and code points beyond U+10FFFF included, as TextDecoder's fatal mode).
 */
export function decodeUtf8Chunk(
  carried: Buffer | undefined,
  chunk: Buffer,
): { text: string; carry: Buffer | undefined } {
  const bytes = carried === undefined ? chunk : Buffer.concat([carried, chunk]);
  const complete = completeLength(bytes);
  const body = complete === bytes.length ? bytes : bytes.subarray(0, complete);
  if (!isUtf8(body)) throw new InvalidUtf8Error("invalid UTF-8");
  // A copy of the few carried bytes, so that the chunk they came from can be collected.
  const carry = complete === bytes.length ? undefined : Buffer.from(bytes.subarray(complete));
  return { text: body.toString("utf8"), carry };
}

/** One whole message (a WebSocket message): strict UTF-8, a leading byte order mark dropped as TextDecoder does. */
export function decodeUtf8(bytes: Buffer): string {
  if (!isUtf8(bytes)) throw new InvalidUtf8Error("invalid UTF-8");
  return withoutBom(bytes.toString("utf8"));
}

/** The text without a leading U+FEFF (a byte order mark is not content: WHATWG Encoding's UTF-8 decode). */
export function withoutBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
