// XEP-0049 <query xmlns='jabber:iq:private'/> payloads ⇄ the "private" map store: one entry per
// (namespace, element name), the value the element serialised.
import { StanzaError } from "../../core/errors.js";
import { Element } from "../../core/xml/element.js";
import { NS_CLIENT, NS_COMPONENT, NS_PRIVATE, NS_SERVER } from "../../core/xml/ns.js";
import { parseFramedElement } from "../../core/xml/stream-parser.js";

// XEP-0049 §2.3: the stored fragment's root "is scoped by its own namespace". A child that declares none
// inherits jabber:iq:private (or the stanza's namespace); those have no namespace of their own.
const NOT_OWN_NAMESPACE = new Set(["", NS_PRIVATE, NS_CLIENT, NS_SERVER, NS_COMPONENT]);

/** The map key of a stored element. */
export function storageKey(el: Element): string {
  return `${el.ns} ${el.name}`;
}

/**
 * The child elements of a query, checked against XEP-0049 §2.3: at least one, each in a namespace of its
 * own (else not-acceptable); a get without a child is "Bad Format" (bad-request), and a get asks for one
 * namespace only.
 */
export function queryChildren(query: Element, type: "get" | "set"): Element[] {
  const children = query.elements();
  if (children.length === 0) {
    if (type === "get") throw new StanzaError("bad-request", "name the element to retrieve");
    throw new StanzaError("not-acceptable", "the query needs a child element in a namespace of its own");
  }
  for (const c of children) {
    if (NOT_OWN_NAMESPACE.has(c.ns)) {
      throw new StanzaError("not-acceptable", `<${c.name}/> needs a namespace of its own`);
    }
  }
  if (type === "get" && new Set(children.map((c) => c.ns)).size > 1) {
    throw new StanzaError("bad-request", "a get may ask for one namespace only");
  }
  return children;
}

export function serialiseStored(el: Element): string {
  return el.toString();
}

export function parseStored(text: string): Element {
  return parseFramedElement(text, { maxStanzaBytes: Buffer.byteLength(text) + 1, maxDepth: 1000 }, "");
}

/** The result <query/>: each stored element, or the empty element asked for when nothing is stored. */
export function buildResult(asked: Element[], stored: (string | undefined)[]): Element {
  const q = new Element("query", NS_PRIVATE);
  asked.forEach((a, i) => {
    const text = stored[i];
    q.append(text === undefined ? new Element(a.name, a.ns) : parseStored(text));
  });
  return q;
}
