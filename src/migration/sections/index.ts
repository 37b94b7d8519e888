// The sections `natter export` writes and `natter import` reads, in import order (privacy before blocklist:
// the blocklist lives in the default privacy list). Adding one is an import and an array entry.
import type { HostSection, UserSection } from "../types.js";
import { archiveSection } from "./archive.js";
import { blocklistSection } from "./blocklist.js";
import { createMucRoomsSection, mucServiceFromConfig } from "./muc-rooms.js";
import { offlineMessagesSection } from "./offline-messages.js";
import { pepSection } from "./pep.js";
import { privacySection } from "./privacy.js";
import { privateStorageSection } from "./private-storage.js";
import { rosterSection } from "./roster.js";
import { vcardSection } from "./vcard.js";

export const USER_SECTIONS: readonly UserSection[] = [
  rosterSection,
  vcardSection,
  privateStorageSection,
  privacySection,
  blocklistSection,
  offlineMessagesSection,
  pepSection,
  archiveSection,
];

/** Per-host sections; the MUC rooms go to the service domain and limits the config's `modules.muc` sets. */
export function hostSections(modules: Readonly<Record<string, unknown>>): readonly HostSection[] {
  return [createMucRoomsSection(mucServiceFromConfig(modules))];
}
