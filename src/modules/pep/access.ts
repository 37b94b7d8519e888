// XEP-0060 §4.5 access models on a user's PEP node, with the roster as XEP-0163 §2.4 asks: who may
// subscribe to a node and retrieve its items, and the error each refusal carries (XEP-0060 §6.1.3, §6.5.9).
import type { StanzaError } from "../../core/errors.js";
import type { Jid } from "../../core/jid.js";
import type { RosterStore } from "../roster/roster-store.js";
import { hasFrom } from "../roster/subscription-state.js";
import { pubsubError } from "./codec.js";
import type { PepNode } from "./pep-store.js";

/** Undefined when `requester` may read `node` of `owner` (a localpart); otherwise the error to return. */
export async function accessError(roster: RosterStore, owner: string, ownerBare: string, node: PepNode, requester: Jid): Promise<StanzaError | undefined> {
  const bare = requester.bareString();
  if (bare === ownerBare) return undefined; // XEP-0163 §2.2: the owner always may
  if (node.affiliations[bare] === "outcast") return pubsubError("forbidden", undefined); // §4.1 outcast
  switch (node.config.access_model) {
    case "open":
      return undefined;
    case "presence": {
      const item = await roster.get(owner, bare);
      if (item && hasFrom(item.subscription)) return undefined;
      return pubsubError("not-authorized", "presence-subscription-required"); // §6.1.3.2
    }
    case "roster": {
      const item = await roster.get(owner, bare);
      const allowed = new Set(node.config.roster_groups_allowed);
      if (item?.groups.some((g) => allowed.has(g))) return undefined;
      return pubsubError("not-authorized", "not-in-roster-group"); // §6.1.3.3
    }
    case "whitelist":
      if (node.affiliations[bare] === "member") return undefined;
      return pubsubError("not-allowed", "closed-node"); // §6.1.3.4
  }
}
