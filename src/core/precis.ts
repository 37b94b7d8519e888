// PRECIS profiles (RFC 8264 framework, RFC 8265 UsernameCaseMapped / OpaqueString).
// Quick version: replaced by the exact derived-property implementation.

export class PrecisError extends Error {}

export function enforceUsernameCaseMapped(s: string): string {
  const out = s.normalize("NFKC").toLowerCase().normalize("NFC");
  if (out === "" || /[\p{Cc}\p{Z}]/u.test(out)) throw new PrecisError("disallowed username");
  return out;
}

export function enforceOpaqueString(s: string): string {
  const out = s.replace(/[\p{Zs}]/gu, " ").normalize("NFC");
  if (out === "" || /\p{Cc}/u.test(out)) throw new PrecisError("disallowed opaque string");
  return out;
}
