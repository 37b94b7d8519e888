// A reload's changes to client connections (c2s.*, auth.*, unauthenticated.*, websocket.*, bosh.*,
// hide_account_existence, event_loop). New connections and logins take the new settings; a stream already open keeps
// those it started with (its parser limits, timeouts and mechanisms were announced or agreed), except its
// input rate limits, which are a policy on what it sends from now on and change at once.
import type { Config } from "../core/config/index.js";
import type { C2sStream } from "../stream/c2s-stream.js";
import { configureInboundBudget } from "../stream/inbound-queue.js";
import type { MountedBosh } from "../transports/bosh/mount-bosh.js";
import type { ClientSettings } from "../transports/client-settings.js";
import type { MountedWebSocket } from "../transports/websocket/mounted-websocket.js";
import { sameValue } from "./config-changes.js";

export interface ClientReloadTarget {
  settings: ClientSettings;
  webSocket: MountedWebSocket;
  /** Absent when bosh.enabled is false. */
  bosh: MountedBosh | undefined;
  /** The client streams open now (TCP, WebSocket, BOSH). */
  streams: Iterable<C2sStream>;
}

/** Applies the changed client settings; one line per changed section. */
export function applyClientSettings(t: ClientReloadTarget, running: Config, next: Config): string[] {
  const changes: string[] = [];
  const changed = (
    key: "c2s" | "auth" | "unauthenticated" | "bosh" | "hosts" | "hide_account_existence" | "event_loop",
  ) => !sameValue(running[key], next[key]);
  if (changed("c2s") || changed("auth") || changed("unauthenticated")) t.settings.apply(next);
  if (changed("c2s")) {
    changes.push("c2s: new settings for new connections");
    if (!sameValue(running.c2s.rate_limits, next.c2s.rate_limits)) {
      for (const stream of t.streams) stream.setRateLimits(next.c2s.rate_limits);
      changes.push("c2s.rate_limits: applied to every open client stream");
    }
  }
  if (changed("auth")) changes.push("auth: new throttle and SCRAM settings for new logins and passwords");
  if (changed("unauthenticated")) changes.push("unauthenticated: new caps for new connections");
  if (t.webSocket.apply(next)) changes.push("websocket: new settings for new WebSocket connections");
  // BOSH's request wrapper is held to the c2s element caps, and a creation request names a host.
  if (t.bosh && (changed("bosh") || changed("c2s") || changed("hosts"))) {
    t.bosh.reconfigure(next);
    if (changed("bosh")) changes.push("bosh: new settings for new sessions and requests");
  }
  if (changed("event_loop")) {
    configureInboundBudget(next.event_loop);
    changes.push("event_loop: new inbound budget per turn, at once");
  }
  if (changed("hide_account_existence")) changes.push(`hide_account_existence: now ${next.hide_account_existence}`);
  return changes;
}
