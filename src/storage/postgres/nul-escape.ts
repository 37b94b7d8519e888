// PostgreSQL text cannot hold U+0000; SQLite's can, and the store contract accepts any string as a user, key,
// id or `with`. Strings cross into PostgreSQL with U+0000 and U+0001 escaped as two characters each:
//   U+0001 → U+0001 U+0002,  U+0000 → U+0001 U+0001.
// The code words are prefix-free and ordered as the characters they stand for, so code point order (the
// "C" collation) is unchanged: sorting, ranges and uniqueness give the same answers as on SQLite. JSON
// values never hold either character raw (JSON.stringify escapes control characters), so they pass as they are.

const NEEDS_ESCAPE = /[\u0000\u0001]/;
const NEEDS_UNESCAPE = /\u0001/;

export function escapeNul(text: string): string {
  if (!NEEDS_ESCAPE.test(text)) return text;
  return text.replace(/[\u0000\u0001]/g, (c) => (c === "\u0000" ? "\u0001\u0001" : "\u0001\u0002"));
}

export function unescapeNul(text: string): string {
  if (!NEEDS_UNESCAPE.test(text)) return text;
  return text.replace(/\u0001([\u0001\u0002])/g, (_, c: string) => (c === "\u0001" ? "\u0000" : "\u0001"));
}
