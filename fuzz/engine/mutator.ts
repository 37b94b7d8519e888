// Byte-level mutations in the style of libFuzzer's: small edits, dictionary tokens (the grammar's keywords, so
// the fuzzer need not guess "xmlns" a byte at a time), UTF-8 edge cases, and crossover with other corpus inputs.
import type { Prng } from "./prng.js";

/** Bytes that matter to XML, SASL and JID grammars, and the usual boundary values. */
const INTERESTING_BYTES = [
  0x00, 0x09, 0x0a, 0x0d, 0x20, 0x22, 0x26, 0x27, 0x2c, 0x2f, 0x3c, 0x3d, 0x3e, 0x40, 0x7f, 0x80, 0xbf, 0xc0, 0xef,
  0xff,
];

/** Code points on UTF-8 and XML Char boundaries, plus raw bytes that are never valid UTF-8. */
const UNICODE_EDGES: Buffer[] = [
  ..."\u0080\u07ff\u0800\ud7ff\ue000\ufeff\ufffd\uffff\u{10000}\u{10ffff}\u00df\u0130\u212a\u0345\u200d\u3000"
    .match(/./gsu)!
    .map((c) => Buffer.from(c)),
  Buffer.from([0xed, 0xa0, 0x80]), // an encoded surrogate
  Buffer.from([0xc0, 0xaf]), // overlong '/'
  Buffer.from([0xf4, 0x90, 0x80, 0x80]), // above U+10FFFF
  Buffer.from([0xe2, 0x82]), // truncated sequence
];

export interface MutationSource {
  dictionary: readonly Buffer[];
  /** Other inputs to splice from. */
  corpus: readonly Buffer[];
  maxLength: number;
}

type Mutation = (data: Buffer, rng: Prng, source: MutationSource) => Buffer;

const mutations: Mutation[] = [
  function flipBit(data, rng) {
    if (data.length === 0) return data;
    const out = Buffer.from(data);
    const i = rng.below(out.length);
    out[i] = (out[i] as number) ^ (1 << rng.below(8));
    return out;
  },
  function setInterestingByte(data, rng) {
    if (data.length === 0) return data;
    const out = Buffer.from(data);
    out[rng.below(out.length)] = rng.pick(INTERESTING_BYTES);
    return out;
  },
  function insertRandomBytes(data, rng) {
    const n = 1 + rng.below(8);
    const bytes = Buffer.alloc(n);
    for (let i = 0; i < n; i++) bytes[i] = rng.chance(2) ? rng.pick(INTERESTING_BYTES) : rng.below(256);
    return insertAt(data, rng.below(data.length + 1), bytes);
  },
  function deleteRange(data, rng) {
    if (data.length === 0) return data;
    const start = rng.below(data.length);
    const len = 1 + rng.below(Math.min(16, data.length - start));
    return Buffer.concat([data.subarray(0, start), data.subarray(start + len)]);
  },
  function duplicateRange(data, rng) {
    if (data.length === 0) return data;
    const start = rng.below(data.length);
    const len = 1 + rng.below(Math.min(64, data.length - start));
    return insertAt(data, rng.below(data.length + 1), data.subarray(start, start + len));
  },
  function insertToken(data, rng, source) {
    if (source.dictionary.length === 0) return data;
    return insertAt(data, rng.below(data.length + 1), rng.pick(source.dictionary));
  },
  function overwriteWithToken(data, rng, source) {
    if (source.dictionary.length === 0 || data.length === 0) return data;
    const token = rng.pick(source.dictionary);
    const at = rng.below(data.length);
    return Buffer.concat([data.subarray(0, at), token, data.subarray(Math.min(data.length, at + token.length))]);
  },
  function insertUnicodeEdge(data, rng) {
    return insertAt(data, rng.below(data.length + 1), rng.pick(UNICODE_EDGES));
  },
  function crossover(data, rng, source) {
    if (source.corpus.length === 0) return data;
    const other = rng.pick(source.corpus);
    const from = rng.below(other.length + 1);
    const part = other.subarray(from, from + 1 + rng.below(Math.max(1, other.length - from)));
    const at = rng.below(data.length + 1);
    // Either splice the other input in, or replace our tail with it.
    return rng.chance(2) ? insertAt(data, at, part) : Buffer.concat([data.subarray(0, at), part]);
  },
  function truncate(data, rng) {
    return data.subarray(0, rng.below(data.length + 1));
  },
];

function insertAt(data: Buffer, at: number, bytes: Buffer): Buffer {
  return Buffer.concat([data.subarray(0, at), bytes, data.subarray(at)]);
}

/** One to eight stacked mutations of `input`, capped at `maxLength` bytes. */
export function mutate(input: Buffer, rng: Prng, source: MutationSource): Buffer {
  let out = input;
  const rounds = 1 << rng.below(4);
  for (let i = 0; i < rounds; i++) out = rng.pick(mutations)(out, rng, source);
  return out.length > source.maxLength ? out.subarray(0, source.maxLength) : out;
}
