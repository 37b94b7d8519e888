// The one XML element type Natter passes around: parsed once from the wire, serialised once onto it.
// Namespaces are resolved: `ns` is the element's namespace URI, never a prefix.

export type Node = Element | string;
export type Attrs = Record<string, string>;

// XML 1.0 §2.2 Char: tab, LF, CR, U+0020–U+D7FF, U+E000–U+FFFD, U+10000–U+10FFFF (surrogates only as valid pairs).
const NOT_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
const TEXT_ESCAPES = /[&<>]/g;
const ATTR_ESCAPES = /[&<>"'\t\n\r]/g;
const ESCAPE: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&apos;",
  "\t": "&#9;",
  "\n": "&#10;",
  "\r": "&#13;",
};

export class InvalidXmlCharError extends Error {}

function checkChars(value: string): void {
  if (NOT_XML_CHAR.test(value)) throw new InvalidXmlCharError("character outside XML 1.0 Char");
}

// Values that are written as they are (XML Chars, nothing to escape): one test instead of a check and a
// replace, for the JIDs, ids and plain text that make up nearly every stanza.
const PLAIN_TEXT = /^[\t\n\r\u0020-\u0025\u0027-\u003B\u003D\u003F-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]*$/u;
const PLAIN_ATTR = /^[\u0020\u0021\u0023-\u0025\u0028-\u003B\u003D\u003F-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]*$/u;

export function escapeText(value: string): string {
  if (PLAIN_TEXT.test(value)) return value;
  checkChars(value);
  return value.replace(TEXT_ESCAPES, (c) => ESCAPE[c] as string);
}

export function escapeAttr(value: string): string {
  if (PLAIN_ATTR.test(value)) return value;
  checkChars(value);
  return value.replace(ATTR_ESCAPES, (c) => ESCAPE[c] as string);
}

export class Element {
  name: string;
  ns: string;
  attrs: Attrs;
  children: Node[];

  constructor(name: string, ns: string, attrs: Attrs = {}, children: Node[] = []) {
    this.name = name;
    this.ns = ns;
    this.attrs = attrs;
    this.children = children;
  }

  attr(name: string): string | undefined {
    return this.attrs[name];
  }

  /** First child element with this name (and namespace, which defaults to this element's). */
  getChild(name: string, ns?: string): Element | undefined {
    const want = ns ?? this.ns;
    for (const c of this.children) {
      if (typeof c !== "string" && c.name === name && c.ns === want) return c;
    }
    return undefined;
  }

  /** First child element in a namespace, whatever its name. */
  getChildByNs(ns: string): Element | undefined {
    for (const c of this.children) if (typeof c !== "string" && c.ns === ns) return c;
    return undefined;
  }

  getChildren(name?: string, ns?: string): Element[] {
    const out: Element[] = [];
    for (const c of this.children) {
      if (typeof c === "string") continue;
      if (name !== undefined && c.name !== name) continue;
      if (ns !== undefined && c.ns !== ns) continue;
      out.push(c);
    }
    return out;
  }

  /** All child elements. */
  elements(): Element[] {
    return this.getChildren();
  }

  /** Concatenated text content of this element's direct text children. */
  text(): string {
    let out = "";
    for (const c of this.children) if (typeof c === "string") out += c;
    return out;
  }

  getChildText(name: string, ns?: string): string | undefined {
    return this.getChild(name, ns)?.text();
  }

  /** Appends a child element and returns it (builder style: `el.c("x", NS).t("hi")`). */
  c(name: string, ns?: string, attrs: Attrs = {}): Element {
    const child = new Element(name, ns ?? this.ns, attrs);
    this.children.push(child);
    return child;
  }

  /** Appends text and returns this element. */
  t(text: string): this {
    this.children.push(text);
    return this;
  }

  append(...nodes: Node[]): this {
    for (const n of nodes) this.children.push(n);
    return this;
  }

  removeChildren(name: string, ns: string): void {
    this.children = this.children.filter((c) => typeof c === "string" || c.name !== name || c.ns !== ns);
  }

  clone(): Element {
    return new Element(
      this.name,
      this.ns,
      { ...this.attrs },
      this.children.map((c) => (typeof c === "string" ? c : c.clone())),
    );
  }

  /**
   * Serialises the element. `parentNs` is the namespace in scope where it is written (the stream's
   * content namespace for a stanza), so the default `xmlns` is written only where it changes.
   * Stanzas in jabber:client / jabber:server / jabber:component:accept take the stream's namespace.
   * Throws InvalidXmlCharError for text that XML 1.0 cannot carry.
   */
  toString(parentNs = "", streamPrefixBound = true): string {
    // Stream-level elements use the `stream:` prefix the stream header declares (RFC 6120 §4.8.5), which
    // leaves the default namespace in scope unchanged for their children; but only where a stanza has not
    // bound that prefix to another namespace (XML Namespaces §6.1), or a recipient would read another element.
    const rebound = this.attrs["xmlns:stream"];
    const prefixOk = streamPrefixBound && (rebound === undefined || rebound === NS_STREAM_PREFIXED);
    if (this.ns === NS_STREAM_PREFIXED && prefixOk) return this.toPrefixedString("stream", parentNs);
    let ns = this.ns;
    if (isContentNs(ns) && isContentNs(parentNs)) ns = parentNs;
    let out = `<${this.name}`;
    if (ns !== parentNs) out += ` xmlns="${escapeAttr(ns)}"`;
    for (const key in this.attrs) {
      const value = this.attrs[key];
      if (value === undefined) continue;
      out += ` ${key}="${escapeAttr(value)}"`;
    }
    if (this.children.length === 0) return `${out}/>`;
    out += ">";
    for (const c of this.children) out += typeof c === "string" ? escapeText(c) : c.toString(ns, prefixOk);
    return `${out}</${this.name}>`;
  }

  private toPrefixedString(prefix: string, parentNs: string): string {
    let out = `<${prefix}:${this.name}`;
    for (const key in this.attrs) {
      const value = this.attrs[key];
      if (value !== undefined) out += ` ${key}="${escapeAttr(value)}"`;
    }
    if (this.children.length === 0) return `${out}/>`;
    out += ">";
    for (const c of this.children) out += typeof c === "string" ? escapeText(c) : c.toString(parentNs);
    return `${out}</${prefix}:${this.name}>`;
  }
}

const NS_STREAM_PREFIXED = "http://etherx.jabber.org/streams";

const CONTENT_NAMESPACES = new Set(["jabber:client", "jabber:server", "jabber:component:accept"]);
function isContentNs(ns: string): boolean {
  return CONTENT_NAMESPACES.has(ns);
}

/** Shorthand constructor: `xml("iq", NS_CLIENT, {type: "get"}, child1, "text")`. */
export function xml(name: string, ns: string, attrs: Attrs = {}, ...children: Node[]): Element {
  const clean: Attrs = {};
  for (const k in attrs) if (attrs[k] !== undefined) clean[k] = attrs[k] as string;
  return new Element(name, ns, clean, children);
}
