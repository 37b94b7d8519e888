// The OpenAPI 3.1 document of the admin API, generated from the endpoints' own zod schemas (z.toJSONSchema:
// JSON Schema 2020-12, which OpenAPI 3.1 uses as is), so it cannot drift from what the API validates.
import { z } from "zod";
import type { Endpoint } from "./endpoint.js";
import { errorBody } from "./schemas.js";

type JsonSchema = Record<string, unknown>;

function schemaOf(type: z.ZodType, io: "input" | "output"): JsonSchema {
  const { $schema: _ignored, ...schema } = z.toJSONSchema(type, { io, unrepresentable: "any" }) as JsonSchema;
  return schema;
}

/** The query or path parameters of a z.object schema as OpenAPI parameter objects. */
function parameters(schema: z.ZodType | undefined, where: "query" | "path"): unknown[] {
  if (!schema) return [];
  const json = schemaOf(schema, "input") as { properties?: Record<string, JsonSchema>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, property]) => ({
    name,
    in: where,
    required: where === "path" || (json.required ?? []).includes(name),
    ...(typeof property.description === "string" ? { description: property.description } : {}),
    schema: property,
  }));
}

const errorResponses = {
  "400": "Malformed request (the zod issues say what)",
  "401": "No valid credentials",
  "403": "Address not allowed, scope missing, or CSRF token missing",
  "404": "No such thing",
  "409": "Conflict",
};

export function openApiDocument(endpoints: readonly Endpoint[], version: string, basePath: string): unknown {
  const paths: Record<string, Record<string, unknown>> = {};
  const error = { content: { "application/json": { schema: schemaOf(errorBody, "output") } } };
  for (const e of endpoints) {
    const { status, description, schema } = e.response;
    const operation = {
      summary: e.summary,
      operationId: `${e.method.toLowerCase()}${e.path.replace(/\{(\w+)\}/g, "By_$1").replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ?? "").toUpperCase())}`,
      "x-scope": e.scope,
      security: [{ bearer: [] }],
      parameters: [...parameters(e.params, "path"), ...parameters(e.query, "query")],
      ...(e.body ? { requestBody: { required: true, content: { "application/json": { schema: schemaOf(e.body, "input") } } } } : {}),
      responses: {
        [String(status)]: { description, ...(schema ? { content: { "application/json": { schema: schemaOf(schema, "output") } } } : {}) },
        ...Object.fromEntries(Object.entries(errorResponses).map(([code, text]) => [code, { description: text, ...error }])),
      },
    };
    (paths[e.path] ??= {})[e.method.toLowerCase()] = operation;
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Natter admin API",
      version,
      description: "Administration of a Natter XMPP server. Authenticate with `Authorization: Bearer <token>` (`natter token create`).",
    },
    servers: [{ url: basePath }],
    components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
    paths,
  };
}
