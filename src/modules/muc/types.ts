// The vocabulary of XEP-0045 §5: affiliations (long-lived, per bare JID) and roles (per visit), and what an
// occupant is while present in a room.
import type { Element } from "../../core/xml/element.js";

/** XEP-0045 §5.2, in order of rank. */
export type Affiliation = "owner" | "admin" | "member" | "none" | "outcast";
export const AFFILIATIONS: readonly Affiliation[] = ["owner", "admin", "member", "none", "outcast"];

/** XEP-0045 §5.1. */
export type Role = "moderator" | "participant" | "visitor" | "none";
export const ROLES: readonly Role[] = ["moderator", "participant", "visitor", "none"];

export interface Occupant {
  /** The resourcepart of the occupant JID (room@service/nick). */
  nick: string;
  /** Real bare JID. */
  bare: string;
  /** Real full JIDs joined under this nick (XEP-0045 §7.2.9 lets one bare JID join from several resources) → their last presence. */
  sessions: Map<string, Element>;
  role: Role;
  /** XEP-0421 occupant-id: stable per room and real bare JID. */
  occupantId: string;
  /** The full JID shown in `jid` attributes: the session that joined or spoke last. */
  jid: string;
  /** A presence update held back by presence_rate; when it fires it broadcasts the latest presence. */
  pendingPresence?: NodeJS.Timeout | undefined;
}
