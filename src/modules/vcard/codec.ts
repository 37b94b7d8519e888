// XEP-0054 vcard-temp payloads ⇄ what the "vcard" store keeps (the serialised <vCard/>, DESIGN.md "XML is
// stored as its serialised string").
import { Element } from "../../core/xml/element.js";
import { NS_VCARD } from "../../core/xml/ns.js";
import { parseFramedElement } from "../../core/xml/stream-parser.js";

/** An empty <vCard xmlns='vcard-temp'/> (XEP-0054 §3.1, "No vCard (empty element)"). */
export function emptyVCard(): Element {
  return new Element("vCard", NS_VCARD);
}

/** True for a <vCard/> with no child elements, no attributes and no text: "no vCard". */
export function isEmptyVCard(vcard: Element): boolean {
  return vcard.elements().length === 0 && Object.keys(vcard.attrs).length === 0 && vcard.text().trim() === "";
}

/** The form the store keeps: the <vCard/> element as XML text, with its own xmlns. */
export function serialiseVCard(vcard: Element): string {
  return vcard.toString();
}

/** UTF-8 bytes of the serialised vCard: what `max_size` limits. */
export function vCardSize(serialised: string): number {
  return Buffer.byteLength(serialised, "utf8");
}

/** Parses a stored vCard back into an element. It was parsed from a client stanza once, so it is well-formed. */
export function parseStoredVCard(text: string): Element {
  return parseFramedElement(text, { maxStanzaBytes: vCardSize(text) + 1, maxDepth: 1000 }, NS_VCARD);
}

/**
 * The base64 text of PHOTO/BINVAL with whitespace removed (XEP-0153 §3.5 item 5: whitespace MUST be
 * ignored); undefined when the vCard has no PHOTO/BINVAL or it is empty.
 */
export function photoBinval(vcard: Element): string | undefined {
  const binval = vcard.getChild("PHOTO", NS_VCARD)?.getChild("BINVAL", NS_VCARD);
  if (!binval) return undefined;
  const text = binval.text().replace(/[\t\n\r ]+/g, "");
  return text === "" ? undefined : text;
}
