// The account provider of a whole server: each host's calls go to the provider its config names
// (auth.provider, auth.host_providers; docs/authentication.md). Natter's own data of a user (roster, archive,
// offline messages…) stays in Natter's storage keyed by username, whichever provider checks the password.
import type { Logger } from "pino";
import { type AccountProviderName, providerOfHost } from "../core/config/auth-providers-schema.js";
import type { Config } from "../core/config/index.js";
import { AuthCache } from "./auth-cache.js";
import { ExtauthBackend } from "./extauth-backend.js";
import { ExternalAccountProvider } from "./external-account-provider.js";
import { HttpBackend } from "./http-backend.js";
import { LdapBackend } from "./ldap-backend.js";
import type { AccountProvider, CredentialKind, ScramCredentials, ScramHash } from "./types.js";

export class HostAccountProviders implements AccountProvider {
  constructor(
    private readonly internal: AccountProvider,
    private readonly external: ReadonlyMap<string, ExternalAccountProvider>,
    /** The LDAP backend when some host uses it, and those hosts: its admin group feeds the admins set. */
    readonly ldap: { backend: LdapBackend; hosts: string[] } | undefined,
  ) {}

  /** The provider of a host; a host no provider was built for (added by a reload) is internal. */
  of(host: string): AccountProvider {
    return this.external.get(host) ?? this.internal;
  }

  /** Hosts whose passwords are checked elsewhere, with where. */
  externalHosts(): { host: string; label: string }[] {
    return [...this.external].map(([host, p]) => ({ host, label: p.label }));
  }

  credentialKind(host: string): CredentialKind {
    return this.of(host).credentialKind(host);
  }
  scramCredentials(host: string, user: string, hash: ScramHash): Promise<ScramCredentials | undefined> {
    return this.of(host).scramCredentials(host, user, hash);
  }
  /** Only where the host's provider keeps SCRAM credentials (false elsewhere). */
  addScramCredentials(host: string, user: string, hash: ScramHash, credentials: ScramCredentials): Promise<boolean> {
    const provider = this.of(host);
    return provider.addScramCredentials?.(host, user, hash, credentials) ?? Promise.resolve(false);
  }
  verifyPassword(host: string, user: string, password: string): Promise<boolean> {
    return this.of(host).verifyPassword(host, user, password);
  }
  userExists(host: string, user: string): Promise<boolean> {
    return this.of(host).userExists(host, user);
  }
  createUser(host: string, user: string, password: string): Promise<void> {
    return this.of(host).createUser(host, user, password);
  }
  setPassword(host: string, user: string, password: string): Promise<void> {
    return this.of(host).setPassword(host, user, password);
  }
  deleteUser(host: string, user: string): Promise<void> {
    return this.of(host).deleteUser(host, user);
  }
  listUsers(host: string): Promise<string[]> {
    return this.of(host).listUsers(host);
  }
  setDisabled(host: string, user: string, disabled: boolean): Promise<void> {
    return this.of(host).setDisabled(host, user, disabled);
  }
  isDisabled(host: string, user: string): Promise<boolean> {
    return this.of(host).isDisabled(host, user);
  }
  forgetUser(host: string, user: string): void {
    this.of(host).forgetUser(host, user);
  }

  async close(): Promise<void> {
    await Promise.all([...new Set(this.external.values())].map((p) => p.close().catch(() => undefined)));
  }
}

/**
 * Builds the providers the config names, one backend per kind shared by its hosts. `internal` is Natter's own
 * store. Passwords checked elsewhere can travel only in PLAIN, so a warning names each such host.
 */
export function buildAccountProviders(
  config: Config,
  internal: AccountProvider,
  log: Logger,
  warn = true,
): HostAccountProviders {
  const { auth } = config;
  const cache = new AuthCache({ ttlMs: auth.cache_ttl * 1000, maxEntries: auth.cache_entries });
  const byKind = new Map<AccountProviderName, ExternalAccountProvider>();
  let ldap: LdapBackend | undefined;
  const providerOf = (kind: Exclude<AccountProviderName, "internal">): ExternalAccountProvider => {
    const built = byKind.get(kind);
    if (built) return built;
    const providerLog = log.child({ component: `auth-${kind}` });
    let provider: ExternalAccountProvider;
    if (kind === "ldap") {
      const o = auth.ldap;
      ldap = new LdapBackend({
        url: o.url,
        startTls: o.start_tls,
        caFile: o.ca_file,
        tlsVerify: o.tls_verify,
        connectTimeoutMs: o.connect_timeout * 1000,
        timeoutMs: o.timeout * 1000,
        userDnTemplate: o.user_dn,
        bindDn: o.bind_dn,
        bindPassword: o.bind_password,
        base: o.base,
        filter: o.filter,
        userAttribute: o.user_attribute,
        adminGroup: o.admin_group,
        groupMemberAttribute: o.group_member_attribute,
        poolSize: o.pool,
        maxBinds: o.max_binds,
        maxQueue: o.max_queue,
      });
      provider = new ExternalAccountProvider(ldap, cache, providerLog);
    } else if (kind === "external") {
      const o = auth.external;
      provider = new ExternalAccountProvider(
        new ExtauthBackend(
          {
            command: o.command,
            args: o.args,
            pool: o.pool,
            timeoutMs: o.timeout * 1000,
            restartDelayMs: o.restart_delay * 1000,
            maxRestartDelayMs: o.max_restart_delay * 1000,
            maxQueue: o.max_queue,
          },
          providerLog,
        ),
        cache,
        providerLog,
      );
    } else {
      const o = auth.http;
      provider = new ExternalAccountProvider(
        new HttpBackend({
          url: o.url,
          existsUrl: o.exists_url,
          token: o.token,
          caFile: o.ca_file,
          timeoutMs: o.timeout * 1000,
        }),
        cache,
        providerLog,
      );
    }
    byKind.set(kind, provider);
    return provider;
  };
  const external = new Map<string, ExternalAccountProvider>();
  const ldapHosts: string[] = [];
  for (const host of config.hosts) {
    const kind = providerOfHost(config, host);
    if (kind === "internal") continue;
    external.set(host, providerOf(kind));
    if (kind === "ldap") ldapHosts.push(host);
    // RFC 6120 §6.3.3 / RFC 4616 §6: a plaintext password must only cross an encrypted stream.
    if (warn)
      log.warn(
        { host, provider: kind, require_encryption: config.c2s.require_encryption },
        `passwords of ${host} are checked by ${kind}: only PLAIN over TLS is offered there (no SCRAM); c2s.require_encryption must stay on`,
      );
  }
  return new HostAccountProviders(internal, external, ldap ? { backend: ldap, hosts: ldapHosts } : undefined);
}
