// After an account is deleted, what other accounts and services granted to its address must go too (MUC
// affiliations, PEP whitelists and subscriptions), or whoever registers the name next inherits them. Modules
// do that in their "account.deleted" handler. The CLI deletes accounts without a server (or beside one), so a
// deletion is recorded here first and handed to the modules when a server runs: at once through the control
// socket when one is up, else at the next start.
import type { AccountProvider } from "../auth/types.js";
import { StreamError } from "./errors.js";
import type { Hooks } from "./hooks.js";
import type { SessionRegistry } from "./session-registry.js";
import type { StorageDriver } from "../storage/types.js";
import type { Logger } from "pino";

/** Host-wide store of deleted accounts whose references are not cleaned up yet: user → deletion time. */
const PENDING_STORE = "account-deletions";

/**
 * Deletes an account and all its data, and records the deletion for the modules' clean-up: the one rule behind
 * `natter deluser` and the admin operations. Throws NoSuchAccountError. A running server then calls
 * processAccountDeletions (at once, or at its next start), which also ends the account's sessions.
 */
export async function deleteAccount(storage: StorageDriver, accounts: AccountProvider, host: string, user: string): Promise<void> {
  await accounts.deleteUser(host, user);
  await storage.deleteUser(host, user);
  await recordAccountDeletion(storage, host, user);
}

/** Records that `user@host` was deleted (call after StorageDriver.deleteUser, which would erase the record). */
export async function recordAccountDeletion(storage: StorageDriver, host: string, user: string): Promise<void> {
  await storage.open(host, PENDING_STORE, "keyval").set(user, Date.now());
}

export interface AccountDeletionDeps {
  storage: StorageDriver;
  accounts: AccountProvider;
  hooks: Hooks;
  sessions: SessionRegistry;
  hosts: ReadonlySet<string>;
  log: Logger;
}

/** Runs the modules' clean-up for every recorded deletion, then forgets the record. Returns how many it handled. */
export async function processAccountDeletions(deps: AccountDeletionDeps): Promise<number> {
  let handled = 0;
  for (const host of deps.hosts) {
    const pending = deps.storage.open(host, PENDING_STORE, "keyval");
    for (const user of await pending.users()) {
      // Deleted by another process: what this one keeps in memory about the account goes first.
      deps.storage.forgetUser(host, user);
      deps.accounts.forgetUser(host, user);
      // Sessions still open from before the deletion end as XEP-0077 §3.2 ends them.
      for (const s of deps.sessions.resourcesOf(`${user}@${host}`)) s.close(new StreamError("not-authorized", "the account was removed"));
      await deps.hooks.notify("account.deleted", { host, user });
      await pending.delete(user);
      deps.log.info({ user: `${user}@${host}` }, "references to a deleted account removed");
      handled++;
    }
  }
  return handled;
}
