// RFC 6120 §4.9.3 stream error conditions and §8.3.3 stanza error conditions, as closed string unions.
import { Element } from "./xml/element.js";
import { NS_STANZAS_ERROR, NS_STREAM, NS_STREAMS_ERROR } from "./xml/ns.js";

export type StreamErrorCondition =
  | "bad-format"
  | "bad-namespace-prefix"
  | "conflict"
  | "connection-timeout"
  | "host-gone"
  | "host-unknown"
  | "improper-addressing"
  | "internal-server-error"
  | "invalid-from"
  | "invalid-namespace"
  | "invalid-xml"
  | "not-authorized"
  | "not-well-formed"
  | "policy-violation"
  | "remote-connection-failed"
  | "reset"
  | "resource-constraint"
  | "restricted-xml"
  | "see-other-host"
  | "system-shutdown"
  | "undefined-condition"
  | "unsupported-encoding"
  | "unsupported-feature"
  | "unsupported-stanza-type"
  | "unsupported-version";

export type StanzaErrorCondition =
  | "bad-request"
  | "conflict"
  | "feature-not-implemented"
  | "forbidden"
  | "gone"
  | "internal-server-error"
  | "item-not-found"
  | "jid-malformed"
  | "not-acceptable"
  | "not-allowed"
  | "not-authorized"
  | "policy-violation"
  | "recipient-unavailable"
  | "redirect"
  | "registration-required"
  | "remote-server-not-found"
  | "remote-server-timeout"
  | "resource-constraint"
  | "service-unavailable"
  | "subscription-required"
  | "undefined-condition"
  | "unexpected-request";

export type StanzaErrorType = "auth" | "cancel" | "continue" | "modify" | "wait";

// RFC 6120 §8.3.3: the error type each condition usually carries.
const DEFAULT_TYPE: Record<StanzaErrorCondition, StanzaErrorType> = {
  "bad-request": "modify",
  conflict: "cancel",
  "feature-not-implemented": "cancel",
  forbidden: "auth",
  gone: "cancel",
  "internal-server-error": "cancel",
  "item-not-found": "cancel",
  "jid-malformed": "modify",
  "not-acceptable": "modify",
  "not-allowed": "cancel",
  "not-authorized": "auth",
  "policy-violation": "modify",
  "recipient-unavailable": "wait",
  redirect: "modify",
  "registration-required": "auth",
  "remote-server-not-found": "cancel",
  "remote-server-timeout": "wait",
  "resource-constraint": "wait",
  "service-unavailable": "cancel",
  "subscription-required": "auth",
  "undefined-condition": "cancel",
  "unexpected-request": "wait",
};

/** Whether a string is one of RFC 6120 §8.3.3's stanza error conditions (what may label a metric). */
export function isStanzaErrorCondition(name: string): name is StanzaErrorCondition {
  return Object.hasOwn(DEFAULT_TYPE, name);
}

/** A stanza-level error: thrown by handlers, turned into an error reply by the core. */
export class StanzaError extends Error {
  readonly condition: StanzaErrorCondition;
  readonly type: StanzaErrorType;
  readonly text: string | undefined;
  /** Application-specific condition element (RFC 6120 §8.3.2), e.g. XEP-specific errors. */
  readonly appCondition: Element | undefined;
  /** Legacy numeric code (XEP-0086), for protocols that still require it (XEP-0077 §8). */
  readonly code: number | undefined;

  constructor(
    condition: StanzaErrorCondition,
    text?: string,
    options: { type?: StanzaErrorType; appCondition?: Element; code?: number } = {},
  ) {
    super(text ? `${condition}: ${text}` : condition);
    this.condition = condition;
    this.type = options.type ?? DEFAULT_TYPE[condition];
    this.text = text;
    this.appCondition = options.appCondition;
    this.code = options.code;
  }

  /** The `<error/>` child element (RFC 6120 §8.3.2). `by` names the entity that found the error. */
  toElement(by?: string): Element {
    const attrs: Record<string, string> = { type: this.type };
    if (by) attrs.by = by;
    if (this.code !== undefined) attrs.code = String(this.code);
    const el = new Element("error", "jabber:client", attrs);
    el.c(this.condition, NS_STANZAS_ERROR);
    if (this.text) el.c("text", NS_STANZAS_ERROR, { "xml:lang": "en" }).t(this.text);
    if (this.appCondition) el.append(this.appCondition);
    return el;
  }
}

/** A stream-level error: ends the stream (RFC 6120 §4.9). */
export class StreamError extends Error {
  readonly condition: StreamErrorCondition;
  readonly text: string | undefined;
  /** Extra content, e.g. the <see-other-host> target. */
  readonly content: string | undefined;

  constructor(condition: StreamErrorCondition, text?: string, content?: string) {
    super(text ? `${condition}: ${text}` : condition);
    this.condition = condition;
    this.text = text;
    this.content = content;
  }

  toElement(): Element {
    const el = new Element("error", NS_STREAM);
    const cond = el.c(this.condition, NS_STREAMS_ERROR);
    if (this.content) cond.t(this.content);
    if (this.text) el.c("text", NS_STREAMS_ERROR, { "xml:lang": "en" }).t(this.text);
    return el;
  }
}

/**
 * Builds the error reply to a stanza (RFC 6120 §8.3.1): same name and id, `to`/`from` swapped,
 * type "error", original children kept for context. Returns undefined for stanzas that must never
 * be answered with an error (type="error" ones).
 */
export function errorReply(stanza: Element, error: StanzaError, by?: string): Element | undefined {
  if (stanza.attrs.type === "error") return undefined;
  const attrs: Record<string, string> = { type: "error" };
  if (stanza.attrs.id !== undefined) attrs.id = stanza.attrs.id;
  if (stanza.attrs.from !== undefined) attrs.to = stanza.attrs.from;
  if (stanza.attrs.to !== undefined) attrs.from = stanza.attrs.to;
  // An iq error need not echo the request; for message/presence the original payload helps the sender.
  const children = stanza.name === "iq" ? [] : stanza.children.filter((c) => typeof c !== "string");
  const reply = new Element(stanza.name, stanza.ns, attrs, [...children]);
  reply.append(error.toElement(by));
  return reply;
}
