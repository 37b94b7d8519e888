// An archived message written out as stored, without parsing it again.
import { Element } from "../../core/xml/element.js";

/**
 * A stored message written out as stored: the archive holds it as our own serialiser wrote it (one
 * well-formed element with its xmlns), so a page needs no XML parsing. It has no attributes or children
 * to read; a copy is the same raw text (an Element copy would be an empty <message/>).
 */
export class StoredXml extends Element {
  private readonly raw: string;
  constructor(raw: string) {
    super("message", "jabber:client");
    this.raw = raw;
  }
  override toString(): string {
    return this.raw;
  }
  override clone(): Element {
    return new StoredXml(this.raw);
  }
}
