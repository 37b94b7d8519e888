// Every endpoint of the admin HTTP API (docs/admin-api.md): each validates its input with the schemas of
// schemas.ts and calls one AdminOperations method; the rules are the operations' own.
import { z } from "zod";
import { AdminError, type AdminOperations } from "../types.js";
import { type Endpoint, endpoint } from "./endpoint.js";
import * as s from "./schemas.js";

export interface EndpointOptions {
  maxPageSize: number;
  /** The host of GET /users without ?host=. */
  defaultHost: string;
}

const noContent = { status: 204, description: "Done" };

export function adminEndpoints(admin: AdminOperations, options: EndpointOptions): Endpoint[] {
  return [
    endpoint({
      method: "GET",
      path: "/status",
      summary: "Server status: sessions, s2s links, rooms, memory",
      scope: "server:read",
      response: { status: 200, description: "The status", schema: s.serverStatus },
      handle: async () => ({ status: 200, body: admin.status() }),
    }),
    endpoint({
      method: "GET",
      path: "/stats/history",
      summary: "The last hour of counters, one sample a minute, oldest first",
      scope: "server:read",
      response: { status: 200, description: "Samples", schema: z.array(s.statsSample) },
      handle: async () => ({ status: 200, body: admin.history() }),
    }),
    endpoint({
      method: "GET",
      path: "/users",
      summary: "Accounts of a host, a page at a time",
      scope: "users:read",
      query: s.userListQuery(options.maxPageSize),
      response: { status: 200, description: "A page of accounts", schema: s.userPage },
      handle: async ({ query }) => ({
        status: 200,
        body: await admin.listUsers({
          host: query.host ?? options.defaultHost,
          offset: query.offset,
          limit: query.limit,
          ...(query.search ? { search: query.search } : {}),
        }),
      }),
    }),
    endpoint({
      method: "POST",
      path: "/users",
      summary: "Create an account",
      scope: "users:write",
      body: s.createUserBody,
      response: { status: 201, description: "Created", schema: s.userSummary },
      handle: async ({ body }) => {
        await admin.createUser(body.jid, body.password);
        return { status: 201, body: await admin.user(body.jid) };
      },
    }),
    endpoint({
      method: "GET",
      path: "/users/{jid}",
      summary: "One account: whether disabled, its sessions, its last logout",
      scope: "users:read",
      params: s.jidParam,
      response: { status: 200, description: "The account", schema: s.userDetail },
      handle: async ({ params }) => {
        const user = await admin.user(params.jid);
        const lastLogout = await admin.lastLogout(user.jid);
        return {
          status: 200,
          body: { ...user, resources: admin.sessions(user.jid), ...(lastLogout ? { lastLogout } : {}) },
        };
      },
    }),
    endpoint({
      method: "DELETE",
      path: "/users/{jid}",
      summary: "Delete an account and all its data; its sessions end",
      scope: "users:write",
      params: s.jidParam,
      logTarget: "jid",
      response: noContent,
      handle: async ({ params }) => {
        await admin.deleteUser(params.jid);
        return { status: 204 };
      },
    }),
    endpoint({
      method: "PUT",
      path: "/users/{jid}/password",
      summary: "Set an account's password",
      scope: "users:write",
      params: s.jidParam,
      body: s.passwordBody,
      logTarget: "jid",
      response: noContent,
      handle: async ({ params, body }) => {
        await admin.setPassword(params.jid, body.password);
        return { status: 204 };
      },
    }),
    endpoint({
      method: "PUT",
      path: "/users/{jid}/disabled",
      summary: "Disable an account (its sessions end, logins are refused) or enable it again",
      scope: "users:write",
      params: s.jidParam,
      body: s.disabledBody,
      logTarget: "jid",
      response: noContent,
      handle: async ({ params, body }) => {
        await admin.setUserDisabled(params.jid, body.disabled);
        return { status: 204 };
      },
    }),
    endpoint({
      method: "GET",
      path: "/users/{jid}/roster",
      summary: "An account's roster",
      scope: "users:read",
      params: s.jidParam,
      response: { status: 200, description: "Roster items", schema: z.array(s.rosterEntry) },
      handle: async ({ params }) => ({ status: 200, body: await admin.userRoster(params.jid) }),
    }),
    endpoint({
      method: "GET",
      path: "/users/{jid}/fast-tokens",
      summary: "An account's FAST tokens (XEP-0484): the clients holding them, never the tokens",
      scope: "users:read",
      params: s.jidParam,
      response: { status: 200, description: "Tokens", schema: z.array(s.fastToken) },
      handle: async ({ params }) => ({ status: 200, body: await admin.fastTokens(params.jid) }),
    }),
    endpoint({
      method: "DELETE",
      path: "/users/{jid}/fast-tokens",
      summary: "Revoke an account's FAST tokens, all or one client's; refused at the next login, at once",
      scope: "users:write",
      params: s.jidParam,
      query: s.fastRevokeQuery,
      logTarget: "jid",
      response: { status: 200, description: "How many tokens were revoked", schema: s.countBody },
      handle: async ({ params, query }) => {
        const count = await admin.revokeFastTokens(params.jid, query.client);
        if (count === 0 && query.client !== undefined)
          throw new AdminError("not-found", `${params.jid} has no token of client ${query.client}`);
        return { status: 200, body: { count } };
      },
    }),
    endpoint({
      method: "GET",
      path: "/sessions",
      summary: "Client sessions, all or of one bare or full JID",
      scope: "sessions:read",
      query: s.sessionsQuery,
      response: { status: 200, description: "Sessions", schema: z.array(s.sessionSummary) },
      handle: async ({ query }) => ({ status: 200, body: admin.sessions(query.jid) }),
    }),
    endpoint({
      method: "GET",
      path: "/cluster/status",
      summary: "Status of every cluster node (this server alone when not clustered); silent nodes are named",
      scope: "server:read",
      response: { status: 200, description: "Each node's status and the sums", schema: s.clusterStatus },
      handle: async () => ({ status: 200, body: await admin.clusterStatus() }),
    }),
    endpoint({
      method: "GET",
      path: "/cluster/sessions",
      summary: "Client sessions on every cluster node, all or of one bare or full JID, each with its node",
      scope: "sessions:read",
      query: s.sessionsQuery,
      response: { status: 200, description: "Sessions and the nodes that did not answer", schema: s.clusterSessions },
      handle: async ({ query }) => ({ status: 200, body: await admin.clusterSessions(query.jid) }),
    }),
    endpoint({
      method: "DELETE",
      path: "/sessions/{jid}",
      summary: "End the sessions of a bare JID (all) or a full JID (one)",
      scope: "sessions:write",
      params: s.jidParam,
      query: s.reasonQuery,
      logTarget: "jid",
      response: { status: 200, description: "How many sessions ended", schema: s.countBody },
      handle: async ({ params, query }) => {
        const count = admin.kick(params.jid, query.reason);
        if (count === 0) throw new AdminError("not-found", `${params.jid} has no session`);
        return { status: 200, body: { count } };
      },
    }),
    endpoint({
      method: "GET",
      path: "/cluster/rooms",
      summary: "MUC rooms on every cluster node, of every service or of one domain, each with its node",
      scope: "rooms:read",
      query: s.roomsQuery,
      response: { status: 200, description: "Rooms and the nodes that did not answer", schema: s.clusterRooms },
      handle: async ({ query }) => ({ status: 200, body: await admin.clusterRooms(query.domain) }),
    }),
    endpoint({
      method: "GET",
      path: "/rooms",
      summary: "MUC rooms, of every service or of one domain",
      scope: "rooms:read",
      query: s.roomsQuery,
      response: { status: 200, description: "Rooms", schema: z.array(s.roomSummary) },
      handle: async ({ query }) => ({ status: 200, body: admin.rooms(query.domain) }),
    }),
    endpoint({
      method: "GET",
      path: "/rooms/{jid}",
      summary: "One room: occupants (with real JIDs), subject, configuration",
      scope: "rooms:read",
      params: s.jidParam,
      response: { status: 200, description: "The room", schema: s.roomDetail },
      handle: async ({ params }) => {
        const room = admin.room(params.jid);
        if (!room) throw new AdminError("not-found", `there is no room ${params.jid}`);
        return { status: 200, body: room };
      },
    }),
    endpoint({
      method: "DELETE",
      path: "/rooms/{jid}",
      summary: "Destroy a room (XEP-0045 §10.9): occupants are told, with the reason",
      scope: "rooms:write",
      params: s.jidParam,
      query: s.reasonQuery,
      logTarget: "jid",
      response: noContent,
      handle: async ({ params, query }) => {
        if (!(await admin.destroyRoom(params.jid, query.reason)))
          throw new AdminError("not-found", `there is no room ${params.jid}`);
        return { status: 204 };
      },
    }),
    endpoint({
      method: "GET",
      path: "/s2s",
      summary: "Server-to-server links",
      scope: "server:read",
      response: { status: 200, description: "Links", schema: z.array(s.s2sLink) },
      handle: async () => ({ status: 200, body: admin.s2sLinks() }),
    }),
    endpoint({
      method: "POST",
      path: "/announce",
      summary: "A headline message to every online user of a host (XEP-0133 §4.23)",
      scope: "server:write",
      body: s.announceBody,
      response: { status: 200, description: "How many sessions got it", schema: s.countBody },
      handle: async ({ body }) => ({
        status: 200,
        body: { count: await admin.announce(body.host, body.body, body.subject) },
      }),
    }),
    endpoint({
      method: "POST",
      path: "/messages",
      summary: "A chat message from the server (send.from) to a JID, as `natter send`",
      scope: "server:write",
      body: s.messageBody,
      response: { status: 202, description: "Sent" },
      handle: async ({ body }) => {
        await admin.sendMessage(body.to, body.body);
        return { status: 202 };
      },
    }),
    endpoint({
      method: "POST",
      path: "/invites",
      summary: "Create an invitation to make an account on a host (XEP-0401); answers its link",
      scope: "users:write",
      body: s.createInviteBody,
      response: { status: 201, description: "Created", schema: s.invitation },
      handle: async ({ body }) => {
        const { host, ...spec } = body;
        return { status: 201, body: await admin.createInvitation(host ?? options.defaultHost, spec) };
      },
    }),
    endpoint({
      method: "GET",
      path: "/invites",
      summary: "A host's outstanding invitations",
      scope: "users:read",
      query: s.hostQuery,
      response: { status: 200, description: "Invitations, oldest first", schema: z.array(s.invitation) },
      handle: async ({ query }) => ({ status: 200, body: await admin.invitations(query.host ?? options.defaultHost) }),
    }),
    endpoint({
      method: "DELETE",
      path: "/invites/{token}",
      summary: "Revoke an invitation",
      scope: "users:write",
      params: s.inviteTokenParam,
      query: s.hostQuery,
      response: noContent,
      handle: async ({ params, query }) => {
        await admin.revokeInvitation(query.host ?? options.defaultHost, params.token);
        return { status: 204 };
      },
    }),
    endpoint({
      method: "GET",
      path: "/spam-reports",
      summary: "XEP-0377 spam reports received on a host, per reported JID and per domain, most reported first",
      scope: "users:read",
      query: s.hostQuery,
      response: { status: 200, description: "Reported JIDs and domains", schema: s.spamReports },
      handle: async ({ query }) => ({ status: 200, body: await admin.spamReports(query.host ?? options.defaultHost) }),
    }),
    endpoint({
      method: "GET",
      path: "/motd/{host}",
      summary: "A host's message of the day",
      scope: "server:read",
      params: s.hostParam,
      response: { status: 200, description: "The message of the day", schema: s.motdResponse },
      handle: async ({ params }) => {
        const body = await admin.motd(params.host);
        if (body === undefined) throw new AdminError("not-found", `${params.host} has no message of the day`);
        return { status: 200, body: { body } };
      },
    }),
    endpoint({
      method: "PUT",
      path: "/motd/{host}",
      summary: "Set the message of the day: sent to online users now, to the others at login",
      scope: "server:write",
      params: s.hostParam,
      body: s.motdBody,
      logTarget: "host",
      response: noContent,
      handle: async ({ params, body }) => {
        await admin.setMotd(params.host, body.body);
        return { status: 204 };
      },
    }),
    endpoint({
      method: "DELETE",
      path: "/motd/{host}",
      summary: "Delete the message of the day",
      scope: "server:write",
      params: s.hostParam,
      logTarget: "host",
      response: noContent,
      handle: async ({ params }) => {
        await admin.setMotd(params.host, undefined);
        return { status: 204 };
      },
    }),
    endpoint({
      method: "POST",
      path: "/reload",
      summary: "Re-read the config file and apply it without dropping a session",
      scope: "server:write",
      response: { status: 200, description: "Applied (or refused: 409 with the error)", schema: s.reloadResult },
      handle: async () => {
        const result = await admin.reload();
        if (!result.ok && result.error === "reload is not available") throw new AdminError("unavailable", result.error);
        return { status: result.ok ? 200 : 409, body: result };
      },
    }),
  ];
}
