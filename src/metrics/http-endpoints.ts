// The operational HTTP endpoints: /metrics (Prometheus text format 0.0.4) for the addresses in
// metrics.allowed_addresses only, and /healthz and /readyz for load balancers, open to all (they say nothing
// beyond "up" and "ready").
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import type { AddressList } from "../core/address-list.js";
import { type HttpRequestInfo, type HttpRoutes, sendText } from "../web/http-routes.js";
import type { Readiness } from "./readiness.js";
import type { ServerMetrics } from "./server-metrics.js";

export interface OperationalEndpoints {
  /** Absent when metrics.enabled is false (then /metrics is not served at all: 404). */
  metrics?: { registry: ServerMetrics; allowed: AddressList };
  readiness: Readiness;
  log: Logger;
}

const NO_STORE = { "Cache-Control": "no-store" };

/**
 * The exact path only (a route serves everything below its prefix) and GET or HEAD only; otherwise answers and
 * returns false.
 */
function plainGet(req: IncomingMessage, res: ServerResponse, info: HttpRequestInfo): boolean {
  if (info.path !== "") {
    sendText(res, 404, "not found");
    return false;
  }
  if (req.method !== "GET" && req.method !== "HEAD") {
    sendText(res, 405, "method not allowed", { headers: { Allow: "GET, HEAD" } });
    return false;
  }
  return true;
}

/** Mounts the endpoints; returns one remover for all of them. */
export function mountOperationalEndpoints(routes: HttpRoutes, endpoints: OperationalEndpoints): () => void {
  const { metrics, readiness, log } = endpoints;
  const removers: (() => void)[] = [];

  // Liveness: the process serves HTTP, nothing more is asked.
  removers.push(
    routes.route("/healthz", (req, res, info) => {
      if (plainGet(req, res, info)) sendText(res, 200, "ok", { headers: NO_STORE });
    }),
  );

  removers.push(
    routes.route("/readyz", async (req, res, info) => {
      if (!plainGet(req, res, info)) return;
      const answer = await readiness.check();
      if (answer.ready) sendText(res, 200, "ready", { headers: NO_STORE });
      else
        sendText(res, 503, `not ready: ${answer.reason ?? "unknown"}`, {
          headers: { ...NO_STORE, "Retry-After": "5" },
        });
    }),
  );

  if (metrics) {
    removers.push(
      routes.route("/metrics", async (req, res, info) => {
        const ip = req.socket.remoteAddress ?? "";
        if (!metrics.allowed.has(ip)) {
          // Debug only: anyone can knock, and a line per knock would let them fill the log.
          log.debug({ ip }, "metrics scrape refused: address not in metrics.allowed_addresses");
          return sendText(res, 403, "forbidden");
        }
        if (!plainGet(req, res, info)) return;
        const body = await metrics.registry.text();
        res.statusCode = 200;
        res.setHeader("Content-Type", metrics.registry.contentType);
        res.setHeader("Content-Length", Buffer.byteLength(body));
        res.setHeader("Cache-Control", "no-store");
        res.setHeader("X-Content-Type-Options", "nosniff");
        res.end(req.method === "HEAD" ? undefined : body);
      }),
    );
  }

  return () => {
    for (const remove of removers) remove();
  };
}
