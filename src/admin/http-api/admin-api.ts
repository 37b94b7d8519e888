// The admin HTTP API under /admin/api (docs/admin-api.md): JSON in and out. For each request, in this order:
// the peer's address must be allowed (admin_api.allowed_addresses), an authenticator must know the caller
// (401), a console session must send its CSRF token on a change (403), the caller must hold the endpoint's
// scope (403), and the path, query and body must pass the endpoint's zod schemas (400). Every change is logged
// with who made it and what it touched, never with the request's body (passwords).
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import type { z } from "zod";
import { AddressList } from "../../core/address-list.js";
import { csrfRefusal } from "../csrf.js";
import { BodyTooLargeError, type HttpRoutes, readBody } from "../../web/http-routes.js";
import { AdminError, type AdminAuthenticator, type AdminOperations, type AdminPrincipal } from "../types.js";
import type { Endpoint, HttpMethod } from "./endpoint.js";
import { adminEndpoints } from "./endpoints.js";
import { openApiDocument } from "./openapi.js";
import { noQuery } from "./schemas.js";

export const ADMIN_API_PREFIX = "/admin/api";

export interface AdminApiOptions {
  allowedAddresses: readonly string[];
  maxPageSize: number;
  maxBodyBytes: number;
  defaultHost: string;
  version: string;
}

type ErrorCode = "bad-request" | "unauthorized" | "forbidden" | "not-found" | "conflict" | "unsupported-media-type" | "unavailable" | "internal";

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly issues?: { path: PropertyKey[]; message: string }[],
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const ADMIN_ERROR_STATUS: Record<AdminError["code"], [number, ErrorCode]> = {
  "not-found": [404, "not-found"],
  conflict: [409, "conflict"],
  "bad-request": [400, "bad-request"],
  unavailable: [503, "unavailable"],
};

export class AdminHttpApi {
  private readonly authenticators: AdminAuthenticator[] = [];
  private readonly endpoints: Endpoint[];
  private readonly allowed: AddressList;
  private readonly openApi: string;
  private remove: (() => void) | undefined;

  constructor(
    admin: AdminOperations,
    private readonly options: AdminApiOptions,
    private readonly log: Logger,
  ) {
    this.endpoints = adminEndpoints(admin, options);
    this.allowed = new AddressList(options.allowedAddresses);
    this.openApi = JSON.stringify(openApiDocument(this.endpoints, options.version, ADMIN_API_PREFIX));
  }

  /** Adds a way to authenticate (API tokens, the console's session cookie); returns the remover. */
  addAuthenticator(authenticator: AdminAuthenticator): () => void {
    this.authenticators.push(authenticator);
    return () => {
      const i = this.authenticators.indexOf(authenticator);
      if (i !== -1) this.authenticators.splice(i, 1);
    };
  }

  mount(routes: HttpRoutes): void {
    this.remove = routes.route(ADMIN_API_PREFIX, (req, res, info) => this.serve(req, res, info.path, info.url), { maxBodyBytes: this.options.maxBodyBytes });
  }

  unmount(): void {
    this.remove?.();
    this.remove = undefined;
  }

  private async serve(req: IncomingMessage, res: ServerResponse, path: string, url: URL): Promise<void> {
    const address = req.socket.remoteAddress ?? "";
    let principal: AdminPrincipal | undefined;
    let endpoint: Endpoint | undefined;
    /** The path parameters as sent, for the log line of a change (refused ones too). */
    let target: Record<string, string> = {};
    try {
      if (!this.allowed.has(address)) {
        // Debug only, as /metrics and the console do: anyone on the Internet can knock, and must not fill the log.
        this.log.debug({ ip: address, path }, "admin API request from an address not in admin_api.allowed_addresses");
        throw new ApiError(403, "forbidden", "the admin API is not open to this address");
      }
      if (path === "/openapi.json" && req.method === "GET") return send(res, 200, this.openApi);
      const match = this.match(req.method ?? "", path);
      endpoint = match.endpoint;
      target = match.params;
      principal = await this.authenticate(req, address);
      if (endpoint.method !== "GET") checkCsrf(req, principal);
      if (!principal.scopes.has(endpoint.scope)) throw new ApiError(403, "forbidden", `this needs the scope ${endpoint.scope}`);
      const params = validate(endpoint.params, match.params, "path");
      const query = validate(endpoint.query ?? noQuery, Object.fromEntries(url.searchParams), "query");
      const body = endpoint.body ? validate(endpoint.body, await readJson(req, this.options.maxBodyBytes), "body") : undefined;
      const reply = await endpoint.handle({ params, query, body, principal });
      if (endpoint.method !== "GET") this.logChange(principal, endpoint, target, reply.status);
      return send(res, reply.status, reply.body === undefined ? undefined : JSON.stringify(reply.body));
    } catch (err) {
      const apiError = toApiError(err);
      if (apiError.status === 500) this.log.error({ err, path, admin: principal?.name }, "admin API request failed");
      else if (principal && endpoint && endpoint.method !== "GET") this.logChange(principal, endpoint, target, apiError.status);
      // Refused reads of an authenticated caller (bad query, unknown JID); refusals before that logged already.
      else if (principal) this.log.info({ admin: principal.name, method: req.method, path, status: apiError.status, error: apiError.message }, "admin API request refused");
      const body = { error: apiError.code, message: apiError.message, ...(apiError.issues ? { issues: apiError.issues } : {}) };
      return send(res, apiError.status, JSON.stringify(body), apiError.headers);
    }
  }

  private match(method: string, path: string): { endpoint: Endpoint; params: Record<string, string> } {
    const segments = path.split("/").slice(1);
    const allowed: HttpMethod[] = [];
    for (const e of this.endpoints) {
      const params = matchPath(e.path, segments);
      if (!params) continue;
      if (e.method === method) return { endpoint: e, params };
      allowed.push(e.method);
    }
    if (allowed.length > 0) throw new ApiError(405, "bad-request", `${method} is not allowed here`, undefined, { Allow: allowed.join(", ") });
    throw new ApiError(404, "not-found", "no such endpoint (see /admin/api/openapi.json)");
  }

  private async authenticate(req: IncomingMessage, address: string): Promise<AdminPrincipal> {
    for (const authenticator of this.authenticators) {
      const principal = await authenticator.authenticate(req.headers, address);
      if (principal) return principal;
    }
    this.log.info({ ip: address, credentials: req.headers.authorization !== undefined || req.headers.cookie !== undefined }, "admin API request without valid credentials");
    throw new ApiError(401, "unauthorized", "valid credentials are needed (Authorization: Bearer <token>)", undefined, { "WWW-Authenticate": 'Bearer realm="natter-admin"' });
  }

  private logChange(principal: AdminPrincipal, endpoint: Endpoint, params: Record<string, string>, status: number): void {
    const target = endpoint.logTarget === undefined ? undefined : params[endpoint.logTarget];
    this.log.info({ admin: principal.name, op: `${endpoint.method} ${endpoint.path}`, ...(target !== undefined ? { target } : {}), status }, "admin API change");
  }
}

/** Segment by segment; `{name}` takes one percent-decoded segment. Undefined when the path is not this one. */
function matchPath(template: string, segments: string[]): Record<string, string> | undefined {
  const parts = template.split("/").slice(1);
  if (parts.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    const segment = segments[i]!;
    if (part.startsWith("{")) {
      if (segment === "") return undefined;
      try {
        params[part.slice(1, -1)] = decodeURIComponent(segment);
      } catch {
        throw new ApiError(400, "bad-request", "a path segment is not valid percent-encoding");
      }
    } else if (part !== segment) return undefined;
  }
  return params;
}

/** A console session (cookie) must prove a change comes from its own page (X-CSRF-Token); a bearer token needs not. */
function checkCsrf(req: IncomingMessage, principal: AdminPrincipal): void {
  const refusal = csrfRefusal(req.method, req.headers, principal);
  if (refusal) throw new ApiError(403, "forbidden", refusal);
}

function validate<T>(schema: z.ZodType<T> | undefined, value: unknown, where: string): T {
  if (!schema) return {} as T;
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.map((i) => ({ path: [where, ...i.path], message: i.message }));
  throw new ApiError(400, "bad-request", `invalid ${where}: ${issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`, issues);
}

async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const type = req.headers["content-type"] ?? "";
  if (!/^application\/json\s*(;|$)/i.test(type)) throw new ApiError(415, "unsupported-media-type", "send the body as application/json");
  const text = (await readBody(req, limit)).toString("utf8");
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ApiError(400, "bad-request", "the body is not valid JSON");
  }
}

function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof AdminError) {
    const [status, code] = ADMIN_ERROR_STATUS[err.code];
    return new ApiError(status, code, err.message);
  }
  if (err instanceof BodyTooLargeError) return new ApiError(413, "bad-request", err.message, undefined, { Connection: "close" });
  return new ApiError(500, "internal", "internal error");
}

function send(res: ServerResponse, status: number, json: string | undefined, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.statusCode = status;
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.setHeader("Cache-Control", "no-store");
  res.setHeader("X-Content-Type-Options", "nosniff");
  if (json !== undefined) {
    res.setHeader("Content-Type", "application/json; charset=utf-8");
    res.setHeader("Content-Length", Buffer.byteLength(json));
  }
  res.end(json);
}
