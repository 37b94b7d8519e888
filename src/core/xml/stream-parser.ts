// Bytes of an XMPP stream → Element stanzas, on top of saxes (STACK.md: handlers assigned as fields,
// bytes counted here because saxes has no cap, a new parser on every stream restart).

import type { SaxesOptions, SaxesTagNS, XMLDecl } from "saxes";
import { SaxesParser } from "saxes";
import type { StreamErrorCondition } from "../errors.js";
import { StreamError } from "../errors.js";
import type { Attrs } from "./element.js";
import { Element, escapeAttr } from "./element.js";
import { NS_CLIENT, NS_STREAM } from "./ns.js";
import { decodeUtf8Chunk, withoutBom } from "./utf8-chunks.js";

export interface StreamParserLimits {
  /** Largest top-level element, in UTF-8 bytes from its `<` to its final `>` (default policy: 256 KiB). */
  maxStanzaBytes: number;
  /** Deepest element nesting inside a stanza; the stanza itself is depth 1. */
  maxDepth: number;
  /** Most elements in one stanza, itself included (default: no cap beyond the byte limit). */
  maxElements?: number;
  /** Most attributes on one element, namespace declarations included (default: no cap). */
  maxAttributes?: number;
}

export interface StreamParserEvents {
  /** The stream header: <stream:stream ...> (RFC 6120 §4.7). `name` is the local name. */
  streamStart(name: string, ns: string, contentNs: string, attrs: Record<string, string>): void;
  /** Each complete top-level child of the stream. */
  stanza(el: Element): void;
  /** </stream:stream> */
  streamEnd(): void;
  /** Fatal: after this the parser ignores further input. */
  error(err: StreamError): void;
}

type ParserOptions = SaxesOptions & { xmlns: true; defaultXMLVersion: "1.0"; forceXMLVersion: true };

// saxes declares its handler slots private; the subclass fills them directly (on() is 4× slower).
interface HandlerSlots {
  textHandler(text: string): void;
  cdataHandler(text: string): void;
  openTagStartHandler(tag: SaxesTagNS): void;
  openTagHandler(tag: SaxesTagNS): void;
  closeTagHandler(tag: SaxesTagNS): void;
  commentHandler(text: string): void;
  piHandler(pi: { target: string; body: string }): void;
  doctypeHandler(text: string): void;
  xmldeclHandler(decl: XMLDecl): void;
  errorHandler(err: Error): void;
  closeTag(): void;
  name: string;
}

// saxes 6.0.0 (pinned) calls closeTagHandler for the popped element *before* it checks that the
// close tag's name matches, so `<message></body>` would complete the message and only then fail.
// Wrapping its closeTag lets the handler see the name that was actually written.
const saxesCloseTag = (SaxesParser.prototype as unknown as HandlerSlots).closeTag;

/** Thrown from a handler to stop saxes mid-chunk once the stream is over. */
const STOP = Symbol("stop");

/** What the tree builder reports upwards; positions are saxes code-unit offsets. */
interface TreeSink {
  rootOpened(tag: SaxesTagNS): void;
  rootClosed(): void;
  /** Character data outside any top-level element: `<` of the next one is at `position - 1`. */
  topLevelText(text: string, position: number): void;
  /** A complete top-level element; its last `>` ends just before `position`. */
  topLevelElement(el: Element, position: number): void;
}

/**
 * saxes with XMPP's rules (RFC 6120 §11) that turns events into Elements. In stream mode the root
 * is the stream header; in fragment mode (RFC 7395 framing) top-level elements are the elements.
 */
class ElementSaxParser extends SaxesParser<ParserOptions> {
  /** Open elements of the current top-level element, outermost first. */
  private readonly open: Element[] = [];
  private rootSeen = false;
  private closingName = "";
  /** Elements opened in the current top-level element, and attributes on the current tag. */
  private elements = 0;
  private attributes = 0;
  /** Replaced when a stream authenticates (smaller limits before, XmppStreamParser.setLimits). */
  limits: StreamParserLimits;

  constructor(sink: TreeSink, limits: StreamParserLimits, fragment: boolean, defaultNs: string) {
    super({
      xmlns: true,
      fragment,
      // RFC 6120 §11.2 / RFC 7395 §3.3.3 only define XML 1.0; ignore a declared 1.1 (more control chars).
      defaultXMLVersion: "1.0",
      forceXMLVersion: true,
      ...(fragment ? { additionalNamespaces: { "": defaultNs } } : {}),
    });
    const self = this as unknown as HandlerSlots;
    const open = this.open;
    const streamMode = !fragment;
    this.rootSeen = fragment;
    this.limits = limits;

    self.closeTag = () => {
      this.closingName = self.name;
      saxesCloseTag.call(this);
    };
    self.openTagStartHandler = () => {
      // Depth and element caps before any attribute is buffered or the tree grows (STACK.md: throw in the
      // open-tag handler): the memory an unfinished stanza holds stays proportional to its allowed bytes.
      const { maxDepth, maxElements } = this.limits;
      this.attributes = 0;
      if (!this.rootSeen) return;
      if (open.length >= maxDepth) {
        throw new StreamError("policy-violation", `elements nested deeper than ${maxDepth}`);
      }
      this.elements = open.length === 0 ? 1 : this.elements + 1;
      if (maxElements !== undefined && this.elements > maxElements) {
        throw new StreamError("policy-violation", `more than ${maxElements} elements in one stanza`);
      }
    };
    (self as unknown as { attributeHandler(): void }).attributeHandler = () => {
      const max = this.limits.maxAttributes;
      if (max !== undefined && ++this.attributes > max) {
        throw new StreamError("policy-violation", `more than ${max} attributes on one element`);
      }
    };
    self.openTagHandler = (tag) => {
      if (!this.rootSeen) {
        this.rootSeen = true;
        sink.rootOpened(tag);
        return;
      }
      const el = new Element(tag.local, internNamespace(tag.uri), attrsOf(tag, open));
      const parent = open[open.length - 1];
      if (parent !== undefined) parent.children.push(el);
      open.push(el);
    };
    self.closeTagHandler = (tag) => {
      if (!tag.isSelfClosing && tag.name !== this.closingName) {
        throw new StreamError("not-well-formed", `</${this.closingName}> does not close <${tag.name}>`);
      }
      const el = open.pop();
      if (el === undefined) {
        if (streamMode) sink.rootClosed();
        return;
      }
      if (open.length === 0) sink.topLevelElement(el, this.position);
    };
    self.textHandler = (text) => {
      const parent = open[open.length - 1];
      if (parent === undefined) sink.topLevelText(text, this.position);
      else appendText(parent, text);
    };
    self.cdataHandler = (text) => {
      const parent = open[open.length - 1];
      // RFC 6120 §4.6.1 allows only whitespace between stanzas, and a CDATA section is never that.
      if (parent === undefined) throw new StreamError("bad-format", "CDATA section outside a stanza");
      appendText(parent, text);
    };
    // RFC 6120 §11.1: comments, processing instructions and DTDs are restricted XML.
    self.commentHandler = () => {
      throw new StreamError("restricted-xml", "comment");
    };
    self.piHandler = () => {
      throw new StreamError("restricted-xml", "processing instruction");
    };
    self.doctypeHandler = () => {
      throw new StreamError("restricted-xml", "DTD");
    };
    self.xmldeclHandler = (decl) => {
      // RFC 6120 §11.6: UTF-8 is the only encoding.
      if (decl.encoding !== undefined && decl.encoding.toLowerCase() !== "utf-8") {
        throw new StreamError("unsupported-encoding", `declared encoding ${decl.encoding}`);
      }
    };
    self.errorHandler = (err) => {
      throw new StreamError(conditionForSaxesError(err.message), err.message);
    };
  }
}

/** Namespaces seen so far, each one string for the whole process; capped, since peers can make up any number. */
const namespaces = new Map<string, string>();
const MAX_INTERNED_NAMESPACES = 1000;

/**
 * The one copy of a namespace name. Saxes hands out slices of the text it read, and an element kept for long (a
 * session's last presence) would otherwise keep the whole chunk it came in alive through its namespace.
 */
function internNamespace(uri: string): string {
  const known = namespaces.get(uri);
  if (known !== undefined) return known;
  if (namespaces.size >= MAX_INTERNED_NAMESPACES) return uri;
  const copy = Buffer.from(uri, "utf8").toString("utf8"); // a flat string of its own, not a slice
  namespaces.set(copy, copy);
  return copy;
}

function attrsOf(tag: SaxesTagNS, open: Element[]): Attrs {
  const attrs: Attrs = {};
  const source = tag.attributes;
  for (const name in source) {
    // The default namespace lives in Element.ns; serialisation writes it back where it changes.
    if (name === "xmlns") continue;
    const attr = source[name] as (typeof source)[string];
    attrs[name] = attr.value;
    const prefix = attr.prefix;
    if (prefix !== "" && prefix !== "xml" && prefix !== "xmlns") keepPrefixDeclared(attrs, prefix, attr.uri, open);
  }
  return attrs;
}

/**
 * A prefixed attribute whose prefix was declared outside the stanza (on the stream header) would
 * re-serialise unbound: copy the declaration onto the element that uses it.
 */
function keepPrefixDeclared(attrs: Attrs, prefix: string, uri: string, open: Element[]): void {
  const decl = `xmlns:${prefix}`;
  if (attrs[decl] !== undefined) return;
  for (let i = open.length - 1; i >= 0; i--) if ((open[i] as Element).attrs[decl] !== undefined) return;
  attrs[decl] = uri;
}

function appendText(parent: Element, text: string): void {
  const children = parent.children;
  const last = children.length - 1;
  // Adjacent text (text next to CDATA) becomes one string child.
  if (last >= 0 && typeof children[last] === "string") children[last] += text;
  else children.push(text);
}

function conditionForSaxesError(message: string): StreamErrorCondition {
  // RFC 6120 §4.9.3.2: a prefix with no namespace binding.
  if (message.includes("unbound namespace prefix")) return "bad-namespace-prefix";
  // RFC 6120 §11.1: entity references other than the five predefined ones are restricted XML.
  if (message.includes("undefined entity")) return "restricted-xml";
  // A DOCTYPE or <?xml ...?> where saxes does not report it as an event (inside the root).
  if (message.includes("doctype") || message.includes("XML declaration")) return "restricted-xml";
  return "not-well-formed";
}

function isXmlWhitespace(text: string, from: number): boolean {
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x0a && c !== 0x09 && c !== 0x0d) return false;
  }
  return true;
}

function toStreamError(err: unknown): StreamError {
  if (err instanceof StreamError) return err;
  // A throw from an event handler is our own bug, not the peer's; still end the stream cleanly.
  return new StreamError("internal-server-error", err instanceof Error ? err.message : String(err));
}

/** The namespace context of the usual client stream header: one string shared by every stream that sends it. */
const USUAL_CLIENT_ROOT = `<stream:stream xmlns='${NS_CLIENT}' xmlns:stream='${NS_STREAM}'>`;

/**
 * An open tag that declares exactly what the stream header declared (its qualified name and every xmlns
 * attribute), so that a new saxes parser fed it first reads what follows in the same namespace context.
 */
function rootContext(tag: SaxesTagNS): string {
  let out = `<${tag.name}`;
  const source = tag.attributes;
  for (const name in source) {
    const attr = source[name] as (typeof source)[string];
    if (name === "xmlns" || attr.prefix === "xmlns") out += ` ${name}='${escapeAttr(attr.value)}'`;
  }
  out += ">";
  return out === USUAL_CLIENT_ROOT ? USUAL_CLIENT_ROOT : out;
}

/**
 * One XMPP stream (RFC 6120 §4). Feed it socket bytes; it reports the header, each top-level
 * element, the end, or one fatal StreamError. Create a new one on every stream restart.
 *
 * Between stanzas, release() drops the saxes parser (about 3 KiB with its tables, namespace maps and the header's
 * tag): an idle client stream holds only what resumes it. The next stanza gets a new parser, first fed an open
 * tag with the header's namespace declarations (rootContext), so it reads exactly as the old one would have.
 */
export class XmppStreamParser implements TreeSink {
  private readonly events: StreamParserEvents;
  private limits: StreamParserLimits;
  private maxStanzaBytes: number;
  /** Undefined once released between stanzas, until the next non-whitespace input. */
  private sax: ElementSaxParser | undefined;
  /** Bytes of a UTF-8 code point split across chunks (utf8-chunks.ts: strict, RFC 6120 §11.6). */
  private carry: Buffer | undefined;
  private done = false;
  private started = false;
  /** The header's namespace context, replayed into a new parser after release(). */
  private context = "";
  /** A new parser is reading the replayed context: its root is not the peer's header. */
  private resuming = false;

  // Mapping saxes positions (UTF-16 offsets into all text fed) to UTF-8 byte offsets.
  private text = "";
  private textBytes = 0;
  private textIsAscii = true;
  private textStart = 0; // saxes position of text[0]
  private textStartBytes = 0; // bytes fed before text[0]
  private cursorIndex = 0; // an index into text whose byte offset is known…
  private cursorBytes = 0; // …and that byte offset

  /** Byte offset where the current (or next) top-level element starts. */
  private markBytes = 0;
  /** Saxes position of that start. */
  private markPosition = 0;
  /** Only whitespace fed since the mark, between stanzas: keepalives can bypass saxes. */
  private idle = false;

  constructor(events: StreamParserEvents, limits: StreamParserLimits) {
    this.events = events;
    this.limits = limits;
    this.maxStanzaBytes = limits.maxStanzaBytes;
    this.sax = new ElementSaxParser(this, limits, false, "");
  }

  /**
   * New limits from the next byte on: a stream that authenticates without a restart (dialback, component
   * handshake) moves from the small pre-authentication limits to the normal ones.
   */
  setLimits(limits: StreamParserLimits): void {
    this.limits = limits;
    this.maxStanzaBytes = limits.maxStanzaBytes;
    if (this.sax) this.sax.limits = limits;
  }

  /**
   * Drops the saxes parser when the stream is between stanzas (only whitespace since the last one, no code point
   * split across chunks); the next stanza gets a new one. Returns whether the stream holds no parser now.
   */
  release(): boolean {
    if (this.sax === undefined) return true;
    if (this.done || !this.idle || this.carry !== undefined) return false;
    this.sax = undefined;
    // Everything fed so far is behind the mark: positions restart with the next parser.
    this.textStart += this.text.length;
    this.textStartBytes += this.textBytes;
    this.text = "";
    this.textBytes = 0;
    this.markPosition = this.textStart;
    this.markBytes = this.textStartBytes;
    return true;
  }

  /** A new parser in the header's namespace context, its positions shifted to continue where the old one left off. */
  private resume(): ElementSaxParser {
    const sax = new ElementSaxParser(this, this.limits, false, "");
    this.resuming = true;
    try {
      sax.write(this.context);
    } finally {
      this.resuming = false;
    }
    // Saxes positions count the characters fed (its `position` is only right inside a handler).
    const shift = this.context.length - this.textStart;
    this.textStart += shift;
    this.markPosition += shift;
    this.sax = sax;
    return sax;
  }

  /** Never throws: a problem ends the stream through events.error. */
  write(chunk: Buffer): void {
    if (this.done) return;
    let text: string;
    try {
      const decoded = decodeUtf8Chunk(this.carry, chunk);
      this.carry = decoded.carry;
      text = decoded.text;
    } catch {
      // RFC 6120 §4.9.3.22 / §11.6: bytes that violate UTF-8 are an unsupported encoding.
      this.fail(new StreamError("unsupported-encoding", "invalid UTF-8"));
      return;
    }
    // A byte order mark before the header is not content (as TextDecoder drops it).
    if (!this.started && this.textStart === 0 && this.text === "") text = withoutBom(text);
    if (text.length === 0) return;
    // Whitespace keepalives between stanzas (RFC 6120 §4.6.1) need no parsing; skipping them also
    // keeps saxes from buffering whitespace without bound on a long-lived idle stream.
    if (this.idle && isXmlWhitespace(text, 0)) return;
    let sax = this.sax;
    if (sax === undefined) {
      try {
        sax = this.resume();
      } catch (err) {
        this.fail(toStreamError(err));
        return;
      }
    }

    this.textStart += this.text.length;
    this.textStartBytes += this.textBytes;
    this.text = text;
    this.textBytes = Buffer.byteLength(text);
    this.textIsAscii = this.textBytes === text.length;
    this.cursorIndex = 0;
    this.cursorBytes = this.textStartBytes;
    try {
      sax.write(text);
    } catch (err) {
      if (err !== STOP) this.fail(toStreamError(err));
      return;
    }
    this.checkPending();
  }

  /** The transport closed. Nothing more is reported. */
  end(): void {
    this.done = true;
  }

  /** After a chunk: bound what saxes holds for an unfinished element, header or run of text. */
  private checkPending(): void {
    const sinceMark = this.markPosition - this.textStart;
    this.idle = this.started && sinceMark >= 0 && isXmlWhitespace(this.text, sinceMark);
    if (this.idle) return;
    const fed = this.textStartBytes + this.textBytes;
    if (fed - this.markBytes > this.maxStanzaBytes) this.fail(this.tooBig());
  }

  private tooBig(): StreamError {
    return new StreamError("policy-violation", `stanza larger than ${this.maxStanzaBytes} bytes`);
  }

  private fail(err: StreamError): void {
    if (this.done) return;
    this.done = true;
    this.events.error(err);
  }

  private bytesAt(position: number): number {
    const index = position - this.textStart;
    if (this.textIsAscii || index <= 0) return this.textStartBytes + index;
    if (index < this.cursorIndex) {
      this.cursorIndex = 0;
      this.cursorBytes = this.textStartBytes;
    }
    this.cursorBytes += Buffer.byteLength(this.text.slice(this.cursorIndex, index));
    this.cursorIndex = index;
    return this.cursorBytes;
  }

  private setMark(position: number): void {
    this.markPosition = position;
    this.markBytes = this.bytesAt(position);
  }

  // TreeSink: called by saxes handlers (throwing aborts the chunk; write() reports it).

  rootOpened(tag: SaxesTagNS): void {
    if (this.resuming) return;
    // RFC 6120 §4.9.3.10: the stream element must be <stream> in the streams namespace.
    if (tag.local !== "stream" || tag.uri !== NS_STREAM) {
      throw new StreamError("invalid-namespace", `root element {${tag.uri}}${tag.local}`);
    }
    const attrs: Record<string, string> = {};
    const source = tag.attributes;
    for (const name in source) {
      const attr = source[name] as (typeof source)[string];
      if (name !== "xmlns" && attr.prefix !== "xmlns") attrs[name] = attr.value;
    }
    this.started = true;
    this.context = rootContext(tag);
    this.setMark((this.sax as ElementSaxParser).position);
    this.events.streamStart(tag.local, tag.uri, tag.ns?.[""] ?? "", attrs);
  }

  rootClosed(): void {
    this.done = true;
    this.events.streamEnd();
    // Whatever follows </stream:stream> in this chunk is ignored.
    throw STOP;
  }

  topLevelText(text: string, position: number): void {
    // RFC 6120 §4.6.1 whitespace keepalives; any other character data at stream level is not XMPP.
    if (!isXmlWhitespace(text, 0)) throw new StreamError("bad-format", "character data outside a stanza");
    this.setMark(position - 1);
  }

  topLevelElement(el: Element, position: number): void {
    const end = this.bytesAt(position);
    if (end - this.markBytes > this.maxStanzaBytes) throw this.tooBig();
    this.markPosition = position;
    this.markBytes = end;
    this.events.stanza(el);
  }
}

/**
 * RFC 7395 §3.3.3 WebSocket framing: one message holds exactly one complete element (<open/>, a
 * stanza, <close/>). `defaultNs` applies where the message declares no default namespace.
 * Throws StreamError.
 */
export function parseFramedElement(text: string, limits: StreamParserLimits, defaultNs: string): Element {
  return new FramedElementParser(defaultNs).parse(text, limits);
}

/**
 * parseFramedElement for a sequence of messages (a WebSocket stream): one saxes parser serves them all, as
 * saxes resets itself at the end of each document. A new parser per message cost more than parsing a
 * typical stanza and was a fifth of the server's CPU in garbage collection (`npm run bench` ws-messages).
 * After a message that fails, the next one gets a fresh parser: nothing half-parsed carries over.
 */
export class FramedElementParser {
  private sax: ElementSaxParser | undefined;
  private readonly found: Element[] = [];
  private readonly sink: TreeSink;
  /** Characters fed to the current saxes parser (its positions count from its start). */
  private fed = 0;
  /** Where the last complete element ended (saxes position just after its final `>`). */
  private lastEnd = 0;

  constructor(private readonly defaultNs: string) {
    const found = this.found;
    this.sink = {
      rootOpened() {},
      rootClosed() {},
      topLevelText(data) {
        if (!isXmlWhitespace(data, 0)) throw new StreamError("bad-format", "character data outside the element");
      },
      topLevelElement: (el, position) => {
        found.push(el);
        this.lastEnd = position;
      },
    };
  }

  /** Drops the saxes parser (an idle stream: every message leaves it between elements); parse() makes a new one. */
  release(): void {
    this.sax = undefined;
  }

  /**
   * The one element of `text`; throws StreamError. One saxes parser reads message after message without being
   * closed and re-created (that was most of the per-message cost): each message must leave it between elements,
   * which is checked, and after a failure the next message gets a new parser.
   */
  parse(text: string, limits: StreamParserLimits, bytes = Buffer.byteLength(text)): Element {
    if (bytes > limits.maxStanzaBytes) {
      throw new StreamError("policy-violation", `stanza larger than ${limits.maxStanzaBytes} bytes`);
    }
    // An XML declaration may open a message (each is a document of its own); the parser reads one long run.
    if (text.charCodeAt(0) === 0x3c && text.startsWith("<?xml")) text = withoutXmlDeclaration(text);
    let sax = this.sax;
    if (sax === undefined) {
      sax = new ElementSaxParser(this.sink, limits, true, this.defaultNs);
      this.sax = sax;
      this.fed = 0;
      this.lastEnd = 0;
    }
    sax.limits = limits;
    const start = this.fed;
    this.fed += text.length;
    const found = this.found;
    found.length = 0;
    try {
      sax.write(text);
    } catch (err) {
      this.sax = undefined;
      throw toStreamError(err);
    }
    const el = found[0];
    const count = found.length;
    found.length = 0;
    // RFC 7395 §3.3.3: a message is one element, never several or a partial one; after it only whitespace.
    if (el === undefined || count > 1 || this.lastEnd < start || !isXmlWhitespace(text, this.lastEnd - start)) {
      this.sax = undefined;
      throw new StreamError("not-well-formed", "a WebSocket message must hold exactly one element");
    }
    return el;
  }
}

/** `text` without its leading XML declaration; refuses an encoding other than UTF-8 (RFC 6120 §11.6). */
function withoutXmlDeclaration(text: string): string {
  const end = text.indexOf("?>");
  if (end < 0) throw new StreamError("not-well-formed", "unfinished XML declaration");
  const encoding = /encoding\s*=\s*["']([^"']*)["']/.exec(text.slice(0, end))?.[1];
  if (encoding !== undefined && encoding.toLowerCase() !== "utf-8") {
    throw new StreamError("unsupported-encoding", `declared encoding ${encoding}`);
  }
  return text.slice(end + 2);
}
