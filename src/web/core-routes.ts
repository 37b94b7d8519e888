// The HTTP routes Natter's core serves itself (not a module's): XEP-0156 discovery and the web client.
// The WebSocket and BOSH endpoints they point at are mounted by their transports.
import type { Logger } from "pino";
import { type Config, isModuleEnabled, validateModuleOptions } from "../core/config/index.js";
import { mucOptions } from "../modules/muc/options.js";
import { mountHostMeta } from "./host-meta.js";
import type { HttpRoutes } from "./http-routes.js";
import type { HttpServer } from "./http-server.js";
import { mountWebClient } from "./web-client.js";

/** Mounts the routes; returns one remover for all of them. */
export function mountCoreWebRoutes(routes: HttpRoutes & Pick<HttpServer, "ports">, config: Config, log: Logger): () => void {
  const site = { hosts: config.hosts, publicUrl: config.listeners.http.public_url };
  const transports = { websocket: config.websocket.enabled, bosh: config.bosh.enabled };
  const removers = [mountHostMeta(routes, { ...site, ...transports }, log)];
  if (config.web_client.enabled) {
    if (!transports.websocket && !transports.bosh) {
      log.warn("web_client is enabled but websocket and bosh are both off: the page at /chat cannot connect");
    }
    // The MUC module's own rule for its domain (modules/muc/index.ts), so "join a room" needs no domain typed.
    const muc = isModuleEnabled(config, "muc") ? validateModuleOptions(config, "muc", mucOptions) : undefined;
    const mucDomain = (host: string) => (muc ? (muc.domain ?? `conference.${host}`) : undefined);
    const options = { ...site, ...transports, title: config.web_client.title, mucDomain, httpsPort: () => routes.ports.https };
    try {
      removers.push(mountWebClient(routes, options, log));
    } catch (err) {
      // A broken install (converse.js missing from node_modules) costs the web client, not the server.
      log.error({ err }, "web client not served: its files (npm package converse.js) were not found");
    }
  }
  return () => {
    for (const remove of removers) remove();
  };
}
