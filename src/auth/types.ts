// What the stream layer needs from authentication: SASL mechanisms (RFC 6120 §6, RFC 4422) and an
// account provider that knows credentials. Mechanisms never see a driver; providers own the data.

/** RFC 6120 §6.5 SASL failure conditions. */
export type SaslFailureCondition =
  | "aborted"
  | "account-disabled"
  | "credentials-expired"
  | "encryption-required"
  | "incorrect-encoding"
  | "invalid-authzid"
  | "invalid-mechanism"
  | "malformed-request"
  | "mechanism-too-weak"
  | "not-authorized"
  | "temporary-auth-failure";

/**
 * RFC 5929 / RFC 9266 types. "tls-unique" is never among a context's `channelBindings` (SCRAM -PLUS and XEP-0440
 * never offer it); `channelBinding("tls-unique")` answers on TLS 1.2 for XEP-0484 HT-SHA-256-UNIQ alone.
 */
export type ChannelBindingType = "tls-exporter" | "tls-server-end-point" | "tls-unique";

/** What a mechanism may know of the connection it runs on. */
export interface SaslContext {
  /** The virtual host the client addressed (stream `to`). */
  host: string;
  /** True when the stream is TLS-protected. */
  secure: boolean;
  remoteAddress: string;
  /** Channel-binding types this connection can supply (RFC 5929 / RFC 9266), best first. */
  channelBindings: ChannelBindingType[];
  /** The channel-binding data for a type, or undefined when this connection cannot supply it. */
  channelBinding(type: ChannelBindingType): Buffer | undefined;
  /**
   * What the stream features advertised, for XEP-0474 downgrade protection: the <mechanisms/> list and the
   * XEP-0440 channel-binding types (undefined when <sasl-channel-binding/> was not sent). Absent: no SSDP hash.
   */
  advertised?: { mechanisms: readonly string[]; channelBindings: readonly ChannelBindingType[] | undefined };
  /**
   * Channel-binding types this connection supplies that the client has named (gs2 "p=") on this stream: proof
   * that it supports them, for the RFC 5802 §6 check of a later 'y' flag. Shared by the stream's exchanges.
   */
  bindingsUsedByClient?: Set<ChannelBindingType>;
}

export type SaslStep =
  | { kind: "challenge"; data: Buffer }
  /**
   * Authenticated as `username` (a localpart, already PRECIS-enforced). `data` = additional data with success.
   * `disabled`: the account's flag as read with the credentials just checked (ScramCredentials.disabled), when known.
   */
  | { kind: "success"; username: string; data?: Buffer; disabled?: boolean }
  | { kind: "failure"; condition: SaslFailureCondition; text?: string };

/** One authentication exchange. `step` receives the client's initial response (undefined when none) then each response. */
export interface SaslExchange {
  step(response: Buffer | undefined): Promise<SaslStep>;
}

export interface SaslMechanism {
  /** IANA name, e.g. "SCRAM-SHA-256-PLUS". */
  readonly name: string;
  /** Whether to offer it on this connection (PLAIN only over TLS; -PLUS only with channel binding). */
  available(ctx: SaslContext): boolean;
  start(ctx: SaslContext): SaslExchange;
}

export type ScramHash = "SHA-1" | "SHA-256";

/** RFC 5802 §3 stored credentials: never the password, never reversible. */
export interface ScramCredentials {
  salt: Buffer;
  iterations: number;
  storedKey: Buffer;
  serverKey: Buffer;
  /**
   * The account's disabled flag, when the provider keeps it in the same record and read it with these credentials:
   * the login then needs no second read to answer RFC 6120 §6.5.1 (undefined: asked with isDisabled).
   */
  disabled?: boolean;
}

/**
 * How a provider proves a password for a host. "scram": it holds SCRAM credentials (RFC 5802 §3), so every
 * mechanism works. "plaintext": the password is checked elsewhere (an LDAP directory, an external program, an
 * HTTP endpoint) and only PLAIN, only over TLS, can carry it: the SCRAM mechanisms are not offered on that host.
 */
export type CredentialKind = "scram" | "plaintext";

/** The source of truth for accounts of one server (internal SQLite/Postgres store, LDAP, external program). */
export interface AccountProvider {
  /** What the SASL layer may offer on this host (see CredentialKind). */
  credentialKind(host: string): CredentialKind;
  /** SCRAM credentials for a user, or undefined when the user does not exist or the provider cannot supply them. */
  scramCredentials(host: string, user: string, hash: ScramHash): Promise<ScramCredentials | undefined>;
  /**
   * Adds SCRAM credentials of one hash to an existing account that lacks them (XEP-0480 upgrade task); the
   * others are kept (XEP-0480 §4). Absent on providers that hold no SCRAM credentials.
   */
  addScramCredentials?(host: string, user: string, hash: ScramHash, credentials: ScramCredentials): Promise<boolean>;
  /** Checks a plaintext password (PLAIN). Must run hashing off the event loop's critical path (async pbkdf2). */
  verifyPassword(host: string, user: string, password: string): Promise<boolean>;
  userExists(host: string, user: string): Promise<boolean>;
  /** Creates an account; throws AccountExistsError when it exists. */
  createUser(host: string, user: string, password: string): Promise<void>;
  setPassword(host: string, user: string, password: string): Promise<void>;
  /** Deletes the account record only; the caller removes the rest of the user's data. */
  deleteUser(host: string, user: string): Promise<void>;
  listUsers(host: string): Promise<string[]>;
  /** Disables (or re-enables) an account: its credentials stay, but SASL answers `account-disabled` (RFC 6120 §6.5.1). */
  setDisabled(host: string, user: string, disabled: boolean): Promise<void>;
  /** False for an unknown account too (asked only after the credentials were proven). */
  isDisabled(host: string, user: string): Promise<boolean>;
  /** Drops what the provider remembers about a user, after another process (the CLI) deleted or changed it. */
  forgetUser(host: string, user: string): void;
}

export class AccountExistsError extends Error {}
export class NoSuchAccountError extends Error {}
/**
 * Thrown by a provider whose accounts live elsewhere (LDAP, an external program, an HTTP endpoint) for an
 * operation it cannot do there (create, change password, delete, disable): front ends report the message.
 */
export class AccountsManagedElsewhereError extends Error {}
/**
 * Thrown when the place accounts live cannot answer now (directory down, program dead, endpoint timing out):
 * SASL answers `temporary-auth-failure` (RFC 6120 §6.5.10), never success and never a crash.
 */
export class AccountBackendUnavailableError extends Error {}
