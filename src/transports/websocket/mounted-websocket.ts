// The WebSocket endpoint as the running config wants it, remounted with new settings when a reload changes
// them (websocket.allowed_origins, see_other_uri, and c2s.max_stanza_size as the largest message). Remounting changes only the handshakes after it: ws does not close the
// connections of a WebSocketServer it closes (since ws 8), so streams already open go on as they were.
import type { Logger } from "pino";
import type { Config } from "../../core/config/index.js";
import type { StreamWire } from "../../stream/stream-wire.js";
import type { HttpRoutes } from "../../web/http-routes.js";
import { mountWebSocket, type WebSocketSettings } from "./websocket-listener.js";

function webSocketSettingsFrom(config: Config): WebSocketSettings | undefined {
  if (!config.websocket.enabled) return undefined;
  return {
    allowedOrigins: config.websocket.allowed_origins,
    seeOtherUri: config.websocket.see_other_uri,
    maxMessageBytes: config.c2s.max_stanza_size,
  };
}

export class MountedWebSocket {
  private settings: WebSocketSettings | undefined;
  private unmount: (() => void) | undefined;

  constructor(
    private readonly http: HttpRoutes,
    private readonly log: Logger,
    private readonly accept: (wire: StreamWire) => void,
  ) {}

  /** Mounts (or unmounts) the endpoint for `config`; says whether anything changed. */
  apply(config: Config): boolean {
    const next = webSocketSettingsFrom(config);
    if (JSON.stringify(next) === JSON.stringify(this.settings)) return false;
    this.unmount?.();
    this.unmount = next ? mountWebSocket(this.http, next, this.log, this.accept) : undefined;
    this.settings = next;
    return true;
  }
}
