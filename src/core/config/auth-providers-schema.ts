// The `auth` keys that choose where each host's passwords are checked (docs/authentication.md): Natter's own
// store (internal), an LDAP directory, an ejabberd extauth program or an HTTP endpoint. Kept apart from
// schema.ts so the provider options and their cross-checks live in one place.
import { z } from "zod";

export const ACCOUNT_PROVIDERS = ["internal", "ldap", "external", "http"] as const;
export type AccountProviderName = (typeof ACCOUNT_PROVIDERS)[number];

const provider = z.enum(ACCOUNT_PROVIDERS, { error: `expected one of ${ACCOUNT_PROVIDERS.join(", ")}` });

function count(what: string, min: number, max: number) {
  const message = `expected ${what}: a whole number between ${min} and ${max}`;
  return z.number({ error: message }).int({ error: message }).min(min, { error: message }).max(max, { error: message });
}

function secs(what: string, min: number, max: number) {
  const message = `expected ${what} in seconds: a number between ${min} and ${max}`;
  return z.number({ error: message }).min(min, { error: message }).max(max, { error: message });
}

const ldapUrl = z
  .string()
  .refine((v) => v === "" || /^ldaps?:\/\/[^/?#\s]+\/?$/i.test(v), {
    error: "expected an ldap:// or ldaps:// URL with a host (and port), e.g. ldaps://ldap.example.org",
  })
  .default("");

const httpUrl = z
  .string()
  .refine((v) => v === "" || /^https?:\/\/\S+$/i.test(v), { error: "expected an http:// or https:// URL" })
  .default("");

const ldap = z
  .object({
    url: ldapUrl,
    /** Upgrade an ldap:// connection with StartTLS (RFC 4513 §3) before any bind. */
    start_tls: z.boolean().default(false),
    /** PEM file of the CA that signed the directory's certificate; "" = the system's trusted CAs. */
    ca_file: z.string().default(""),
    /** Verify the directory's certificate and its name; only a test setup turns this off. */
    tls_verify: z.boolean().default(true),
    /** Bind as the user at this DN: `%u` = username, `%d` = host (escaped per RFC 4514). "" = search under `base`. */
    user_dn: z.string().default(""),
    /** The service account that searches for users and reads the admin group; "" = anonymous. */
    bind_dn: z.string().default(""),
    bind_password: z.string().default(""),
    /** Where users are searched (search-then-bind, existence, listing). */
    base: z.string().default(""),
    /** One user's entry; `%u`/`%d` escaped per RFC 4515. */
    filter: z.string().default("(&(objectClass=inetOrgPerson)(uid=%u))"),
    /** The attribute holding the username (uid on OpenLDAP, sAMAccountName on Active Directory). */
    user_attribute: z.string().min(1).default("uid"),
    /** DN of a group whose members are admins of the hosts on LDAP (beside `admins`); "" = none. */
    admin_group: z.string().default(""),
    /** member / uniqueMember (DNs) or memberUid (usernames). */
    group_member_attribute: z.string().min(1).default("member"),
    /** How often the admin group is read again (seconds); a reload reads it at once too. */
    admin_refresh: secs("the admin group refresh", 10, 86_400).default(300),
    /** Connections bound as the service account, kept open for searches. */
    pool: count("a number of connections", 1, 64).default(2),
    /** Password checks (binds, each on its own connection) at once. */
    max_binds: count("a number of binds", 1, 256).default(10),
    /** Operations waiting for a connection or a bind slot; more fail at once (temporary-auth-failure). */
    max_queue: count("a number of operations", 1, 100_000).default(100),
    connect_timeout: secs("the connect timeout", 0.1, 120).default(5),
    /** Longest wait for any one LDAP operation. */
    timeout: secs("the operation timeout", 0.1, 120).default(5),
  })
  .strict()
  .prefault({});

const external = z
  .object({
    /** The extauth program (ejabberd's protocol); a relative path resolves against the config file's directory. */
    command: z.string().default(""),
    args: z.array(z.string()).default([]),
    /** Programs running at once; each answers one request at a time. */
    pool: count("a number of programs", 1, 32).default(1),
    /** A request unanswered this long fails (temporary-auth-failure) and the program is restarted. */
    timeout: secs("the request timeout", 0.1, 120).default(5),
    /** First delay before restarting a program that died; doubled for each quick death up to max_restart_delay. */
    restart_delay: secs("the restart delay", 0.05, 60).default(1),
    max_restart_delay: secs("the maximum restart delay", 0.05, 3600).default(30),
    /** Requests waiting for one program; more fail at once. */
    max_queue: count("a number of requests", 1, 100_000).default(100),
  })
  .strict()
  .prefault({});

const http = z
  .object({
    /** POST {user, host, password}: 200 valid, 401/403 invalid, anything else = unavailable. */
    url: httpUrl,
    /** POST {user, host}: 200 exists, 404 does not. "" = every user is taken to exist. */
    exists_url: httpUrl,
    /** Sent as `Authorization: Bearer <token>`; "" = none. */
    token: z.string().default(""),
    /** PEM CA file for an https endpoint; "" = the system's. */
    ca_file: z.string().default(""),
    timeout: secs("the request timeout", 0.1, 120).default(5),
  })
  .strict()
  .prefault({});

/** Spread into the `auth` object of schema.ts. */
export const authProviderKeys = {
  /** Where passwords are checked on every host not named in host_providers. */
  provider: provider.default("internal"),
  /** Per host: `{chat.example.org: ldap}`. */
  host_providers: z.record(z.string(), provider).default({}),
  /** Seconds a verified password (as a salted HMAC, never the password) and a user's existence are remembered; 0 = off. */
  cache_ttl: secs("the cache lifetime", 0, 86_400).default(60),
  /** Entries each of the two caches holds at most. */
  cache_entries: count("a number of entries", 1, 10_000_000).default(10_000),
  ldap,
  external,
  http,
};

interface AuthProvidersConfig {
  hosts: string[];
  auth: {
    provider: AccountProviderName;
    host_providers: Record<string, AccountProviderName>;
    ldap: z.output<typeof ldap>;
    external: z.output<typeof external>;
    http: z.output<typeof http>;
  };
}

/** The provider each host uses. */
export function providerOfHost(config: AuthProvidersConfig, host: string): AccountProviderName {
  return config.auth.host_providers[host] ?? config.auth.provider;
}

/** Cross-checks for the schema's superRefine: a provider in use has what it needs. */
export function checkAuthProviders(config: AuthProvidersConfig, ctx: z.RefinementCtx): void {
  const issue = (path: (string | number)[], message: string) =>
    ctx.addIssue({ code: "custom", path: ["auth", ...path], message });
  for (const host of Object.keys(config.auth.host_providers)) {
    if (!config.hosts.includes(host)) issue(["host_providers", host], `"${host}" is not one of hosts`);
  }
  const used = new Set(config.hosts.map((h) => providerOfHost(config, h)));
  const { ldap, external, http } = config.auth;
  if (used.has("ldap")) {
    if (ldap.url === "") issue(["ldap", "url"], "the LDAP provider needs the directory's URL");
    if (ldap.user_dn === "" && ldap.base === "")
      issue(["ldap"], "set user_dn (bind as the user at a DN template) or base (search for the user, then bind)");
    if (ldap.user_dn !== "" && !ldap.user_dn.includes("%u"))
      issue(["ldap", "user_dn"], "the DN template needs %u (the username)");
    if (ldap.base !== "" && !ldap.filter.includes("%u"))
      issue(["ldap", "filter"], "the filter needs %u (the username)");
    if (ldap.start_tls && ldap.url.toLowerCase().startsWith("ldaps:"))
      issue(["ldap", "start_tls"], "ldaps:// is TLS already; StartTLS is for ldap://");
    if (ldap.bind_dn !== "" && ldap.bind_password === "")
      issue(
        ["ldap", "bind_password"],
        "the service account needs its password (an empty one is an anonymous bind, RFC 4513 §5.1.2)",
      );
  }
  if (used.has("external")) {
    if (external.command === "") issue(["external", "command"], "the external provider needs the program to run");
    if (external.max_restart_delay < external.restart_delay)
      issue(["external", "max_restart_delay"], "must be at least restart_delay");
  }
  if (used.has("http") && http.url === "")
    issue(["http", "url"], "the HTTP provider needs the password endpoint's URL");
}
