// Who may change whose affiliation (XEP-0045 §9 admin use cases, §10 owner use cases, the privilege table of §5.2.1).
import type { StanzaErrorCondition } from "../../core/errors.js";
import type { RoomConfig } from "./room-config.js";
import type { Affiliation, Role } from "./types.js";

const RANK: Record<Affiliation, number> = { owner: 4, admin: 3, member: 2, none: 1, outcast: 0 };

export function affiliationRank(a: Affiliation): number {
  return RANK[a];
}

/** §5.1.1 / §5.2: the role an occupant gets on entering (null: may not enter). */
export function defaultRole(affiliation: Affiliation, config: RoomConfig): Role | null {
  switch (affiliation) {
    case "owner":
    case "admin":
      return "moderator";
    case "member":
      return "participant";
    case "none":
      return config.moderated ? "visitor" : "participant";
    case "outcast":
      return null;
  }
}

/**
 * Whether `actor` may move an entity from `from` to `to` (§9.1 ban, §9.3/§9.4 members, §10.3–§10.7 owners and admins).
 * Returns the error condition to answer with, or undefined when allowed.
 * - only admins and owners change affiliations at all (forbidden);
 * - admins manage members, outcasts and "none", never admins or owners (not-allowed when the target is one, forbidden to make one).
 */
export function checkAffiliationChange(actor: Affiliation, from: Affiliation, to: Affiliation): StanzaErrorCondition | undefined {
  if (actor === "owner") return undefined;
  if (actor !== "admin") return "forbidden";
  if (to === "owner" || to === "admin") return "forbidden";
  // §9.1: "an admin MUST NOT be allowed to ban an owner or admin" (not-allowed), nor otherwise demote one.
  if (from === "owner" || from === "admin") return "not-allowed";
  return undefined;
}
