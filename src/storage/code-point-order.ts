// "Sorted" in the store contract means Unicode code point order: what SQLite's BINARY collation and
// PostgreSQL's "C" collation give (UTF-8 byte order). JavaScript's default sort compares UTF-16 code
// units, which puts astral characters (emoji) before U+E000..U+FFFF; the memory driver must not.

export function compareCodePoints(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i) as number;
    const y = b.codePointAt(i) as number;
    if (x !== y) return x - y;
    if (x > 0xffff) i++; // both strings hold the same surrogate pair here
  }
  return a.length - b.length;
}
