// JIDs per RFC 7622. `parseJid` enforces the PRECIS profiles so that every address inside Natter is
// in canonical form and can be compared with ===. Results are cached: the router normalises every address.
// NOTE: placeholder normalisation (lower-casing); the PRECIS implementation replaces the three enforce* functions.

export class JidError extends Error {}

export class Jid {
  readonly local: string;
  readonly domain: string;
  readonly resource: string;
  private str: string | undefined;

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

  bareString(): string {
    return this.local === "" ? this.domain : `${this.local}@${this.domain}`;
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
const utf8Length = (s: string) => Buffer.byteLength(s, "utf8");

export function enforceLocalpart(local: string): string {
  const out = local.toLowerCase().normalize("NFC");
  if (out === "" || utf8Length(out) > MAX_PART_OCTETS || /[\s"&'/:<>@]/u.test(out)) {
    throw new JidError(`invalid localpart`);
  }
  return out;
}

export function enforceDomainpart(domain: string): string {
  let out = domain.toLowerCase();
  if (out.endsWith(".")) out = out.slice(0, -1);
  if (out === "" || utf8Length(out) > MAX_PART_OCTETS || /[\s/@]/u.test(out)) throw new JidError("invalid domainpart");
  return out;
}

export function enforceResource(resource: string): string {
  const out = resource.normalize("NFC");
  if (out === "" || utf8Length(out) > MAX_PART_OCTETS) throw new JidError("invalid resourcepart");
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
