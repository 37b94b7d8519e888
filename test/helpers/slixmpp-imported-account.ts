// An account imported from another server, as a slixmpp user sees it (test/interop/slixmpp/imported_account.py):
// its roster, the offline messages and the subscription requests the server delivers on initial presence.
import { runSlixmpp, slixmppTarget } from "./slixmpp.js";
import type { TestServer } from "./test-server.js";

export interface ImportedRosterItem {
  jid: string;
  name: string;
  groups: string[];
  subscription: string;
  ask: string | null;
}

export interface ImportedMessage {
  body: string;
  type: string;
  from: string;
  delay_stamp: string | null;
  delay_from: string | null;
}

export interface ImportedAccount {
  ok: boolean;
  error?: string;
  mechanism?: string;
  roster?: ImportedRosterItem[];
  messages?: ImportedMessage[];
  subscribe_from?: string[];
}

/** Logs in as jid with password; waits for `expect` offline messages, then `wait` seconds for more. */
export const slixmppImportedAccount = (
  target: TestServer,
  jid: string,
  password: string,
  options: { expect?: number; wait?: number } = {},
) => runSlixmpp<ImportedAccount>("imported_account.py", { ...slixmppTarget(target), jid, password, ...options });
