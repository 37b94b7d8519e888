// Puts BOSH (XEP-0124 / XEP-0206) at /http-bind on Natter's HTTP server, from the `bosh` config section.
import type { Logger } from "pino";
import type { Config } from "../../core/config/index.js";
import type { StreamWire } from "../../stream/stream-wire.js";
import type { HttpRoutes } from "../../web/http-routes.js";
import { boshHandler } from "./bosh-handler.js";
import { BoshSessions } from "./bosh-sessions.js";

export const BOSH_PATH = "/http-bind";

export interface MountedBosh {
  sessions: BoshSessions;
  /** Unmounts the route and ends every session. */
  close(): void;
}

export function mountBosh(
  http: HttpRoutes,
  config: Config,
  accept: (wire: StreamWire) => void,
  log: Logger,
): MountedBosh | undefined {
  const bosh = config.bosh;
  if (!bosh.enabled) return undefined;
  const sessions = new BoshSessions(
    {
      maxWait: bosh.max_wait,
      maxHold: bosh.max_hold,
      maxRequests: bosh.max_requests,
      inactivity: bosh.inactivity,
      maxPause: bosh.max_pause,
      polling: bosh.polling,
      maxQueuedBytes: bosh.max_queued_bytes,
      maxResponseBytes: bosh.max_body_bytes,
    },
    { maxSessions: bosh.max_sessions, maxSessionsPerAddress: bosh.max_sessions_per_address },
    log,
  );
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
  const remove = http.route(BOSH_PATH, handler, { maxBodyBytes: bosh.max_body_bytes });
  return {
    sessions,
    close() {
      remove();
      sessions.closeAll();
    },
  };
}
