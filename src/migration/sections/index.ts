// The sections `natter export` writes and `natter import` reads, in import order (privacy before blocklist:
// the blocklist lives in the default privacy list). Adding one is an import and an array entry.
import type { HostSection, UserSection } from "../types.js";
import { blocklistSection } from "./blocklist.js";
import { offlineMessagesSection } from "./offline-messages.js";
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
];

export const HOST_SECTIONS: readonly HostSection[] = [];
