// XEP-0077 jabber:iq:register payloads: the registration form, the "already registered" answer, reading a set,
// and errors with the legacy codes §8 requires beside the RFC 6120 conditions.
import { StanzaError, type StanzaErrorCondition, type StanzaErrorType } from "../../core/errors.js";
import { Element } from "../../core/xml/element.js";
import { NS_CLIENT, NS_REGISTER } from "../../core/xml/ns.js";

/** XEP-0086 §3 legacy codes of the conditions this module returns. */
const LEGACY_CODES: Partial<Record<StanzaErrorCondition, number>> = {
  "bad-request": 400,
  conflict: 409,
  forbidden: 403,
  "internal-server-error": 500,
  "jid-malformed": 400,
  "not-acceptable": 406,
  "not-allowed": 405,
  "not-authorized": 401,
  "registration-required": 407,
  "service-unavailable": 503,
  "unexpected-request": 400,
};

/** XEP-0077 §8: a compliant server MUST support both old-style (code) and new-style (condition) errors. */
export function registerError(condition: StanzaErrorCondition, text?: string, type?: StanzaErrorType): StanzaError {
  const code = LEGACY_CODES[condition];
  return new StanzaError(condition, text, {
    ...(type !== undefined ? { type } : {}),
    ...(code !== undefined ? { code } : {}),
  });
}

/** XEP-0077 §3.1 Example 2: instructions and the fields to fill in. */
export function registrationForm(instructions: string): Element {
  const q = new Element("query", NS_REGISTER);
  q.c("instructions").t(instructions);
  q.c("username");
  q.c("password");
  return q;
}

/** XEP-0077 §3.1 Example 3: <registered/>, the information on file (the password left empty) and instructions. */
export function registeredForm(username: string, instructions: string): Element {
  const q = new Element("query", NS_REGISTER);
  q.c("registered");
  q.c("instructions").t(instructions);
  q.c("username").t(username);
  q.c("password");
  return q;
}

export type RegisterSet =
  /** §3.2: cancellation; `alone` is false when <remove/> is not the only child (→ bad-request). */
  | { kind: "remove"; alone: boolean }
  /** §3.1 registration or §3.3 password change; absent fields are undefined, empty ones "". */
  | { kind: "fields"; username: string | undefined; password: string | undefined };

export function parseRegisterSet(query: Element): RegisterSet {
  const children = query.elements();
  if (query.getChild("remove", NS_REGISTER)) return { kind: "remove", alone: children.length === 1 };
  const field = (name: string) => query.getChild(name, NS_REGISTER)?.text();
  return { kind: "fields", username: field("username"), password: field("password") };
}

/** An iq reply written straight to a stream (before authentication there is no JID to route to). */
export function iqReply(request: Element, host: string, result: Element | undefined, error?: StanzaError): Element {
  const attrs: Record<string, string> = { type: error ? "error" : "result" };
  if (request.attrs.id !== undefined) attrs.id = request.attrs.id;
  // RFC 6120 §10.3.3: a reply to a request without `to` carries no `from`; otherwise it comes from the server.
  if (request.attrs.to !== undefined) attrs.from = host;
  const reply = new Element("iq", NS_CLIENT, attrs);
  if (error) reply.append(error.toElement());
  else if (result) reply.append(result);
  return reply;
}
