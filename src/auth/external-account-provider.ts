// An AccountProvider whose passwords are checked elsewhere (docs/authentication.md): only PLAIN over TLS can
// carry them, so SCRAM is never offered on its hosts (types.ts CredentialKind). A backend that cannot answer
// gives AccountBackendUnavailableError (SASL: temporary-auth-failure, RFC 6120 §6.5.10), never success; what
// the backend cannot do gives AccountsManagedElsewhereError, which front ends report as such.
import type { Logger } from "pino";
import { enforceOpaqueString, enforceUsernameCaseMapped } from "../core/precis.js";
import type { AuthCache } from "./auth-cache.js";
import type { PasswordBackend } from "./password-backend.js";
import {
  AccountBackendUnavailableError,
  AccountExistsError,
  type AccountProvider,
  AccountsManagedElsewhereError,
  type CredentialKind,
  NoSuchAccountError,
  type ScramCredentials,
} from "./types.js";

export class ExternalAccountProvider implements AccountProvider {
  constructor(
    private readonly backend: PasswordBackend,
    private readonly cache: AuthCache,
    private readonly log: Logger,
  ) {}

  get label(): string {
    return this.backend.label;
  }

  credentialKind(_host: string): CredentialKind {
    return "plaintext";
  }

  async scramCredentials(): Promise<ScramCredentials | undefined> {
    return undefined;
  }

  async verifyPassword(host: string, user: string, password: string): Promise<boolean> {
    const names = normalise(user, password);
    if (!names) return false;
    if (this.cache.hasVerified(host, names.user, names.password)) return true;
    const valid = await this.ask("verify", host, names.user, () =>
      this.backend.verify(host, names.user, names.password),
    );
    if (valid) this.cache.rememberVerified(host, names.user, names.password);
    else this.cache.forget(host, names.user);
    return valid;
  }

  async userExists(host: string, user: string): Promise<boolean> {
    const name = normaliseUser(user);
    if (name === undefined) return false;
    const known = this.cache.exists(host, name);
    if (known !== undefined) return known;
    const exists = await this.ask("exists", host, name, () => this.backend.exists(host, name));
    this.cache.rememberExists(host, name, exists);
    return exists;
  }

  async listUsers(host: string): Promise<string[]> {
    const list = this.backend.list?.bind(this.backend);
    if (!list) throw this.elsewhere("listing accounts");
    return this.ask("list", host, "", () => list(host));
  }

  async createUser(host: string, user: string, password: string): Promise<void> {
    const create = this.backend.create?.bind(this.backend);
    if (!create) throw this.elsewhere("creating accounts");
    // RFC 8265 §3.3 / §4.2: a name or password the profiles refuse is a PrecisError (front ends: bad request).
    const names = { user: enforceUsernameCaseMapped(user), password: enforceOpaqueString(password) };
    const created = await this.ask("create", host, names.user, () => create(host, names.user, names.password));
    this.cache.forget(host, names.user);
    if (!created) throw new AccountExistsError(`${names.user}@${host} could not be created (it may exist)`);
  }

  async setPassword(host: string, user: string, password: string): Promise<void> {
    const setPassword = this.backend.setPassword?.bind(this.backend);
    if (!setPassword) throw this.elsewhere("changing passwords");
    const names = { user: enforceUsernameCaseMapped(user), password: enforceOpaqueString(password) };
    const changed = await this.ask("setpass", host, names.user, () => setPassword(host, names.user, names.password));
    this.cache.forget(host, names.user);
    if (!changed)
      throw new NoSuchAccountError(`${names.user}@${host} (the ${this.backend.label} backend refused the change)`);
  }

  async deleteUser(host: string, user: string): Promise<void> {
    const remove = this.backend.remove?.bind(this.backend);
    if (!remove) throw this.elsewhere("deleting accounts");
    const name = normaliseUser(user) ?? user;
    const removed = await this.ask("remove", host, name, () => remove(host, name));
    this.cache.forget(host, name);
    if (!removed) throw new NoSuchAccountError(`${name}@${host}`);
  }

  async setDisabled(): Promise<void> {
    throw this.elsewhere("disabling accounts");
  }

  async isDisabled(): Promise<boolean> {
    // A directory's own lock (a disabled LDAP entry refuses the bind) is how such accounts are disabled.
    return false;
  }

  forgetUser(host: string, user: string): void {
    this.cache.forget(host, user);
  }

  close(): Promise<void> {
    return this.backend.close();
  }

  /** The backend's answer, or AccountBackendUnavailableError (logged) when it gave none. */
  private async ask<T>(op: string, host: string, user: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof AccountsManagedElsewhereError) throw err;
      const message = (err as Error).message;
      this.log.warn({ backend: this.backend.label, op, host, user, error: message }, "account backend unavailable");
      throw new AccountBackendUnavailableError(`the ${this.backend.label} account backend is unavailable: ${message}`);
    }
  }

  private elsewhere(what: string): AccountsManagedElsewhereError {
    return new AccountsManagedElsewhereError(
      `accounts are managed in ${this.backend.label}: ${what} is done there, not in Natter`,
    );
  }
}

function normaliseUser(user: string): string | undefined {
  try {
    return enforceUsernameCaseMapped(user);
  } catch {
    return undefined;
  }
}

/** RFC 8265 §3.3 / §4.2: the name and password as the backend sees them; undefined when either is refused. */
function normalise(user: string, password: string): { user: string; password: string } | undefined {
  const name = normaliseUser(user);
  if (name === undefined || password === "") return undefined;
  try {
    return { user: name, password: enforceOpaqueString(password) };
  } catch {
    return undefined;
  }
}
