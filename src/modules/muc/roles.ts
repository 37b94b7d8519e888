// Who may change whose role (XEP-0045 §8.2 kick, §8.3/§8.4 voice, §9.6/§9.7 moderator status).
import type { StanzaErrorCondition } from "../../core/errors.js";
import { affiliationRank } from "./affiliations.js";
import type { Affiliation, Role } from "./types.js";

export interface RoleHolder {
  affiliation: Affiliation;
  role: Role;
}

/** The error condition for `actor` setting `target`'s role to `to`, or undefined when allowed. */
export function checkRoleChange(actor: RoleHolder, target: RoleHolder, to: Role): StanzaErrorCondition | undefined {
  // §8: only moderators change roles.
  if (actor.role !== "moderator") return "forbidden";
  // §9.6 / §9.7: granting or revoking moderator status is for admins and owners.
  if ((to === "moderator" || target.role === "moderator") && affiliationRank(actor.affiliation) < affiliationRank("admin")) {
    return target.role === "moderator" && to !== "moderator" ? "not-allowed" : "forbidden";
  }
  // §8.2 / §9.7: an admin or owner keeps the moderator role ("not-allowed" to kick or silence one)...
  if ((target.affiliation === "owner" || target.affiliation === "admin") && to !== "moderator") return "not-allowed";
  // ...and nobody acts on someone ranked above them.
  if (affiliationRank(target.affiliation) > affiliationRank(actor.affiliation)) return "not-allowed";
  return undefined;
}

/** §7.5 / muc#roomconfig_allowpm: may an occupant with this role send private messages? */
export function maySendPrivate(policy: "anyone" | "participants" | "moderators" | "none", role: Role): boolean {
  if (policy === "anyone") return true;
  if (policy === "participants") return role === "participant" || role === "moderator";
  if (policy === "moderators") return role === "moderator";
  return false;
}
