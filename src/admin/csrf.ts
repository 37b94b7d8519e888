// The CSRF rule of the admin front ends (the console's own logout and the admin API): a principal that came in
// with a browser's cookie carries a CSRF token, and a request that changes something must send it back in the
// X-CSRF-Token header, which another site's form or script cannot read or set.
import { timingSafeEqual } from "node:crypto";
import type { AdminPrincipal } from "./types.js";

export const CSRF_HEADER = "x-csrf-token";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Why a request made with this principal must be refused for want of its CSRF token (answer 403), or
 * undefined when it may go on: safe methods, principals without a token (API tokens), and requests whose
 * X-CSRF-Token header matches (compared in constant time).
 */
export function csrfRefusal(
  method: string | undefined,
  headers: Readonly<Record<string, string | string[] | undefined>>,
  principal: Pick<AdminPrincipal, "csrfToken">,
): string | undefined {
  if (principal.csrfToken === undefined || SAFE_METHODS.has(method ?? "GET")) return undefined;
  const sent = headers[CSRF_HEADER];
  if (typeof sent !== "string" || sent === "") return "missing CSRF token (X-CSRF-Token header)";
  const a = Buffer.from(sent);
  const b = Buffer.from(principal.csrfToken);
  if (a.length !== b.length || !timingSafeEqual(a, b)) return "wrong CSRF token";
  return undefined;
}

