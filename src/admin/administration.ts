// The operations every admin front end shares (admin/types.ts AdminOperations), over the server's core. The
// rules live here once: the HTTP API, the XEP-0133 commands, the console and the CLI only validate and call.
import type { Logger } from "pino";
import {
  AccountBackendUnavailableError,
  AccountExistsError,
  type AccountProvider,
  AccountsManagedElsewhereError,
  NoSuchAccountError,
} from "../auth/types.js";
import { revokeFastTokens } from "../auth/fast-tokens.js";
import { deleteAccount, processAccountDeletions } from "../core/account-deletion.js";
import { StreamError } from "../core/errors.js";
import type { Hooks } from "../core/hooks.js";
import { type Jid, tryParseJid } from "../core/jid.js";
import { PrecisError } from "../core/precis.js";
import type { Router } from "../core/router.js";
import type { Session } from "../core/session.js";
import type { SessionRegistry } from "../core/session-registry.js";
import { Element } from "../core/xml/element.js";
import { NS_CLIENT } from "../core/xml/ns.js";
import { sessionCaps } from "../modules/caps/session-caps.js";
import { lastLogStore, readLastLog } from "../modules/last-activity/last-log.js";
import { RosterStore } from "../modules/roster/roster-store.js";
import type { StorageDriver } from "../storage/types.js";
import { newStreamId } from "../stream/stream-id.js";
import type { AdminPart, HostAnnouncements, HostInvitations, HostSpamReports } from "./admin-parts.js";
import { fastTokenListing } from "./fast-token-listing.js";
import {
  AdminError,
  type AdminOperations,
  type ClientTransport,
  type ClusterRooms,
  type ClusterSessions,
  type ClusterStatus,
  type FastClientToken,
  type InvitationSpec,
  type InvitationSummary,
  type JidText,
  type Page,
  type ReloadResult,
  type RoomAdministration,
  type RoomDetail,
  type RoomSummary,
  type RosterEntry,
  type S2sLinkSummary,
  type ServerStatus,
  type SessionSummary,
  type SpamReportListing,
  type StatsSample,
  type UserQuery,
  type UserSummary,
} from "./types.js";

export interface AdministrationDeps {
  accounts: AccountProvider;
  storage: StorageDriver;
  sessions: SessionRegistry;
  hooks: Hooks;
  router: Router;
  hosts: ReadonlySet<string>;
  log: Logger;
  version: string;
  startedAt: number;
  /** Sender of `sendMessage` (config `send.from`, else the first host). */
  messageSender: () => string;
  /** The federation's links now (none when s2s is off). */
  s2sLinks: () => S2sLinkSummary[];
  /** Authenticated links by direction (S2sService.linkCounts: the rule metrics count by too). */
  s2sLinkCounts: () => { inbound: number; outbound: number };
  /** Live reload (NatterServer.reload), when the server offers it. */
  reload?: () => Promise<ReloadResult>;
  /** The stats history (metrics), when it is kept. */
  history?: () => StatsSample[];
  /** Cluster-wide questions (src/cluster/cluster-admin.ts), when the server is a cluster node. */
  cluster?: () =>
    | {
        status(): Promise<ClusterStatus>;
        sessions(jid?: JidText): Promise<ClusterSessions>;
        rooms(domain?: string): Promise<ClusterRooms>;
      }
    | undefined;
}

/** Largest page `listUsers` returns whatever it is asked (front ends cap lower: admin_api.max_page_size). */
const MAX_PAGE = 10_000;

export class Administration implements AdminOperations {
  private readonly roomServices = new Map<string, RoomAdministration>();
  private readonly announcements = new Map<string, HostAnnouncements>();
  private readonly hostInvitations = new Map<string, HostInvitations>();
  private readonly hostSpamReports = new Map<string, HostSpamReports>();

  constructor(private readonly deps: AdministrationDeps) {}

  /** A module's part (rooms of a MUC service, a host's announcements); returns the remover. */
  provide(part: AdminPart): () => void {
    if (part.kind === "rooms") {
      const { rooms } = part;
      this.roomServices.set(rooms.domain, rooms);
      return () => {
        if (this.roomServices.get(rooms.domain) === rooms) this.roomServices.delete(rooms.domain);
      };
    }
    if (part.kind === "invitations") {
      const { invitations } = part;
      this.hostInvitations.set(invitations.host, invitations);
      return () => {
        if (this.hostInvitations.get(invitations.host) === invitations) this.hostInvitations.delete(invitations.host);
      };
    }
    if (part.kind === "spam-reports") {
      const { reports } = part;
      this.hostSpamReports.set(reports.host, reports);
      return () => {
        if (this.hostSpamReports.get(reports.host) === reports) this.hostSpamReports.delete(reports.host);
      };
    }
    const { announcements } = part;
    this.announcements.set(announcements.host, announcements);
    return () => {
      if (this.announcements.get(announcements.host) === announcements) this.announcements.delete(announcements.host);
    };
  }

  status(): ServerStatus {
    const byTransport: Record<ClientTransport, number> = { tcp: 0, websocket: 0, bosh: 0 };
    let total = 0;
    for (const s of this.deps.sessions.all()) {
      byTransport[s.transport]++;
      total++;
    }
    const rooms = this.rooms();
    const memory = process.memoryUsage();
    return {
      version: this.deps.version,
      startedAt: this.deps.startedAt,
      uptimeSeconds: Math.floor((Date.now() - this.deps.startedAt) / 1000),
      hosts: [...this.deps.hosts],
      sessions: { total, byTransport },
      s2s: this.deps.s2sLinkCounts(),
      rooms: rooms.length,
      occupants: rooms.reduce((n, r) => n + r.occupants, 0),
      memory: { rss: memory.rss, heapUsed: memory.heapUsed },
    };
  }

  history(): StatsSample[] {
    return this.deps.history?.() ?? [];
  }

  async listUsers(query: UserQuery): Promise<Page<UserSummary>> {
    const host = this.knownHost(query.host);
    const search = query.search?.toLowerCase() ?? "";
    const all = (await this.deps.accounts.listUsers(host).catch(providerRefusal))
      .filter((u) => u.toLowerCase().includes(search))
      .sort();
    const offset = Math.max(0, Math.floor(query.offset ?? 0));
    const limit = Math.min(MAX_PAGE, Math.max(0, Math.floor(query.limit ?? 100)));
    const items: UserSummary[] = [];
    for (const user of all.slice(offset, offset + limit)) {
      const jid = `${user}@${host}`;
      items.push({
        jid,
        disabled: await this.deps.accounts.isDisabled(host, user),
        sessions: this.deps.sessions.resourcesOf(jid).length,
      });
    }
    return { items, total: all.length, offset, limit };
  }

  async user(jid: JidText): Promise<UserSummary> {
    const account = await this.existingAccount(jid);
    const bare = account.bareString();
    return {
      jid: bare,
      disabled: await this.deps.accounts.isDisabled(account.domain, account.local),
      sessions: this.deps.sessions.resourcesOf(bare).length,
    };
  }

  async createUser(jid: JidText, password: string): Promise<void> {
    const account = this.accountJid(jid);
    if (password === "") throw new AdminError("bad-request", "the password is empty");
    try {
      await this.deps.accounts.createUser(account.domain, account.local, password);
    } catch (err) {
      if (err instanceof AccountExistsError) throw new AdminError("conflict", `${account} already exists`);
      throwIfProviderRefusal(err);
      if (err instanceof PrecisError)
        throw new AdminError("bad-request", `not an allowed username or password: ${err.message}`);
      throw err;
    }
  }

  async deleteUser(jid: JidText): Promise<void> {
    const account = await this.existingAccount(jid);
    try {
      await deleteAccount(this.deps.storage, this.deps.accounts, account.domain, account.local);
    } catch (err) {
      if (err instanceof NoSuchAccountError) throw new AdminError("not-found", `${account} does not exist`);
      throwIfProviderRefusal(err);
      throw err;
    }
    // The modules' clean-up (account.deleted) and the end of its sessions, as for `natter deluser`.
    const { storage, accounts, hooks, sessions, hosts, log } = this.deps;
    await processAccountDeletions({ storage, accounts, hooks, sessions, hosts, log });
  }

  async setUserDisabled(jid: JidText, disabled: boolean): Promise<void> {
    const account = await this.existingAccount(jid);
    try {
      await this.deps.accounts.setDisabled(account.domain, account.local, disabled);
    } catch (err) {
      if (err instanceof NoSuchAccountError) throw new AdminError("not-found", `${account} does not exist`);
      throwIfProviderRefusal(err);
      throw err;
    }
    if (disabled)
      this.endSessions(
        this.deps.sessions.resourcesOf(account.bareString()),
        new StreamError("not-authorized", "the account was disabled"),
      );
  }

  async setPassword(jid: JidText, password: string): Promise<void> {
    const account = this.accountJid(jid);
    if (password === "") throw new AdminError("bad-request", "the password is empty");
    try {
      await this.deps.accounts.setPassword(account.domain, account.local, password);
    } catch (err) {
      if (err instanceof NoSuchAccountError) throw new AdminError("not-found", `${account} does not exist`);
      throwIfProviderRefusal(err);
      if (err instanceof PrecisError) throw new AdminError("bad-request", `not an allowed password: ${err.message}`);
      throw err;
    }
  }

  async userRoster(jid: JidText): Promise<RosterEntry[]> {
    const account = await this.existingAccount(jid);
    const storage = this.deps.storage;
    const roster = new RosterStore({ store: (name, kind) => storage.open(account.domain, name, kind) });
    return (await roster.getAll(account.local)).map((item) => ({
      jid: item.jid,
      ...(item.name !== undefined && item.name !== "" ? { name: item.name } : {}),
      subscription: item.subscription,
      ...(item.ask ? { ask: true } : {}),
      groups: [...item.groups],
    }));
  }

  async fastTokens(jid: JidText): Promise<FastClientToken[]> {
    const account = await this.existingAccount(jid);
    return fastTokenListing(this.deps.storage, account.domain, account.local);
  }

  async revokeFastTokens(jid: JidText, client?: string): Promise<number> {
    const account = await this.existingAccount(jid);
    return revokeFastTokens(this.deps.storage, account.domain, account.local, client);
  }

  async lastLogout(jid: JidText): Promise<{ at: number; status?: string } | undefined> {
    const account = await this.existingAccount(jid);
    const last = await readLastLog(lastLogStore(this.deps.storage, account.domain), account.local);
    if (!last) return undefined;
    return last.status === "" ? { at: last.time } : { at: last.time, status: last.status };
  }

  sessions(jid?: JidText): SessionSummary[] {
    return this.matchingSessions(jid).map(sessionSummary);
  }

  async clusterStatus(): Promise<ClusterStatus> {
    const cluster = this.deps.cluster?.();
    if (cluster) return this.clusterQuestion(() => cluster.status());
    const status = this.status();
    return {
      nodes: [{ ...status, node: "" }],
      unanswered: [],
      sessions: status.sessions.total,
      rooms: status.rooms,
      occupants: status.occupants,
    };
  }

  /**
   * sessions() of this node alone: what it answers a cluster-wide question with (in a cluster, sessions() of a JID
   * also finds the other nodes' sessions through the registry's view, which they answer for themselves).
   */
  localSessions(jid?: JidText): SessionSummary[] {
    return this.matchingSessions(jid)
      .filter((s) => !s.remote)
      .map(sessionSummary);
  }

  async clusterSessions(jid?: JidText): Promise<ClusterSessions> {
    const cluster = this.deps.cluster?.();
    if (cluster) return this.clusterQuestion(() => cluster.sessions(jid));
    return { sessions: this.sessions(jid).map((s) => ({ ...s, node: "" })), unanswered: [] };
  }

  private async clusterQuestion<T>(ask: () => Promise<T>): Promise<T> {
    try {
      return await ask();
    } catch (err) {
      // ClusterAdminBusyError: more cluster-wide questions in flight than cluster.admin_max_pending.
      throw new AdminError("unavailable", err instanceof Error ? err.message : String(err));
    }
  }

  kick(jid: JidText, reason?: string): number {
    const matching = this.matchingSessions(jid, true);
    // RFC 6120 §4.9.3.14: ended by local policy (not not-authorized, which would tell a client to drop its password).
    this.endSessions(
      matching,
      new StreamError("policy-violation", reason || "the session was ended by an administrator"),
    );
    return matching.length;
  }

  rooms(domain?: string): RoomSummary[] {
    if (domain !== undefined) return this.roomServices.get(domain)?.list() ?? [];
    return [...this.roomServices.values()].flatMap((r) => r.list());
  }

  async clusterRooms(domain?: string): Promise<ClusterRooms> {
    const cluster = this.deps.cluster?.();
    if (cluster) return this.clusterQuestion(() => cluster.rooms(domain));
    return { rooms: this.rooms(domain).map((r) => ({ ...r, node: "" })), unanswered: [] };
  }

  room(jid: JidText): RoomDetail | undefined {
    const room = tryParseJid(jid);
    if (!room) return undefined;
    return this.roomServices.get(room.domain)?.get(room.toString());
  }

  async destroyRoom(jid: JidText, reason?: string): Promise<boolean> {
    const room = tryParseJid(jid);
    if (!room) return false;
    return (await this.roomServices.get(room.domain)?.destroy(room.toString(), reason)) ?? false;
  }

  s2sLinks(): S2sLinkSummary[] {
    return this.deps.s2sLinks();
  }

  announce(host: string, body: string, subject?: string): Promise<number> {
    if (body === "") throw new AdminError("bad-request", "the announcement is empty");
    return this.hostAnnouncements(host).announce(body, subject);
  }

  async sendMessage(to: JidText, body: string): Promise<void> {
    const recipient = tryParseJid(to);
    if (!recipient) throw new AdminError("bad-request", `not a valid JID: ${to}`);
    if (body === "") throw new AdminError("bad-request", "the message is empty");
    const message = new Element("message", NS_CLIENT, {
      from: this.deps.messageSender(),
      to: recipient.toString(),
      type: "chat",
      id: newStreamId(),
    });
    message.c("body").t(body);
    await this.deps.router.route(message);
  }

  motd(host: string): Promise<string | undefined> {
    return this.hostAnnouncements(host).motd();
  }

  setMotd(host: string, body: string | undefined): Promise<void> {
    const announcements = this.hostAnnouncements(host);
    if (body === undefined) return announcements.deleteMotd();
    if (body === "") throw new AdminError("bad-request", "the message of the day is empty");
    return announcements.setMotd(body);
  }

  async reload(): Promise<ReloadResult> {
    if (!this.deps.reload) return { ok: false, error: "reload is not available" };
    return this.deps.reload();
  }

  private knownHost(host: string): string {
    if (!this.deps.hosts.has(host)) throw new AdminError("not-found", `${host} is not a host of this server`);
    return host;
  }

  createInvitation(host: string, spec: InvitationSpec): Promise<InvitationSummary> {
    return this.invitationsOf(host).create(spec);
  }

  invitations(host: string): Promise<InvitationSummary[]> {
    return this.invitationsOf(host).list();
  }

  async revokeInvitation(host: string, token: string): Promise<void> {
    if (!(await this.invitationsOf(host).revoke(token))) throw new AdminError("not-found", "no such invitation");
  }

  async spamReports(host: string): Promise<SpamReportListing> {
    this.knownHost(host);
    const reports = this.hostSpamReports.get(host);
    if (!reports) throw new AdminError("unavailable", `the spam-reporting module is not loaded on ${host}`);
    return reports.list();
  }

  private invitationsOf(host: string): HostInvitations {
    this.knownHost(host);
    const invitations = this.hostInvitations.get(host);
    if (!invitations) throw new AdminError("unavailable", `the invites module is not loaded on ${host}`);
    return invitations;
  }

  private hostAnnouncements(host: string): HostAnnouncements {
    this.knownHost(host);
    const announcements = this.announcements.get(host);
    if (!announcements) throw new AdminError("unavailable", `the announcements module is not loaded on ${host}`);
    return announcements;
  }

  /** user@host of a host of this server; the local part as PRECIS would have it is the provider's to check. */
  private accountJid(text: JidText): Jid {
    const jid = tryParseJid(text);
    if (!jid || jid.local === "" || jid.resource !== "")
      throw new AdminError("bad-request", `"${text}" is not an account JID`);
    if (!this.deps.hosts.has(jid.domain))
      throw new AdminError("bad-request", `${jid.domain} is not a host of this server`);
    return jid;
  }

  private async existingAccount(text: JidText): Promise<Jid> {
    const jid = this.accountJid(text);
    if (!(await this.deps.accounts.userExists(jid.domain, jid.local).catch(providerRefusal)))
      throw new AdminError("not-found", `${jid} does not exist`);
    return jid;
  }

  /** Sessions of a full JID (one), a bare JID (all its resources), or every session; `required`: a JID must be given. */
  private matchingSessions(text: JidText | undefined, required = false): readonly Session[] {
    if (text === undefined || text === "") {
      if (required) throw new AdminError("bad-request", "which JID?");
      return [...this.deps.sessions.all()];
    }
    const jid = tryParseJid(text);
    if (!jid || jid.local === "") throw new AdminError("bad-request", `"${text}" is not a user's JID`);
    if (jid.resource !== "") {
      const one = this.deps.sessions.get(jid);
      return one ? [one] : [];
    }
    return this.deps.sessions.resourcesOf(jid.bareString());
  }

  private endSessions(sessions: readonly Session[], error: StreamError): void {
    for (const s of sessions) s.close(error);
  }
}

function sessionSummary(s: Session): SessionSummary {
  const client = sessionCaps(s)?.node;
  return {
    jid: s.jid.toString(),
    address: s.remoteAddress,
    transport: s.transport,
    secure: s.secure,
    ...(client ? { client } : {}),
    priority: s.priority,
    available: s.available,
    streamManagement: s.streamManagement,
    since: s.since,
  };
}

/**
 * An account provider whose accounts live elsewhere (LDAP, an external program, HTTP) refuses what it cannot do
 * (409 / conflict, with its message) or cannot answer now (503 / unavailable); other errors pass unchanged.
 */
function throwIfProviderRefusal(err: unknown): void {
  if (err instanceof AccountsManagedElsewhereError) throw new AdminError("conflict", err.message);
  if (err instanceof AccountBackendUnavailableError) throw new AdminError("unavailable", err.message);
}

function providerRefusal(err: unknown): never {
  throwIfProviderRefusal(err);
  throw err;
}
