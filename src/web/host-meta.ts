// XEP-0156 §3: /.well-known/host-meta (XRD, RFC 6415 §2) and /.well-known/host-meta.json (JRD, RFC 6415
// Appendix A) listing the WebSocket (RFC 7395) and BOSH (XEP-0206) URLs of the host the request names, so
// that a web client given only a JID finds where to connect.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import { Element } from "../core/xml/element.js";
import { NS_XRD, REL_ALT_WEBSOCKET, REL_ALT_XBOSH } from "../core/xml/ns.js";
import type { HttpRequestInfo, HttpRoutes } from "./http-routes.js";
import { sendText } from "./http-routes.js";
import { boshUrl, type RequestSite, requestSite, type SiteOptions, websocketUrl } from "./request-site.js";

export interface HostMetaOptions extends SiteOptions {
  /** config.websocket.enabled: list the WebSocket endpoint. */
  websocket: boolean;
  /** config.bosh.enabled: list the BOSH endpoint. */
  bosh: boolean;
}

interface Link {
  rel: string;
  href: string;
}

/** The documents change only with the config; clients may keep them for a while. */
const CACHE_CONTROL = "public, max-age=3600";

export function hostMetaLinks(site: RequestSite, options: HostMetaOptions): Link[] {
  const links: Link[] = [];
  if (options.websocket) links.push({ rel: REL_ALT_WEBSOCKET, href: websocketUrl(site) });
  if (options.bosh) links.push({ rel: REL_ALT_XBOSH, href: boshUrl(site) });
  return links;
}

export function hostMetaXrd(links: Link[]): string {
  const xrd = new Element(
    "XRD",
    NS_XRD,
    {},
    links.map((l) => new Element("Link", NS_XRD, { rel: l.rel, href: l.href })),
  );
  return `<?xml version='1.0' encoding='utf-8'?>\n${xrd.toString()}\n`;
}

export function hostMetaJrd(links: Link[]): string {
  return `${JSON.stringify({ links }, null, 2)}\n`;
}

/** Mounts both documents; returns the remover. */
export function mountHostMeta(routes: HttpRoutes, options: HostMetaOptions, log: Logger): () => void {
  const serve = (format: "xrd" | "jrd") => (req: IncomingMessage, res: ServerResponse, info: HttpRequestInfo) => {
    // XEP-0156 §3: browsers fetch host-meta from another origin, so every answer carries the CORS header.
    const cors = { "Access-Control-Allow-Origin": "*" };
    if (info.path !== "") return sendText(res, 404, "not found", { headers: cors });
    if (req.method === "OPTIONS") {
      res.writeHead(204, {
        ...cors,
        "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
        "Access-Control-Max-Age": "86400",
      });
      res.end();
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      return sendText(res, 405, "method not allowed", { headers: { ...cors, Allow: "GET, HEAD, OPTIONS" } });
    }
    const site = requestSite(req, info, options);
    if (!site) {
      log.debug({ host: req.headers.host, path: info.url.pathname }, "host-meta for a host not served here");
      return sendText(res, 404, "unknown host", { headers: cors });
    }
    const links = hostMetaLinks(site, options);
    const body = format === "xrd" ? hostMetaXrd(links) : hostMetaJrd(links);
    res.writeHead(200, {
      ...cors,
      // RFC 6415 §2 and Appendix A media types.
      "Content-Type": format === "xrd" ? "application/xrd+xml; charset=utf-8" : "application/jrd+json; charset=utf-8",
      "Content-Length": Buffer.byteLength(body),
      "Cache-Control": CACHE_CONTROL,
      // The links depend on the Host (and the listener): a shared cache must not hand one host's to another.
      Vary: "Host",
      "X-Content-Type-Options": "nosniff",
    });
    res.end(req.method === "HEAD" ? undefined : body);
  };
  const removers = [
    routes.route("/.well-known/host-meta", serve("xrd")),
    routes.route("/.well-known/host-meta.json", serve("jrd")),
  ];
  return () => {
    for (const remove of removers) remove();
  };
}
