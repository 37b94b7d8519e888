// Escaping user input before it enters LDAP: a username such as `*)(uid=*` must not widen a filter, and
// `x,ou=admins` must not change a DN.

/** RFC 4515 §3: in an assertion value, `*`, `(`, `)`, `\` and NUL become `\XX` (any other byte may). */
export function escapeFilterValue(value: string): string {
  let out = "";
  for (const byte of Buffer.from(value, "utf8")) {
    const c = String.fromCharCode(byte);
    out += byte < 0x20 || byte >= 0x7f || "*()\\".includes(c) ? `\\${byte.toString(16).padStart(2, "0")}` : c;
  }
  return out;
}

/** RFC 4514 §2.4: in an attribute value of a DN, escape `"+,;<>\` and NUL anywhere, a leading space or `#`, a trailing space. */
export function escapeDnValue(value: string): string {
  let out = "";
  [...value].forEach((c, i, all) => {
    if (c === "\u0000") out += "\\00";
    else if ('"+,;<>\\='.includes(c) || (i === 0 && (c === " " || c === "#")) || (i === all.length - 1 && c === " "))
      out += `\\${c}`;
    else out += c;
  });
  return out;
}

/** A template's `%u` (the username) and `%d` (the host), each escaped by `escape`. */
export function fillTemplate(template: string, user: string, host: string, escape: (value: string) => string): string {
  return template.replace(/%[ud]/g, (m) => escape(m === "%u" ? user : host));
}
