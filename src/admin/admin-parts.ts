// What modules contribute to administration (admin/administration.ts): each registers its part through its
// context (ModuleContext.provideAdmin), and the registration goes when the module is unloaded.
import type { InvitationSpec, InvitationSummary, RoomAdministration, SpamReportListing } from "./types.js";

/** A host's announcements and message of the day (the announcements module). */
export interface HostAnnouncements {
  readonly host: string;
  /** XEP-0133 §4.23: a message to every available resource of the host; returns how many got it. */
  announce(body: string, subject?: string): Promise<number>;
  /** The current message of the day's text (its bodies), or undefined. */
  motd(): Promise<string | undefined>;
  /** XEP-0133 §4.24: a new MOTD, sent to available resources now and to the others at their next login. */
  setMotd(body: string): Promise<void>;
  /** XEP-0133 §4.26. */
  deleteMotd(): Promise<void>;
}

/** A host's invitations (the invites module, XEP-0401). */
export interface HostInvitations {
  readonly host: string;
  create(spec: InvitationSpec): Promise<InvitationSummary>;
  list(): Promise<InvitationSummary[]>;
  /** False when there was no such invitation. */
  revoke(token: string): Promise<boolean>;
}

/** A host's XEP-0377 spam reports (the spam-reporting module). */
export interface HostSpamReports {
  readonly host: string;
  list(): Promise<SpamReportListing>;
}

export type AdminPart =
  | { kind: "rooms"; rooms: RoomAdministration }
  | { kind: "announcements"; announcements: HostAnnouncements }
  | { kind: "invitations"; invitations: HostInvitations }
  | { kind: "spam-reports"; reports: HostSpamReports };
