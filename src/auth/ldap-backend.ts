// Passwords in an LDAP directory (docs/authentication.md "LDAP"): bind as the user, either at a DN built from
// a template (`uid=%u,ou=people,dc=example,dc=org`) or at the DN a service-account search finds (RFC 4513 §5.1.3
// simple bind). Existence and listing by search; the members of one group are the host's admins.
import type { Client, Entry } from "ldapts";
import { InvalidCredentialsError, NoSuchObjectError } from "ldapts";
import { enforceUsernameCaseMapped } from "../core/precis.js";
import { ConcurrencyGate, type LdapConnectionOptions, LdapConnector, LdapPool } from "./ldap-connection.js";
import { escapeDnValue, escapeFilterValue, fillTemplate } from "./ldap-escape.js";
import type { PasswordBackend } from "./password-backend.js";

export interface LdapBackendOptions extends LdapConnectionOptions {
  /** A user's DN from `%u` (username) and `%d` (host); "" = search for it under `base`. */
  userDnTemplate: string;
  /** The service account that searches; "" = anonymous searches. */
  bindDn: string;
  bindPassword: string;
  base: string;
  /** Finds one user; `%u` and `%d` are escaped (RFC 4515). */
  filter: string;
  /** The attribute holding the username (uid; sAMAccountName on Active Directory). */
  userAttribute: string;
  /** Members of this group are admins of the host; "" = none from the directory. */
  adminGroup: string;
  /** member / uniqueMember hold DNs; memberUid holds usernames. */
  groupMemberAttribute: string;
  poolSize: number;
  /** Password binds at once (each on a connection of its own). */
  maxBinds: number;
  /** Operations waiting for a pooled connection or a bind slot; more fail at once. */
  maxQueue: number;
}

export class LdapBackend implements PasswordBackend {
  readonly label = "LDAP";
  private readonly connector: LdapConnector;
  private readonly pool: LdapPool;
  private readonly binds: ConcurrencyGate;

  constructor(private readonly options: LdapBackendOptions) {
    this.connector = new LdapConnector(options);
    this.pool = new LdapPool(
      this.connector,
      { dn: options.bindDn, password: options.bindPassword },
      options.poolSize,
      options.maxQueue,
    );
    this.binds = new ConcurrencyGate(options.maxBinds, options.maxQueue);
  }

  async verify(host: string, user: string, password: string): Promise<boolean> {
    // RFC 4513 §5.1.2: a simple bind with an empty password is an unauthenticated bind, which succeeds.
    if (password === "") return false;
    const dn = await this.userDn(host, user);
    if (dn === undefined) return false;
    return this.binds.run(async () => {
      const client = await this.connector.open();
      try {
        await client.bind(dn, password);
        return true;
      } catch (err) {
        if (err instanceof InvalidCredentialsError) return false;
        throw err;
      } finally {
        await client.unbind().catch(() => undefined);
      }
    });
  }

  async exists(host: string, user: string): Promise<boolean> {
    return (await this.userDn(host, user)) !== undefined;
  }

  async list(host: string): Promise<string[]> {
    if (this.options.base === "") throw new Error("auth.ldap.base is needed to list users");
    const filter = this.options.filter.replace(/%u/g, "*").replace(/%d/g, escapeFilterValue(host));
    const entries = await this.pool.use(
      async (c) =>
        (
          await c.search(this.options.base, {
            scope: "sub",
            filter,
            attributes: [this.options.userAttribute],
            paged: { pageSize: 500 },
          })
        ).searchEntries,
    );
    return uniqueUsernames(entries.map((e) => firstValue(e, this.options.userAttribute)));
  }

  /** The usernames of the admin group's members (empty when no group is configured). */
  async admins(): Promise<string[]> {
    const { adminGroup, groupMemberAttribute, userAttribute } = this.options;
    if (adminGroup === "") return [];
    return this.pool.use(async (c) => {
      const { searchEntries } = await c.search(adminGroup, {
        scope: "base",
        filter: "(objectClass=*)",
        attributes: [groupMemberAttribute],
      });
      const values = allValues(searchEntries[0], groupMemberAttribute);
      if (groupMemberAttribute.toLowerCase() === "memberuid") return uniqueUsernames(values);
      const names: (string | undefined)[] = [];
      for (const dn of values) names.push(await memberName(c, dn, userAttribute));
      return uniqueUsernames(names);
    });
  }

  close(): Promise<void> {
    return this.pool.close();
  }

  /** The user's DN, or undefined when there is no such user. */
  private async userDn(host: string, user: string): Promise<string | undefined> {
    const { userDnTemplate, base, filter } = this.options;
    if (base !== "") {
      const { searchEntries } = await this.pool.use((c) =>
        c.search(base, {
          scope: "sub",
          filter: fillTemplate(filter, user, host, escapeFilterValue),
          attributes: ["1.1"],
          sizeLimit: 2,
        }),
      );
      // Two entries for one name: refuse rather than guess which one's password counts.
      return searchEntries.length === 1 ? searchEntries[0]?.dn : undefined;
    }
    const dn = fillTemplate(userDnTemplate, user, host, escapeDnValue);
    try {
      const { searchEntries } = await this.pool.use((c) =>
        c.search(dn, { scope: "base", filter: "(objectClass=*)", attributes: ["1.1"] }),
      );
      return searchEntries.length === 1 ? dn : undefined;
    } catch (err) {
      if (err instanceof NoSuchObjectError) return undefined;
      throw err;
    }
  }
}

/** A member DN's username: its first RDN when that is the user attribute, else read from the entry. */
async function memberName(client: Client, dn: string, userAttribute: string): Promise<string | undefined> {
  const rdn = /^([^=,+]+)=((?:\\.|[^,+\\])*)(?:,|$)/.exec(dn);
  if (rdn && rdn[1]?.trim().toLowerCase() === userAttribute.toLowerCase()) return unescapeDnValue(rdn[2] ?? "");
  try {
    const { searchEntries } = await client.search(dn, {
      scope: "base",
      filter: "(objectClass=*)",
      attributes: [userAttribute],
    });
    return firstValue(searchEntries[0], userAttribute);
  } catch (err) {
    if (err instanceof NoSuchObjectError) return undefined;
    throw err;
  }
}

/** RFC 4514 §3: `\XX` is a byte, `\c` is the character c. */
function unescapeDnValue(value: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const hex = value[i] === "\\" ? /^[0-9a-fA-F]{2}/.exec(value.slice(i + 1))?.[0] : undefined;
    if (hex) {
      bytes.push(Number.parseInt(hex, 16));
      i += 2;
    } else {
      if (value[i] === "\\") i++;
      const c = String.fromCodePoint(value.codePointAt(i) ?? 0xfffd);
      bytes.push(...Buffer.from(c, "utf8"));
      i += c.length - 1;
    }
  }
  return Buffer.from(bytes).toString("utf8");
}

function allValues(entry: Entry | undefined, attribute: string): string[] {
  if (!entry) return [];
  const key = Object.keys(entry).find((k) => k.toLowerCase() === attribute.toLowerCase());
  const value = key === undefined ? undefined : entry[key];
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map((v) => (Buffer.isBuffer(v) ? v.toString("utf8") : String(v)));
}

function firstValue(entry: Entry | undefined, attribute: string): string | undefined {
  return allValues(entry, attribute)[0];
}

/** Directory names as Natter sees them (RFC 8265 §3.3), dropping those it cannot use as a localpart. */
function uniqueUsernames(names: (string | undefined)[]): string[] {
  const out = new Set<string>();
  for (const name of names) {
    if (name === undefined) continue;
    try {
      out.add(enforceUsernameCaseMapped(name));
    } catch {
      // not a valid localpart: such a user cannot log in anyway
    }
  }
  return [...out];
}
