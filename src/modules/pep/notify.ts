// Who gets a PEP notification (XEP-0163 §4): the owner's available resources that ask for it (+notify),
// contacts whose presence the owner receives and whom the access model lets in, on each available
// resource with non-negative priority that asks for it (§4.3.2 rule 3), and explicit subscribers. Contacts on
// any host of this server are sessions here; contacts on other servers are the resources whose presence reached
// the owner (remote-contacts.ts), with their caps resolved by the caps module.
import { type Jid, tryParseJid } from "../../core/jid.js";
import type { SessionRegistry } from "../../core/session-registry.js";
import { wantsNotify } from "../caps/session-caps.js";
import type { RosterStore } from "../roster/roster-store.js";
import { hasTo } from "../roster/subscription-state.js";
import type { PepNode } from "./pep-store.js";
import type { RemoteContacts } from "./remote-contacts.js";

export interface NotifyDeps {
  /** Every host this server serves: their users are sessions here. */
  hosts: ReadonlySet<string>;
  sessions: SessionRegistry;
  roster: RosterStore;
  remote: RemoteContacts;
}

/** The JIDs (full, or bare for explicit bare subscriptions) that get a notification about `nodeName`. */
export async function notificationTargets(
  deps: NotifyDeps,
  owner: Jid,
  nodeName: string,
  node: PepNode,
  mayRead: (jid: Jid) => Promise<boolean>,
): Promise<string[]> {
  const ownerBare = owner.bareString();
  const targets = new Set<string>();
  const reached = new Set<string>();
  // §4: "the account owner itself ... all of the account owner's available resources (subject to filtering)".
  for (const s of deps.sessions.resourcesOf(ownerBare)) {
    if (s.available && (await wantsNotify(s, nodeName))) targets.add(s.jid.toString());
  }
  reached.add(ownerBare);
  // §4 rule 2: contacts sharing presence with the owner (the owner receives theirs), allowed by the access
  // model, interested per their caps.
  for (const item of await deps.roster.getAll(owner.local)) {
    if (!hasTo(item.subscription)) continue;
    const contact = tryParseJid(item.jid)?.bare();
    if (!contact || contact.bareString() === ownerBare) continue;
    if (!deps.hosts.has(contact.domain)) {
      // On another server: the resources whose available presence reached the owner (§4.3.2 rule 3).
      const resources = deps.remote.resourcesOf(owner.local, contact.bareString());
      if (resources.length === 0 || !(await mayRead(contact))) continue;
      for (const r of resources) {
        if (r.priority < 0 || !(await r.features)?.has(`${nodeName}+notify`)) continue;
        targets.add(r.jid);
        reached.add(contact.bareString());
      }
      continue;
    }
    if (!(await mayRead(contact))) continue;
    for (const s of deps.sessions.resourcesOf(contact)) {
      if (!s.available || s.priority < 0 || !(await wantsNotify(s, nodeName))) continue;
      targets.add(s.jid.toString());
      reached.add(contact.bareString());
    }
  }
  // XEP-0060 §6.1 explicit subscriptions (e.g. to an open node by a non-contact), still subject to access.
  for (const jid of Object.keys(node.subscribers)) {
    const sub = tryParseJid(jid);
    if (!sub || !(await mayRead(sub))) continue;
    if (node.subOptions?.[jid]?.deliver === false) continue; // XEP-0060 §6.3 pubsub#deliver
    if (sub.resource === "" && reached.has(sub.bareString())) continue; // already notified by presence
    targets.add(sub.toString());
  }
  return [...targets];
}
