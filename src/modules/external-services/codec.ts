// XEP-0215 External Service Discovery: the <service/> elements, and TURN credentials in the REST-API style
// (draft-uberti-behave-turn-rest-00 §2.2, coturn's `use-auth-secret`), so the TURN server checks them
// with nothing but the shared secret.
import { createHmac } from "node:crypto";
import { Element } from "../../core/xml/element.js";
import { NS_EXTDISCO } from "../../core/xml/ns.js";

export interface ServiceConfig {
  type: "stun" | "turn" | "turns";
  host: string;
  port?: number | undefined;
  transport?: "udp" | "tcp" | undefined;
  /** Credentials are needed; defaults to true for TURN when a secret is set. */
  restricted?: boolean | undefined;
  name?: string | undefined;
}

export interface Credentials {
  username: string;
  password: string;
  /** Unix time (s) after which the TURN server refuses them. */
  expires: number;
}

/** RFC 7065 / RFC 5766: the default ports and transports of each service type. */
export function defaultPort(type: ServiceConfig["type"]): number {
  return type === "turns" ? 5349 : 3478;
}

/**
 * draft-uberti-behave-turn-rest-00 §2.2: username = "<expiry unix time>:<user id>", password =
 * base64(HMAC-SHA1(shared secret, username)); the TURN server recomputes the password and checks the time.
 */
export function turnCredentials(secret: string, user: string, nowMs: number, ttlSeconds: number): Credentials {
  const expires = Math.floor(nowMs / 1000) + ttlSeconds;
  const username = `${expires}:${user}`;
  const password = createHmac("sha1", secret).update(username).digest("base64");
  return { username, password, expires };
}

/** XEP-0082 dateTime in UTC, as the `expires` attribute wants (XEP-0215 §2). */
export function xepDateTime(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** One <service/> element (XEP-0215 §2 attributes); credentials when given. */
export function serviceElement(s: ServiceConfig, restricted: boolean, creds: Credentials | undefined): Element {
  const attrs: Record<string, string> = {
    type: s.type,
    host: s.host,
    port: String(s.port ?? defaultPort(s.type)),
    transport: s.transport ?? (s.type === "turns" ? "tcp" : "udp"),
  };
  if (s.name !== undefined) attrs.name = s.name;
  if (restricted) attrs.restricted = "1";
  if (creds) {
    attrs.username = creds.username;
    attrs.password = creds.password;
    attrs.expires = xepDateTime(creds.expires);
  }
  return new Element("service", NS_EXTDISCO, attrs);
}
