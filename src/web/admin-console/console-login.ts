// Checks an admin's console login: only JIDs listed in `admins`, the password through the account provider,
// and the same login throttle as XMPP logins (auth.throttle), so the form is no better a password-guessing
// oracle than SASL: the throttle's verdict depends only on earlier failures, every refusal reads the same
// whether the JID is unknown, not an admin or the password wrong, and the password is checked in all three.
import { setTimeout as delay } from "node:timers/promises";
import type { Logger } from "pino";
import type { LoginThrottle } from "../../auth/login-throttle.js";
import type { AccountProvider } from "../../auth/types.js";
import { tryParseJid } from "../../core/jid.js";

export interface ConsoleLoginDeps {
  accounts: Pick<AccountProvider, "verifyPassword" | "isDisabled">;
  /** Whether a bare JID is in config `admins` now (a reload may change the list). */
  isAdmin: (jid: string) => boolean;
  hosts: ReadonlySet<string>;
  throttle: LoginThrottle;
  log: Logger;
}

export type ConsoleLoginResult =
  | { ok: true; jid: string }
  | { ok: false; status: 401 | 429; error: string };

/** The one answer to a wrong JID, a non-admin or a wrong password. */
export const LOGIN_REFUSED = "wrong JID or password, or not an administrator";
/** The one answer to a throttled address (as SASL's temporary-auth-failure text). */
export const LOGIN_THROTTLED = "too many failed attempts from your address; try again later";

/** Longest JID text looked at (RFC 7622 §3.1: 3071 octets at most). */
const MAX_JID_LENGTH = 3071;
/** Longest password passed on to the provider (as SASL PLAIN's message cap keeps it small). */
const MAX_PASSWORD_LENGTH = 1024;

export async function checkConsoleLogin(deps: ConsoleLoginDeps, ip: string, jidText: string, password: string): Promise<ConsoleLoginResult> {
  const jid = jidText.length <= MAX_JID_LENGTH ? tryParseJid(jidText.trim()) : undefined;
  const usable = jid !== undefined && jid.local !== "" && jid.isBare && deps.hosts.has(jid.domain);
  const account = usable ? jid.toString() : undefined;
  const verdict = deps.throttle.check(ip, account);
  if (verdict.refused) {
    deps.log.info({ ip, user: account }, "admin console login refused by the login throttle");
    return { ok: false, status: 429, error: LOGIN_THROTTLED };
  }
  // Counted before the check, as SASL does, so parallel guesses cannot all pass `check` first.
  deps.throttle.recordFailure(ip, account);
  if (verdict.delayMs > 0) await delay(verdict.delayMs);
  let valid = false;
  if (account !== undefined && password.length > 0 && password.length <= MAX_PASSWORD_LENGTH) {
    try {
      valid = await deps.accounts.verifyPassword(jid!.domain, jid!.local, password);
    } catch (err) {
      deps.log.error({ err, user: account }, "admin console login: the account provider failed");
    }
  }
  // A disabled account cannot log in anywhere (SASL answers account-disabled once the password is proven).
  if (valid && account !== undefined && deps.isAdmin(account) && !(await deps.accounts.isDisabled(jid!.domain, jid!.local))) {
    deps.throttle.recordSuccess(ip, account);
    deps.log.info({ ip, user: account }, "admin console login");
    return { ok: true, jid: account };
  }
  // A right password of a non-admin stays a failure: the form must not tell anyone whose password it is.
  deps.log.warn({ ip, user: account ?? "(not an account JID)", known: valid }, "admin console login failed");
  return { ok: false, status: 401, error: LOGIN_REFUSED };
}
