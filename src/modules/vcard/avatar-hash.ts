// XEP-0153 vCard-based avatars, server side: the SHA-1 of the avatar in the stored vCard, and the
// <x xmlns='vcard-temp:x:update'/> the server keeps in a user's available presence (XEP-0398 §4).
import { createHash } from "node:crypto";
import type { Element } from "../../core/xml/element.js";
import { NS_VCARD_UPDATE } from "../../core/xml/ns.js";
import { photoBinval } from "./codec.js";

// XML Schema base64Binary without whitespace (XEP-0153 §3.5 item 5): groups of four, `=` padding only at the end.
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export class InvalidAvatarError extends Error {}

/**
 * Hex SHA-1 of the decoded image data of PHOTO/BINVAL (XEP-0153 §3.1: "the SHA1 hash of the avatar image
 * data itself (not the base64-encoded version)"); "" when there is no avatar. Throws InvalidAvatarError
 * when BINVAL is not base64 (XEP-0153 §3.5 item 5: the data MUST conform to base64Binary).
 */
export function avatarHash(vcard: Element): string {
  const b64 = photoBinval(vcard);
  if (b64 === undefined) return "";
  if (!BASE64.test(b64)) throw new InvalidAvatarError("PHOTO/BINVAL is not base64");
  return createHash("sha1").update(Buffer.from(b64, "base64")).digest("hex");
}

/**
 * Puts the server's avatar hash into an available presence (XEP-0398 §4): "services MUST include the hash
 * on behalf of their users in every available presence that does not contain an empty photo element";
 * an update element without <photo/> MUST be overwritten; a different non-empty hash MAY be (we do: the
 * stored vCard is the truth). No avatar gives an empty <photo/> (XEP-0153 §4.1 rule 3). Mutates `presence`.
 */
export function stampAvatarHash(presence: Element, hash: string): void {
  const photo = presence.getChild("x", NS_VCARD_UPDATE)?.getChild("photo", NS_VCARD_UPDATE);
  if (photo && photo.text().trim() === "") return; // the client says "no image": leave it (XEP-0398 §4)
  presence.removeChildren("x", NS_VCARD_UPDATE);
  const p = presence.c("x", NS_VCARD_UPDATE).c("photo", NS_VCARD_UPDATE);
  if (hash !== "") p.t(hash);
}
