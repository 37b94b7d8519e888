// What an administrator can see and do on a running server, in one place (issue 14). Every front end calls
// these operations and none has rules of its own: the XEP-0133 ad-hoc commands (modules/admin-commands), the
// HTTP API under /admin/api (admin/http-api), the console at /admin, and the CLI through the control socket.
// `Administration` (admin/administration.ts) implements it over the server's core.

/** A bare or full JID in its string form, already validated by the front end's schema. */
export type JidText = string;

export type ClientTransport = "tcp" | "websocket" | "bosh";

export interface SessionSummary {
  /** Full JID. */
  jid: JidText;
  address: string;
  transport: ClientTransport;
  /** TLS (STARTTLS, direct TLS, wss or https). */
  secure: boolean;
  /** Client software when the session told us (XEP-0092 is not asked; caps node or SASL2 user agent). */
  client?: string;
  priority: number;
  available: boolean;
  /** "off": no XEP-0198; "on": enabled and attached; "detached": waiting for resumption. */
  streamManagement: "off" | "on" | "detached";
  /** When the resource was bound (ms since epoch). */
  since: number;
}

export interface UserSummary {
  jid: JidText;
  disabled: boolean;
  /** Connected resources now. */
  sessions: number;
}

export interface Page<T> {
  items: T[];
  /** How many match the query in all. */
  total: number;
  offset: number;
  limit: number;
}

export interface UserQuery {
  host: string;
  /** Case-insensitive substring of the local part. */
  search?: string;
  offset?: number;
  limit?: number;
}

export interface RosterEntry {
  jid: JidText;
  name?: string;
  subscription: "none" | "to" | "from" | "both" | "remove";
  ask?: boolean;
  groups: string[];
}

export interface RoomSummary {
  jid: JidText;
  name?: string;
  occupants: number;
  persistent: boolean;
  public: boolean;
  membersOnly: boolean;
  passwordProtected: boolean;
}

export interface RoomOccupant {
  nick: string;
  role: string;
  affiliation: string;
  /** Real full JID (an admin sees it whatever the room's anonymity). */
  jid: JidText;
}

export interface RoomDetail extends RoomSummary {
  subject?: string;
  occupantList: RoomOccupant[];
  /** The room's configuration as XEP-0045 muc#roomconfig field values. */
  config: Record<string, string | string[] | boolean>;
}

/** What a MUC service lets administration see and do; the muc module registers one per service domain. */
export interface RoomAdministration {
  readonly domain: string;
  list(): RoomSummary[];
  get(room: JidText): RoomDetail | undefined;
  /** XEP-0045 §10.9: occupants get the destroy presence with the reason. False when there is no such room. */
  destroy(room: JidText, reason?: string): Promise<boolean>;
}

export interface S2sLinkSummary {
  local: string;
  remote: string;
  direction: "in" | "out";
  ready: boolean;
}

export interface ServerStatus {
  version: string;
  startedAt: number;
  uptimeSeconds: number;
  hosts: string[];
  sessions: { total: number; byTransport: Record<ClientTransport, number> };
  s2s: { inbound: number; outbound: number };
  rooms: number;
  occupants: number;
  memory: { rss: number; heapUsed: number };
}

/** Every cluster node's status (issue 16); on a single node, its own alone. */
export interface ClusterStatus {
  /** Every live node's status, this one first; `node` names it ("" on a single node). */
  nodes: (ServerStatus & { node: string })[];
  /** Live nodes that did not answer within `cluster.admin_timeout`. */
  unanswered: string[];
  /** Sums over the nodes that answered. */
  sessions: number;
  rooms: number;
  occupants: number;
}

/** Client sessions over every cluster node, each with the node that holds it. */
export interface ClusterSessions {
  sessions: (SessionSummary & { node: string })[];
  unanswered: string[];
}

/** MUC rooms over every cluster node (each room lives on one node: src/modules/muc/cluster-placement.ts). */
export interface ClusterRooms {
  rooms: (RoomSummary & { node: string })[];
  unanswered: string[];
}

/** One sample of the counters the console charts (one per minute, the last hour kept). */
export interface StatsSample {
  at: number;
  sessions: number;
  /** Stanzas routed per second over the sample's minute, by kind. */
  messagesPerSecond: number;
  presencesPerSecond: number;
  iqsPerSecond: number;
  s2sLinks: number;
}

export type ReloadResult = { ok: true; changes: string[] } | { ok: false; error: string };

/** What an admin asks for in an invitation (XEP-0401 account invite). */
export interface InvitationSpec {
  /** A username only this invitation may take. */
  username?: string;
  /** Seconds it stays valid (default: modules.invites.default_ttl). */
  ttl?: number;
  /** Accounts it may create (default 1). */
  uses?: number;
  /** XEP-0379: a local account that the invitee gets subscribed with. */
  contact?: string;
}

/** XEP-0377 reports of a host (the spam-reporting module): per reported JID (distinct reporters) and per domain. */
export interface SpamReportListing {
  jids: { jid: string; reports: number; spam: number; abuse: number; last: number }[];
  domains: { domain: string; reports: number }[];
}

export interface InvitationSummary {
  token: string;
  /** The landing page to send to the invitee. */
  link: string;
  /** The xmpp: URI (XEP-0401 §3) a client opens. */
  uri: string;
  inviter: string;
  username?: string;
  usesLeft: number;
  created: number;
  expires: number;
}

export class AdminError extends Error {
  constructor(
    readonly code: "not-found" | "conflict" | "bad-request" | "unavailable",
    message: string,
  ) {
    super(message);
  }
}

/** An XEP-0484 FAST token as an administrator sees it: who holds it, never the token. */
export interface FastClientToken {
  /** The XEP-0388 user agent id it was issued to. */
  client: string;
  /** What that user agent said it is, when it did. */
  software?: string;
  device?: string;
  /** The HT mechanism it works with. */
  mechanism: string;
  /** Issued and expiry times (ms since epoch). */
  issued: number;
  expiry: number;
}

export interface AdminOperations {
  status(): ServerStatus;
  /** The last hour, oldest first. */
  history(): StatsSample[];

  listUsers(query: UserQuery): Promise<Page<UserSummary>>;
  /** One account; throws AdminError("not-found") when there is none. */
  user(jid: JidText): Promise<UserSummary>;
  /** Throws AdminError("conflict") when it exists, ("bad-request") for a name PRECIS refuses or a foreign host. */
  createUser(jid: JidText, password: string): Promise<void>;
  /** The account and all its data, with the account.deleted hook (MUC and PEP affiliations); ends its sessions. */
  deleteUser(jid: JidText): Promise<void>;
  /** A disabled account cannot log in (SASL `account-disabled`); its sessions end. */
  setUserDisabled(jid: JidText, disabled: boolean): Promise<void>;
  setPassword(jid: JidText, password: string): Promise<void>;
  userRoster(jid: JidText): Promise<RosterEntry[]>;
  /** The account's XEP-0484 FAST tokens (never the tokens themselves). */
  fastTokens(jid: JidText): Promise<FastClientToken[]>;
  /** Revokes the account's FAST tokens, all or one client's, at once; returns how many. */
  revokeFastTokens(jid: JidText, client?: string): Promise<number>;
  /** When the account last logged out (ms since epoch), and the status it left; undefined if never seen. */
  lastLogout(jid: JidText): Promise<{ at: number; status?: string } | undefined>;

  /** Every bound session, or those of one bare or full JID. */
  sessions(jid?: JidText): SessionSummary[];
  /** Status of every cluster node (this one alone when not clustered); nodes slower than the timeout are named. */
  clusterStatus(): Promise<ClusterStatus>;
  /** sessions() over every cluster node. Throws AdminError "busy" when too many such questions are in flight. */
  clusterSessions(jid?: JidText): Promise<ClusterSessions>;
  /** Ends sessions of a bare JID (all) or a full JID (one) with the given stream error; returns how many. */
  kick(jid: JidText, reason?: string): number;

  rooms(domain?: string): RoomSummary[];
  /** rooms() over every cluster node. Throws AdminError "busy" when too many such questions are in flight. */
  clusterRooms(domain?: string): Promise<ClusterRooms>;
  room(jid: JidText): RoomDetail | undefined;
  destroyRoom(jid: JidText, reason?: string): Promise<boolean>;

  s2sLinks(): S2sLinkSummary[];

  /** A message from the host to every online session of a host (XEP-0133 §4.23; type normal, as ejabberd sends it). Returns how many got it. */
  announce(host: string, body: string, subject?: string): Promise<number>;
  /** A chat message from the host (or `send.from`) to one JID, as `natter send` does. */
  sendMessage(to: JidText, body: string): Promise<void>;
  motd(host: string): Promise<string | undefined>;
  /** Sets the message of the day (sent to online users now and to others at login); undefined deletes it. */
  setMotd(host: string, body: string | undefined): Promise<void>;

  /** XEP-0401 invitations of a host (the invites module must be loaded on it). */
  createInvitation(host: string, spec: InvitationSpec): Promise<InvitationSummary>;
  invitations(host: string): Promise<InvitationSummary[]>;
  revokeInvitation(host: string, token: string): Promise<void>;

  /** XEP-0377 spam reports received on a host, most reported first (the spam-reporting module must be loaded on it). */
  spamReports(host: string): Promise<SpamReportListing>;

  /** Re-reads the config file and applies it without dropping a session (see server reload). */
  reload(): Promise<ReloadResult>;
}

/** What an API token may do; an admin's console session may do everything. */
export const ADMIN_SCOPES = [
  "users:read",
  "users:write",
  "sessions:read",
  "sessions:write",
  "rooms:read",
  "rooms:write",
  "server:read",
  "server:write",
] as const;
export type AdminScope = (typeof ADMIN_SCOPES)[number];

/** Who is making an admin API request, once authenticated. */
export interface AdminPrincipal {
  /** "token:<id>" or the admin's bare JID. */
  name: string;
  scopes: ReadonlySet<AdminScope>;
  /** A console (cookie) session: mutating requests must carry its CSRF token. */
  csrfToken?: string;
}

/**
 * One way to authenticate an admin HTTP request (a bearer token, the console's session cookie). The API asks
 * each in turn; undefined means "not mine or not valid".
 */
export interface AdminAuthenticator {
  authenticate(
    headers: Readonly<Record<string, string | string[] | undefined>>,
    remoteAddress: string,
  ): Promise<AdminPrincipal | undefined>;
}
