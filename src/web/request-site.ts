// Which virtual host an HTTP request is for and the base URL the client reached Natter at: the pieces the
// pages that hand out URLs need (XEP-0156 host-meta, the web client's connection settings).
import type { IncomingMessage } from "node:http";
import type { HttpRequestInfo } from "./http-routes.js";

/** Path of the RFC 7395 WebSocket endpoint on the HTTP(S) listeners. */
export const WEBSOCKET_PATH = "/xmpp-websocket";
/** Path of the XEP-0124 / XEP-0206 BOSH endpoint on the HTTP(S) listeners. */
export const BOSH_PATH = "/http-bind";

export interface RequestSite {
  /** The XMPP domain (one of config.hosts) the request is about. */
  host: string;
  /** Base URL of the HTTP server as this client reaches it: scheme://authority[/path], no trailing slash. */
  base: string;
}

export interface SiteOptions {
  hosts: readonly string[];
  /** listeners.http.public_url ("" = none). */
  publicUrl: string;
}

// RFC 9110 §7.2 Host = uri-host [ ":" port ]; only names and IP literals we can put back into a URL unchanged.
const HOST_HEADER = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252}))(?::(\d{1,5}))?$/;

/**
 * The request's site, or undefined when its Host header names none of our hosts. The Host selects the
 * virtual host (XEP-0156 §3: a client looks up https://<its domain>/.well-known/host-meta); the public URL's
 * own host name also stands for the first host (a web name such as chat.example.org in front of
 * example.org). Any other Host (an IP address, a foreign name) is refused: answering for a domain we do not
 * serve would send its users' clients, and their passwords, to us.
 */
export function requestSite(
  req: IncomingMessage,
  info: HttpRequestInfo,
  options: SiteOptions,
): RequestSite | undefined {
  const header = req.headers.host ?? "";
  const match = HOST_HEADER.exec(header);
  if (!match) return undefined;
  const name = (match[1] as string).toLowerCase().replace(/\.$/, "");
  const publicBase = options.publicUrl.replace(/\/+$/, "");
  let host = options.hosts.find((h) => h.toLowerCase() === name);
  if (host === undefined && publicBase !== "" && new URL(publicBase).hostname.toLowerCase() === name)
    host = options.hosts[0];
  if (host === undefined) return undefined;
  // Without a public URL, the scheme and authority the request itself came in on (https → wss).
  const base = publicBase !== "" ? publicBase : `${info.secure ? "https" : "http"}://${header.toLowerCase()}`;
  return { host, base };
}

/** ws(s):// URL of the WebSocket endpoint for this site (RFC 7395 §3.3). */
export function websocketUrl(site: RequestSite): string {
  return `${site.base.replace(/^http/, "ws")}${WEBSOCKET_PATH}`;
}

/** http(s):// URL of the BOSH endpoint for this site. */
export function boshUrl(site: RequestSite): string {
  return `${site.base}${BOSH_PATH}`;
}
