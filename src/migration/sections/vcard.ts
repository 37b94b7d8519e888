// XEP-0227 §4.6: the user's vcard-temp <vCard/> (XEP-0054), stored as the vcard module stores it, with the
// XEP-0153 avatar hash it keeps beside it.
import { NS_VCARD } from "../../core/xml/ns.js";
import { avatarHash, InvalidAvatarError } from "../../modules/vcard/avatar-hash.js";
import { isEmptyVCard, parseStoredVCard, serialiseVCard } from "../../modules/vcard/codec.js";
import { noChanges } from "../store-context.js";
import type { UserSection } from "../types.js";

export const vcardSection: UserSection = {
  name: "vcard",
  claims: [{ ns: NS_VCARD, name: "vCard" }],
  async exportUser(ctx, host, user) {
    const text = await ctx.storage.open(host, "vcard", "keyval").get(user);
    return typeof text === "string" ? [parseStoredVCard(text)] : [];
  },
  async importUser(ctx, host, user, elements, options) {
    const changes = noChanges();
    const vcard = elements[elements.length - 1];
    if (vcard === undefined || isEmptyVCard(vcard)) return changes;
    const vcards = ctx.storage.open(host, "vcard", "keyval");
    const text = serialiseVCard(vcard);
    const before = await vcards.get(user);
    if (before === text) {
      changes.unchanged++;
      return changes;
    }
    if (before === undefined) changes.added++;
    else changes.changed++;
    if (options.dryRun) return changes;
    await vcards.set(user, text);
    const hashes = ctx.storage.open(host, "vcard-avatar", "keyval");
    let hash = "";
    try {
      hash = avatarHash(vcard);
    } catch (err) {
      if (!(err instanceof InvalidAvatarError)) throw err;
      changes.warnings.push("PHOTO/BINVAL is not base64: the vCard is kept, no avatar hash is announced");
    }
    if (hash === "") await hashes.delete(user);
    else await hashes.set(user, hash);
    return changes;
  },
};
