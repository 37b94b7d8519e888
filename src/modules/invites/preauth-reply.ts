// An iq reply written straight to a pre-authentication stream (no JID to route to yet).
import type { StanzaError } from "../../core/errors.js";
import { Element } from "../../core/xml/element.js";
import { NS_CLIENT } from "../../core/xml/ns.js";

export function iqReplyTo(request: Element, host: string, error?: StanzaError): Element {
  const attrs: Record<string, string> = { type: error ? "error" : "result" };
  if (request.attrs.id !== undefined) attrs.id = request.attrs.id;
  // RFC 6120 §10.3.3: a reply to a request without `to` carries no `from`.
  if (request.attrs.to !== undefined) attrs.from = host;
  const reply = new Element("iq", NS_CLIENT, attrs);
  if (error) reply.append(error.toElement());
  return reply;
}
