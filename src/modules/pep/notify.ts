// Who gets a PEP notification (XEP-0163 §4): the owner's available resources that ask for it (+notify),
// contacts whose presence the owner receives and whom the access model lets in, on each available
// resource with non-negative priority that asks for it (§4.3.2 rule 3), and explicit subscribers.
import { type Jid, tryParseJid } from "../../core/jid.js";
import type { SessionRegistry } from "../../core/session-registry.js";
import { wantsNotify } from "../caps/session-caps.js";
import type { RosterStore } from "../roster/roster-store.js";
import { hasTo } from "../roster/subscription-state.js";
import type { PepNode } from "./pep-store.js";

export interface NotifyDeps {
  host: string;
  sessions: SessionRegistry;
  roster: RosterStore;
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
  // model, interested per their caps. Only local contacts: their sessions and caps are known here.
  for (const item of await deps.roster.getAll(owner.local)) {
    if (!hasTo(item.subscription)) continue;
    const contact = tryParseJid(item.jid)?.bare();
    if (!contact || contact.domain !== deps.host || contact.bareString() === ownerBare) continue;
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
