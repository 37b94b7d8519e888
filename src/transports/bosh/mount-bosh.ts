// Puts BOSH (XEP-0124 / XEP-0206) at /http-bind on Natter's HTTP server, from the `bosh` config section.
import type { Logger } from "pino";
import type { Config } from "../../core/config/index.js";
import type { StreamWire } from "../../stream/stream-wire.js";
import type { HttpRoutes } from "../../web/http-routes.js";
import { boshHandler } from "./bosh-handler.js";
import type { BoshSettings } from "./bosh-session.js";
import { type BoshSessionLimits, BoshSessions } from "./bosh-sessions.js";

export const BOSH_PATH = "/http-bind";

export interface MountedBosh {
  sessions: BoshSessions;
  /**
   * A reload's bosh settings (all but `enabled`) and hosts: new sessions and requests take them; a session
   * keeps the wait, hold, inactivity and queue limits it was created with (they were agreed with its client).
   */
  reconfigure(config: Config): void;
  /** Unmounts the route and ends every session. */
  close(): void;
}

function sessionSettingsFrom(bosh: Config["bosh"]): BoshSettings {
  return {
    maxWait: bosh.max_wait,
    maxHold: bosh.max_hold,
    maxRequests: bosh.max_requests,
    inactivity: bosh.inactivity,
    maxPause: bosh.max_pause,
    polling: bosh.polling,
    maxQueuedBytes: bosh.max_queued_bytes,
    maxResponseBytes: bosh.max_body_bytes,
  };
}

function sessionLimitsFrom(bosh: Config["bosh"]): BoshSessionLimits {
  return { maxSessions: bosh.max_sessions, maxSessionsPerAddress: bosh.max_sessions_per_address };
}

export function mountBosh(
  http: HttpRoutes,
  config: Config,
  accept: (wire: StreamWire) => void,
  log: Logger,
): MountedBosh | undefined {
  if (!config.bosh.enabled) return undefined;
  const sessions = new BoshSessions(sessionSettingsFrom(config.bosh), sessionLimitsFrom(config.bosh), log);
  // The route is remounted with each config; the sessions (and so every open BOSH stream) stay.
  const route = (config: Config) => {
    const bosh = config.bosh;
    const handler = boshHandler({
      sessions,
      allowedOrigins: bosh.allowed_origins,
      maxBodyBytes: bosh.max_body_bytes,
      // The wrapper as a whole: its bytes, one more level than a stanza, the stanza's attribute cap.
      wrapperLimits: {
        maxStanzaBytes: bosh.max_body_bytes,
        maxDepth: config.c2s.max_depth + 1,
        maxAttributes: config.c2s.max_attributes_per_element,
      },
      hosts: new Set(config.hosts),
      accept,
      log,
    });
    return http.route(BOSH_PATH, handler, { maxBodyBytes: bosh.max_body_bytes });
  };
  let remove = route(config);
  return {
    sessions,
    reconfigure(config) {
      sessions.reconfigure(sessionSettingsFrom(config.bosh), sessionLimitsFrom(config.bosh));
      remove();
      remove = route(config);
    },
    close() {
      remove();
      sessions.closeAll();
    },
  };
}
