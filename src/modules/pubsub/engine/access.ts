// XEP-0060 §4.5 access models: who may subscribe to a node and retrieve its items, and the error each refusal
// carries (§6.1.3, §6.5.9). The presence and roster models read the rosters of the node's local owners (PEP:
// the account itself, XEP-0163 §2.4; the pubsub service: each owner that is a user of this host).
import type { StanzaError } from "../../../core/errors.js";
import type { Jid } from "../../../core/jid.js";
import type { RosterStore } from "../../roster/roster-store.js";
import { hasFrom } from "../../roster/subscription-state.js";
import { pubsubError } from "./codec.js";
import type { Affiliation, PubsubNode } from "./node-store.js";

export interface AccessFacts {
  roster: RosterStore;
  /** Localparts of the local accounts whose rosters the presence and roster models read. */
  rosterOwners: readonly string[];
  /** The requester's affiliation ("owner" too for a service admin). */
  affiliation: Affiliation | "none";
}

/** Undefined when `requester` may read `node`; otherwise the error to return. */
export async function accessError(
  node: PubsubNode,
  requester: Jid,
  facts: AccessFacts,
): Promise<StanzaError | undefined> {
  const bare = requester.bareString();
  // §4.1 table 4: owners and publishers may always retrieve; an outcast never (§6.1.3.8, §6.5.9.10 blocked).
  if (facts.affiliation === "owner" || facts.affiliation === "publisher") return undefined;
  if (facts.affiliation === "outcast") return pubsubError("forbidden", undefined);
  switch (node.config.access_model) {
    case "open":
      return undefined;
    case "presence": {
      for (const owner of facts.rosterOwners) {
        const item = await facts.roster.get(owner, bare);
        if (item && hasFrom(item.subscription)) return undefined;
      }
      return pubsubError("not-authorized", "presence-subscription-required"); // §6.1.3.2
    }
    case "roster": {
      const allowed = new Set(node.config.roster_groups_allowed);
      for (const owner of facts.rosterOwners) {
        const item = await facts.roster.get(owner, bare);
        if (item?.groups.some((g) => allowed.has(g))) return undefined;
      }
      return pubsubError("not-authorized", "not-in-roster-group"); // §6.1.3.3
    }
    case "whitelist":
      if (facts.affiliation === "member") return undefined;
      return pubsubError("not-allowed", "closed-node"); // §6.1.3.4
    case "authorize": {
      // §4.5: members and approved subscribers may retrieve; §6.5.9.3 otherwise (subscribing asks an owner).
      if (facts.affiliation === "member") return undefined;
      if (Object.keys(node.subscribers).some((jid) => jid.split("/")[0] === bare)) return undefined;
      return pubsubError("not-authorized", "not-subscribed");
    }
  }
}
