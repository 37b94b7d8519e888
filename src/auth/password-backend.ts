// What an external place of accounts (an LDAP directory, an ejabberd extauth program, an HTTP endpoint) can
// answer. The backend only talks to it; ExternalAccountProvider adds caching, error mapping and the refusals.

export interface PasswordBackend {
  /** Named in logs and in the messages front ends show ("managed in LDAP"). */
  readonly label: string;
  /** True/false when the backend answered; throws when it could not (down, timed out, garbled answer). */
  verify(host: string, user: string, password: string): Promise<boolean>;
  exists(host: string, user: string): Promise<boolean>;
  /** Absent: the backend cannot list its users (`natter users` and the admin API then say so). */
  list?(host: string): Promise<string[]>;
  /** Absent: passwords are changed in the backend's own tools. */
  setPassword?(host: string, user: string, password: string): Promise<boolean>;
  create?(host: string, user: string, password: string): Promise<boolean>;
  remove?(host: string, user: string): Promise<boolean>;
  close(): Promise<void>;
}
