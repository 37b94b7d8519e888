// The admin HTTP API's request and response shapes, as zod schemas: they validate every request and, through
// z.toJSONSchema, make the OpenAPI document (openapi.ts). One description of each shape, not two.
import { z } from "zod";
import { ADMIN_SCOPES } from "../types.js";

/** Free text an admin sends out (announcements, messages, the MOTD): bounded like a stanza's body. */
const text = (what: string, max = 16384) => z.string().min(1).max(max).describe(what);
const jid = z.string().min(3).max(3071).describe("A JID (RFC 7622)");

export const errorBody = z
  .object({
    error: z.enum([
      "bad-request",
      "unauthorized",
      "forbidden",
      "not-found",
      "conflict",
      "unsupported-media-type",
      "unavailable",
      "internal",
    ]),
    message: z.string(),
    issues: z.array(z.object({ path: z.array(z.union([z.string(), z.number()])), message: z.string() })).optional(),
  })
  .meta({ id: "Error" });

export const jidParam = z.object({ jid });
export const hostParam = z.object({ host: z.string().min(1).max(1023) });

export const userListQuery = (maxPageSize: number) =>
  z
    .object({
      host: z.string().min(1).max(1023).optional().describe("Default: the first host"),
      search: z.string().max(1023).optional().describe("Case-insensitive substring of the local part"),
      offset: z.coerce.number().int().min(0).default(0),
      limit: z.coerce.number().int().min(1).max(maxPageSize).default(Math.min(100, maxPageSize)),
    })
    .strict();

export const sessionsQuery = z.object({ jid: jid.optional() }).strict();
export const reasonQuery = z.object({ reason: z.string().max(1024).optional() }).strict();
export const roomsQuery = z.object({ domain: z.string().min(1).max(1023).optional() }).strict();
export const noQuery = z.object({}).strict();

export const createUserBody = z.object({ jid, password: z.string().min(1).max(1024) }).strict();
export const passwordBody = z.object({ password: z.string().min(1).max(1024) }).strict();
export const disabledBody = z.object({ disabled: z.boolean() }).strict();
export const announceBody = z
  .object({
    host: z.string().min(1).max(1023),
    body: text("The announcement"),
    subject: z.string().max(1024).optional(),
  })
  .strict();
export const messageBody = z.object({ to: jid, body: text("The message") }).strict();
export const motdBody = z.object({ body: text("The message of the day") }).strict();

const transport = z.enum(["tcp", "websocket", "bosh"]);

export const serverStatus = z
  .object({
    version: z.string(),
    startedAt: z.number(),
    uptimeSeconds: z.number(),
    hosts: z.array(z.string()),
    sessions: z.object({ total: z.number(), byTransport: z.record(transport, z.number()) }),
    s2s: z.object({ inbound: z.number(), outbound: z.number() }),
    rooms: z.number(),
    occupants: z.number(),
    memory: z.object({ rss: z.number(), heapUsed: z.number() }),
  })
  .meta({ id: "ServerStatus" });

export const statsSample = z
  .object({
    at: z.number(),
    sessions: z.number(),
    messagesPerSecond: z.number(),
    presencesPerSecond: z.number(),
    iqsPerSecond: z.number(),
    s2sLinks: z.number(),
  })
  .meta({ id: "StatsSample" });

export const userSummary = z
  .object({ jid: z.string(), disabled: z.boolean(), sessions: z.number() })
  .meta({ id: "UserSummary" });

export const userPage = z
  .object({ items: z.array(userSummary), total: z.number(), offset: z.number(), limit: z.number() })
  .meta({ id: "UserPage" });

export const sessionSummary = z
  .object({
    jid: z.string(),
    address: z.string(),
    transport,
    secure: z.boolean(),
    client: z.string().optional(),
    priority: z.number(),
    available: z.boolean(),
    streamManagement: z.enum(["off", "on", "detached"]),
    since: z.number(),
  })
  .meta({ id: "SessionSummary" });

export const clusterStatus = z
  .object({
    nodes: z.array(serverStatus.extend({ node: z.string() })),
    unanswered: z.array(z.string()),
    sessions: z.number(),
    rooms: z.number(),
    occupants: z.number(),
  })
  .meta({ id: "ClusterStatus" });

export const clusterSessions = z
  .object({ sessions: z.array(sessionSummary.extend({ node: z.string() })), unanswered: z.array(z.string()) })
  .meta({ id: "ClusterSessions" });

export const userDetail = userSummary
  .extend({
    resources: z.array(sessionSummary),
    lastLogout: z.object({ at: z.number(), status: z.string().optional() }).optional(),
  })
  .meta({ id: "UserDetail" });

export const rosterEntry = z
  .object({
    jid: z.string(),
    name: z.string().optional(),
    subscription: z.enum(["none", "to", "from", "both", "remove"]),
    ask: z.boolean().optional(),
    groups: z.array(z.string()),
  })
  .meta({ id: "RosterEntry" });

export const roomSummary = z
  .object({
    jid: z.string(),
    name: z.string().optional(),
    occupants: z.number(),
    persistent: z.boolean(),
    public: z.boolean(),
    membersOnly: z.boolean(),
    passwordProtected: z.boolean(),
  })
  .meta({ id: "RoomSummary" });

export const clusterRooms = z
  .object({ rooms: z.array(roomSummary.extend({ node: z.string() })), unanswered: z.array(z.string()) })
  .meta({ id: "ClusterRooms" });

export const roomDetail = roomSummary
  .extend({
    subject: z.string().optional(),
    occupantList: z.array(z.object({ nick: z.string(), role: z.string(), affiliation: z.string(), jid: z.string() })),
    config: z.record(z.string(), z.union([z.string(), z.array(z.string()), z.boolean()])),
  })
  .meta({ id: "RoomDetail" });

export const s2sLink = z
  .object({ local: z.string(), remote: z.string(), direction: z.enum(["in", "out"]), ready: z.boolean() })
  .meta({ id: "S2sLink" });

export const countBody = z.object({ count: z.number() });

/** XEP-0388 user agent ids as FAST binds tokens to them (fast-tokens.ts validAgentId). */
const clientId = z
  .string()
  .regex(/^[0-9a-fA-F-]{1,64}$/)
  .describe("An XEP-0388 user agent id");

export const fastRevokeQuery = z
  .object({ client: clientId.optional().describe("Only this client's tokens (default: all)") })
  .strict();

export const fastToken = z
  .object({
    client: clientId,
    software: z.string().optional(),
    device: z.string().optional(),
    mechanism: z.string().describe("The HT mechanism it works with (XEP-0484)"),
    issued: z.number().int().describe("ms since the epoch"),
    expiry: z.number().int().describe("ms since the epoch"),
  })
  .meta({ id: "FastToken" });
export const inviteTokenParam = z.object({ token: z.string().min(1).max(128) });
export const hostQuery = z
  .object({ host: z.string().min(1).max(1023).optional().describe("Default: the first host") })
  .strict();
export const createInviteBody = z
  .object({
    host: z.string().min(1).max(1023).optional().describe("Default: the first host"),
    username: z.string().min(1).max(1023).optional().describe("A username only this invitation may take"),
    ttl: z
      .number()
      .int()
      .min(60)
      .max(366 * 86400)
      .optional()
      .describe("Seconds it stays valid (default modules.invites.default_ttl)"),
    uses: z.number().int().min(1).max(10_000).optional().describe("Accounts it may create (default 1)"),
    contact: jid.optional().describe("XEP-0379: a local account the invitee gets subscribed with"),
  })
  .strict();
export const invitation = z
  .object({
    token: z.string(),
    link: z.string().describe("The landing page to send to the invitee"),
    uri: z.string().describe("The xmpp: URI (XEP-0401) a client opens"),
    inviter: z.string().describe('A bare JID, or "admin"'),
    username: z.string().optional(),
    usesLeft: z.number().int(),
    created: z.number().int().describe("ms since the epoch"),
    expires: z.number().int().describe("ms since the epoch"),
  })
  .meta({ id: "Invitation" });

export const spamReports = z
  .object({
    jids: z.array(
      z.object({
        jid: z.string(),
        reports: z.number().int().describe("Distinct users who reported it"),
        spam: z.number().int(),
        abuse: z.number().int(),
        last: z.number().int().describe("ms since the epoch"),
      }),
    ),
    domains: z.array(z.object({ domain: z.string(), reports: z.number().int() })),
  })
  .meta({ id: "SpamReports" });

export const motdResponse = z.object({ body: z.string() });
export const reloadResult = z.union([
  z.object({ ok: z.literal(true), changes: z.array(z.string()) }),
  z.object({ ok: z.literal(false), error: z.string() }),
]);

export const scopeEnum = z.enum(ADMIN_SCOPES);
