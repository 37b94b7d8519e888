// PostgreSQL text cannot hold U+0000; SQLite's can, and the store contract accepts any string as a user, key,
// id or `with`. Strings cross into PostgreSQL with U+0000 and U+0001 escaped as two characters each:
//   U+0001 → U+0001 U+0002,  U+0000 → U+0001 U+0001.
// The code words are prefix-free and ordered as the characters they stand for, so code point order (the
// "C" collation) is unchanged: sorting, ranges and uniqueness give the same answers as on SQLite. JSON
// values never hold either character raw (JSON.stringify escapes control characters), so they pass as they are.

const NUL = "\u0000";
const ESC = "\u0001";

export function escapeNul(text: string): string {
  if (!text.includes(NUL) && !text.includes(ESC)) return text;
  // ESC first: the ESC characters the second step writes must not be escaped again.
  return text.replaceAll(ESC, `${ESC}\u0002`).replaceAll(NUL, `${ESC}${ESC}`);
}

export function unescapeNul(text: string): string {
  if (!text.includes(ESC)) return text;
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c !== ESC) out += c;
    else out += text[++i] === ESC ? NUL : ESC;
  }
  return out;
}
