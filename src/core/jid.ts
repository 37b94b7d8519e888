// JIDs per RFC 7622. `parseJid` enforces the PRECIS profiles so that every address inside Natter is
// in canonical form and can be compared with ===. Results are cached: the router normalises every address.
//
// Canonical forms: localpart = UsernameCaseMapped (RFC 7622 §3.3), resourcepart = OpaqueString (§3.4),
// domainpart = U-labels (§3.2.1: "each A-label MUST be converted to a U-label") after UTS #46 mapping
// (lower case, width, NFC), without a trailing dot; IPv6 literals in RFC 5952 form inside brackets.
import { createRequire } from "node:module";
import { isIPv4 } from "node:net";
import { PrecisError, enforceOpaqueString, enforceUsernameCaseMapped } from "./precis.js";

export class JidError extends Error {}

export class Jid {
  readonly local: string;
  readonly domain: string;
  readonly resource: string;
  private str: string | undefined;
  private bareStr: string | undefined;

  /** Use parseJid / makeJid: the constructor trusts its (already enforced) parts. */
  constructor(local: string, domain: string, resource: string) {
    this.local = local;
    this.domain = domain;
    this.resource = resource;
  }

  get isBare(): boolean {
    return this.resource === "";
  }

  get isDomain(): boolean {
    return this.local === "" && this.resource === "";
  }

  bare(): Jid {
    return this.resource === "" ? this : new Jid(this.local, this.domain, "");
  }

  /** Kept once built: the router and the session registry ask for it on every delivery. */
  bareString(): string {
    if (this.bareStr === undefined) this.bareStr = this.local === "" ? this.domain : `${this.local}@${this.domain}`;
    return this.bareStr;
  }

  withResource(resource: string): Jid {
    return new Jid(this.local, this.domain, enforceResource(resource));
  }

  equals(other: Jid): boolean {
    return this.toString() === other.toString();
  }

  toString(): string {
    if (this.str === undefined) {
      const bare = this.bareString();
      this.str = this.resource === "" ? bare : `${bare}/${this.resource}`;
    }
    return this.str;
  }
}

const MAX_PART_OCTETS = 1023; // RFC 7622 §3.2–3.4
const MAX_LABEL_OCTETS = 63; // RFC 5890 §2.3.2.1: A-labels and LDH labels are DNS labels
const utf8Length = (s: string) => Buffer.byteLength(s, "utf8");

function checkLength(part: string, out: string): void {
  if (out === "") throw new JidError(`empty ${part}`);
  // A UTF-16 code unit is at most 3 UTF-8 octets, so short strings skip the byte count.
  if (out.length > MAX_PART_OCTETS / 3 && utf8Length(out) > MAX_PART_OCTETS) {
    throw new JidError(`${part} longer than ${MAX_PART_OCTETS} octets`);
  }
}

function precis(part: string, enforce: (s: string) => string, input: string): string {
  try {
    return enforce(input);
  } catch (err) {
    if (err instanceof PrecisError) throw new JidError(`invalid ${part}: ${err.message}`);
    throw err;
  }
}

// RFC 7622 §3.3.1: code points the localpart must not contain even though IdentifierClass allows them.
const LOCALPART_EXCLUDED = /["&'/:<>@]/;

export function enforceLocalpart(local: string): string {
  if (local === "") throw new JidError("empty localpart");
  const out = precis("localpart", enforceUsernameCaseMapped, local);
  if (LOCALPART_EXCLUDED.test(out)) throw new JidError("invalid localpart: contains one of \" & ' / : < > @");
  checkLength("localpart", out);
  return out;
}

interface Tr46 {
  toASCII(domain: string, options: Tr46Options): string | null;
  toUnicode(domain: string, options: Tr46Options): { domain: string; error: boolean };
}
interface Tr46Options {
  checkHyphens: boolean;
  checkBidi: boolean;
  checkJoiners: boolean;
  useSTD3ASCIIRules: boolean;
  transitionalProcessing: boolean;
}
// tr46 ships no type declarations; the interface above is the part of its API used here.
const tr46 = createRequire(import.meta.url)("tr46") as Tr46;

// IDNA2008 via UTS #46 (RFC 7622 §3.2.2): nontransitional (ß stays ß), STD3 rules (LDH only in ASCII),
// hyphen rules of RFC 5891 §4.2.3.1, ContextJ and Bidi checks. DNS total length is not verified:
// RFC 7622 allows a domainpart of up to 1023 octets.
const UTS46: Tr46Options = {
  checkHyphens: true,
  checkBidi: true,
  checkJoiners: true,
  useSTD3ASCIIRules: true,
  transitionalProcessing: false,
};

// An all-ASCII domain of NR-LDH labels (RFC 5890 §2.3.1) is its own U-label form once lower-cased.
const LDH_LABEL = "[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?";
const LDH_DOMAIN = new RegExp(`^${LDH_LABEL}(?:\\.${LDH_LABEL})*$`);
const RESERVED_LDH = /(?:^|\.)[a-z0-9]{2}--/; // R-LDH: "--" in 3rd and 4th position (xn-- A-labels included)
// RFC 7622 §3.2 strips a final label separator; UTS #46 maps the ideographic and fullwidth full stops to '.'.
const TRAILING_DOT = /[.\u3002\uFF0E\uFF61]$/u;

export function enforceDomainpart(domain: string): string {
  const stripped = TRAILING_DOT.test(domain) ? domain.slice(0, -1) : domain;
  const lower = stripped.toLowerCase();
  if (LDH_DOMAIN.test(lower) && !RESERVED_LDH.test(lower)) {
    checkLength("domainpart", lower);
    return lower;
  }
  if (stripped === "") throw new JidError("empty domainpart");
  if (stripped.startsWith("[")) return enforceIpv6Literal(stripped);
  if (isIPv4(stripped)) return stripped;
  return enforceIdn(stripped);
}

/** RFC 7622 §3.2: IP-literal per RFC 3986 §3.2.2. Only IPv6 is accepted (no IPvFuture, no zone id). */
function enforceIpv6Literal(literal: string): string {
  if (!literal.endsWith("]") || literal.includes("%")) throw new JidError("invalid domainpart: bad IP literal");
  try {
    return new URL(`http://${literal}/`).hostname; // RFC 5952 canonical text form, bracketed
  } catch {
    throw new JidError("invalid domainpart: bad IPv6 literal");
  }
}

function enforceIdn(domain: string): string {
  const ascii = tr46.toASCII(domain, UTS46);
  if (ascii === null) throw new JidError("invalid domainpart: not an IDNA2008 domain name");
  for (const label of ascii.split(".")) {
    if (label === "") throw new JidError("invalid domainpart: empty label");
    if (label.length > MAX_LABEL_OCTETS) throw new JidError(`invalid domainpart: label longer than ${MAX_LABEL_OCTETS} octets`);
  }
  const unicode = tr46.toUnicode(ascii, UTS46);
  if (unicode.error) throw new JidError("invalid domainpart: not an IDNA2008 domain name");
  checkLength("domainpart", unicode.domain);
  return unicode.domain;
}

export function enforceResource(resource: string): string {
  if (resource === "") throw new JidError("empty resourcepart");
  const out = precis("resourcepart", enforceOpaqueString, resource);
  checkLength("resourcepart", out);
  return out;
}

const cache = new Map<string, Jid>();
const CACHE_LIMIT = 100_000;

/** Parses and normalises a JID string; throws JidError when it is not a valid JID (→ jid-malformed). */
export function parseJid(input: string): Jid {
  const hit = cache.get(input);
  if (hit !== undefined) return hit;
  // RFC 7622 §3.1: the resource starts at the first '/', the localpart ends at the first '@' before it.
  const slash = input.indexOf("/");
  const head = slash === -1 ? input : input.slice(0, slash);
  const resourceRaw = slash === -1 ? undefined : input.slice(slash + 1);
  const at = head.indexOf("@");
  const localRaw = at === -1 ? undefined : head.slice(0, at);
  const domainRaw = at === -1 ? head : head.slice(at + 1);
  const local = localRaw === undefined ? "" : enforceLocalpart(localRaw);
  const domain = enforceDomainpart(domainRaw);
  const resource = resourceRaw === undefined ? "" : enforceResource(resourceRaw);
  const jid = new Jid(local, domain, resource);
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(input, jid);
  return jid;
}

/** parseJid that returns undefined instead of throwing. */
export function tryParseJid(input: string | undefined): Jid | undefined {
  if (input === undefined) return undefined;
  try {
    return parseJid(input);
  } catch {
    return undefined;
  }
}

export function makeJid(local: string, domain: string, resource = ""): Jid {
  return new Jid(
    local === "" ? "" : enforceLocalpart(local),
    enforceDomainpart(domain),
    resource === "" ? "" : enforceResource(resource),
  );
}
