// XEP-0084 User Avatar payloads and their vcard-temp PHOTO counterpart (XEP-0398 §3).
import { createHash } from "node:crypto";
import { Element } from "../../core/xml/element.js";
import { NS_AVATAR_DATA, NS_AVATAR_METADATA, NS_VCARD } from "../../core/xml/ns.js";

export interface AvatarInfo {
  /** Hex SHA-1 of the image bytes (XEP-0084 §4.2.1). */
  id: string;
  bytes: number;
  type: string;
  url?: string;
}

/**
 * The <info/> of a metadata payload that XEP-0398 §3.1 converts: the one without an external URL ("MUST pick
 * the info element that does not point to an external URL"). `null`: the payload disables the avatar (an empty
 * <metadata/>, XEP-0084 §4.6); undefined: nothing to convert.
 */
export function convertibleInfo(metadata: Element | undefined): AvatarInfo | null | undefined {
  if (!metadata || metadata.name !== "metadata" || metadata.ns !== NS_AVATAR_METADATA) return undefined;
  const infos = metadata.getChildren("info", NS_AVATAR_METADATA);
  if (infos.length === 0) return null;
  const info = infos.find((i) => i.attrs.url === undefined && i.attrs.id);
  if (!info) return undefined;
  return { id: (info.attrs.id as string).toLowerCase(), bytes: Number(info.attrs.bytes ?? 0), type: info.attrs.type ?? "image/png" };
}

/** The base64 of a <data xmlns='urn:xmpp:avatar:data'/> payload, whitespace removed. */
export function dataBase64(data: Element | undefined): string | undefined {
  if (!data || data.name !== "data" || data.ns !== NS_AVATAR_DATA) return undefined;
  const b64 = data.text().replace(/[\t\n\r ]+/g, "");
  return b64 === "" ? undefined : b64;
}

export function sha1Hex(bytes: Buffer): string {
  return createHash("sha1").update(bytes).digest("hex");
}

/** The vCard with its PHOTO replaced by this image (`undefined`: PHOTO removed). Returns a new element. */
export function withPhoto(vcard: Element, photo: { type: string; base64: string } | undefined): Element {
  const out = vcard.clone();
  out.removeChildren("PHOTO", NS_VCARD);
  if (photo) {
    const p = out.c("PHOTO", NS_VCARD);
    p.c("TYPE", NS_VCARD).t(photo.type);
    p.c("BINVAL", NS_VCARD).t(photo.base64);
  }
  return out;
}

/** XEP-0084 §4.1 data payload. */
export function dataElement(base64: string): Element {
  return new Element("data", NS_AVATAR_DATA).t(base64);
}

/** XEP-0084 §4.2 metadata payload with one info element. */
export function metadataElement(info: AvatarInfo): Element {
  const el = new Element("metadata", NS_AVATAR_METADATA);
  el.c("info", NS_AVATAR_METADATA, { id: info.id, bytes: String(info.bytes), type: info.type });
  return el;
}
