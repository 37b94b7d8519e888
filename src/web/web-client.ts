// The web client at /chat (config web_client): Converse.js served from node_modules, on a page set up for
// the host it was requested for. Nothing comes from a CDN: the bundle, its chunks, fonts and sounds are
// served from /chat/dist/, and the Content-Security-Policy lets the page load nothing from elsewhere.

import type { IncomingMessage, ServerResponse } from "node:http";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import type { Logger } from "pino";
import type { HttpRequestInfo, HttpRoutes } from "./http-routes.js";
import { sendText } from "./http-routes.js";
import { boshUrl, type RequestSite, requestSite, type SiteOptions, websocketUrl } from "./request-site.js";
import { StaticDirectory } from "./static-files.js";
import { WEB_CLIENT_BOOT_SCRIPT } from "./web-client-boot.js";

export const WEB_CLIENT_PATH = "/chat";

export interface WebClientOptions extends SiteOptions {
  /** web_client.title: the page title and the name on the login screen. */
  title: string;
  websocket: boolean;
  bosh: boolean;
  /** The MUC service domain of a host, or undefined when the muc module is off. */
  mucDomain: (host: string) => string | undefined;
  /** The HTTPS listener's port while it runs: the page over plain HTTP is sent there (no public URL set). */
  httpsPort: () => number | undefined;
}

/** Converse's dist/ is not content-hashed: an hour, revalidated by ETag after an upgrade. */
const ASSET_MAX_AGE_SECONDS = 3600;

/** node_modules/converse.js/dist, wherever npm put the package. */
export function converseDistDirectory(): string {
  return dirname(createRequire(import.meta.url).resolve("converse.js/dist/converse.min.js"));
}

const HTML_ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] as string);
}

/** JSON that is safe inside <script type="application/json">: no "</script>", "<!--" or HTML-significant characters. */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

export interface WebClientSettings {
  title: string;
  assetsPath: string;
  websocketUrl: string;
  boshUrl: string;
  domain: string;
  mucDomain: string;
}

export function webClientSettings(site: RequestSite, options: WebClientOptions): WebClientSettings {
  // Asset paths are same-origin paths under the public URL's path (a reverse proxy may mount Natter below /).
  const prefix = new URL(site.base).pathname.replace(/\/+$/, "");
  return {
    title: options.title,
    assetsPath: `${prefix}${WEB_CLIENT_PATH}/dist`,
    websocketUrl: options.websocket ? websocketUrl(site) : "",
    boshUrl: options.bosh ? boshUrl(site) : "",
    domain: site.host,
    mucDomain: options.mucDomain(site.host) ?? "",
  };
}

export function webClientPage(settings: WebClientSettings): string {
  const base = escapeHtml(settings.assetsPath);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(settings.title)}</title>
<link rel="icon" href="${base}/images/favicon.ico">
<link rel="stylesheet" href="${base}/converse.min.css">
<script id="natter-config" type="application/json">${jsonForScript(settings)}</script>
<script type="module" src="${base}/converse.min.js"></script>
<script type="module" src="${escapeHtml(settings.assetsPath.replace(/\/dist$/, ""))}/natter-client.js"></script>
</head>
<body class="converse-fullscreen">
<noscript>${escapeHtml(settings.title)} needs JavaScript.</noscript>
</body>
</html>
`;
}

/**
 * Only this server: scripts, styles, fonts, sounds and chunks from 'self'; the XMPP connection to the
 * WebSocket/BOSH origins; images also from data:/blob: (avatars, previews of files being sent).
 * 'wasm-unsafe-eval' lets OMEMO compile its crypto module (Converse's security guide); no 'unsafe-eval'.
 * Styles need 'unsafe-inline': Converse sets style attributes from its templates.
 */
export function webClientCsp(settings: WebClientSettings): string {
  const connect = new Set(["'self'"]);
  for (const url of [settings.websocketUrl, settings.boshUrl]) if (url) connect.add(new URL(url).origin);
  return [
    "default-src 'none'",
    "script-src 'self' 'wasm-unsafe-eval'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "media-src 'self' data: blob:",
    "font-src 'self'",
    `connect-src ${[...connect].join(" ")}`,
    "worker-src 'self'",
    "manifest-src 'self'",
    "form-action 'self'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/** Mounts /chat; returns the remover. */
export function mountWebClient(routes: HttpRoutes, options: WebClientOptions, log: Logger): () => void {
  const dist = new StaticDirectory(converseDistDirectory(), { maxAgeSeconds: ASSET_MAX_AGE_SECONDS });
  const handler = async (req: IncomingMessage, res: ServerResponse, info: HttpRequestInfo): Promise<void> => {
    if (info.path.startsWith("/dist/")) return dist.serve(req, res, info.path.slice("/dist".length));
    if (req.method !== "GET" && req.method !== "HEAD") {
      return sendText(res, 405, "method not allowed", { headers: { Allow: "GET, HEAD" } });
    }
    if (info.path === "/natter-client.js") return sendScript(req, res);
    if (info.path !== "" && info.path !== "/") return sendText(res, 404, "not found");
    const site = requestSite(req, info, options);
    if (!site) {
      log.debug({ host: req.headers.host }, "web client requested for a host not served here");
      return sendText(res, 404, "unknown host");
    }
    const httpsPort = options.httpsPort();
    if (!info.secure && options.publicUrl === "" && httpsPort !== undefined) {
      // A login page over plain HTTP would send the password in clear, and with c2s.require_encryption its
      // ws:// connection could not even authenticate: the same page on the HTTPS listener.
      const hostname = new URL(site.base).hostname;
      res.writeHead(308, { Location: `https://${hostname}:${httpsPort}${WEB_CLIENT_PATH}`, "Content-Length": 0 });
      res.end();
      return;
    }
    const settings = webClientSettings(site, options);
    const body = webClientPage(settings);
    res.writeHead(200, {
      "Content-Type": "text/html; charset=utf-8",
      "Content-Length": Buffer.byteLength(body),
      // The page names the host and its URLs: per Host, and fresh after a config change.
      "Cache-Control": "no-cache",
      Vary: "Host",
      "Content-Security-Policy": webClientCsp(settings),
      "X-Content-Type-Options": "nosniff",
      "Referrer-Policy": "no-referrer",
    });
    res.end(req.method === "HEAD" ? undefined : body);
  };
  return routes.route(WEB_CLIENT_PATH, handler);
}

function sendScript(req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(200, {
    "Content-Type": "text/javascript; charset=utf-8",
    "Content-Length": Buffer.byteLength(WEB_CLIENT_BOOT_SCRIPT),
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
  });
  res.end(req.method === "HEAD" ? undefined : WEB_CLIENT_BOOT_SCRIPT);
}
