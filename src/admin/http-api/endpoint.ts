// One admin API endpoint: its method and path, the scope it needs, the zod schemas of its path parameters,
// query and body (validated before the handler runs) and of its answer (for the OpenAPI document).
import type { z } from "zod";
import type { AdminPrincipal, AdminScope } from "../types.js";

export type HttpMethod = "GET" | "POST" | "PUT" | "DELETE";

export interface EndpointReply {
  status: number;
  body?: unknown;
}

export interface EndpointInput<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  principal: AdminPrincipal;
}

export interface Endpoint<P = unknown, Q = unknown, B = unknown> {
  method: HttpMethod;
  /** With `{name}` segments, e.g. "/users/{jid}". */
  path: string;
  summary: string;
  scope: AdminScope;
  params?: z.ZodType<P>;
  query?: z.ZodType<Q>;
  body?: z.ZodType<B>;
  /** The success answer: its status and, when it has a body, the body's schema. */
  response: { status: number; description: string; schema?: z.ZodType };
  /** The path parameter to name in the log line of a mutating call (never a body field: it may be secret). */
  logTarget?: keyof P & string;
  handle(input: EndpointInput<P, Q, B>): Promise<EndpointReply>;
}

/** Keeps the parameter, query and body types of one endpoint together (inferred from its schemas). */
export function endpoint<P = Record<string, never>, Q = Record<string, never>, B = undefined>(def: Endpoint<P, Q, B>): Endpoint {
  return def as unknown as Endpoint;
}
