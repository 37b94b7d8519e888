// The module API (DESIGN.md): a feature is one defineModule({...}) whose setup registers everything through
// its context, so unloading removes every handler with no cleanup code of the module's own.
import type { Logger } from "pino";
import type { ZodType } from "zod";
import type { AdminPart } from "../admin/admin-parts.js";
import type { AdminOperations } from "../admin/types.js";
import type { AccountProvider } from "../auth/types.js";
import type { StorageDriver, StoreKind, StoreKinds } from "../storage/types.js";
import type { HttpHandler, HttpRouteOptions, HttpRoutes } from "../web/http-routes.js";
import type { CommandDefinition, CommandRegistry } from "./commands.js";
import type { StanzaError } from "./errors.js";
import type {
  FirstHandler,
  FirstHook,
  FoldHandler,
  FoldHook,
  FoldHooks,
  Hooks,
  NotifyHandler,
  NotifyHook,
  NotifyHooks,
} from "./hooks.js";
import type { IqDispatcher, IqHandler, IqTarget, IqType } from "./iq-dispatch.js";
import type { ClusterBus } from "../cluster/types.js";
import type { ComponentHandler, Router } from "./router.js";
import type { Jid } from "./jid.js";
import type { ServerCounters } from "./server-counters.js";
import type { DeliveryReceipt, Session } from "./session.js";
import type { SessionRegistry } from "./session-registry.js";
import type { Element } from "./xml/element.js";

export interface SpecReference {
  xep?: number;
  rfc?: number;
  version?: string;
  status: "complete" | "partial" | "planned";
  note?: string;
}

export interface ModuleDefinition<O = unknown> {
  /** kebab-case feature name; also its key under `modules:` in the config. */
  name: string;
  /**
   * What it implements, one line per specification: the XEP-0479 table (`natter compliance`, docs/compliance.md)
   * reads it, and the disco test checks the features it advertises (src/compliance/disco-features.ts).
   */
  specs?: SpecReference[];
  /** Modules that must be loaded first (checked at load). */
  depends?: string[];
  /**
   * Map stores this module reads on hot paths (every presence, every probe), kept in memory per user by the
   * server (storage/store-cache.ts) within `storage.cache_entries`. Every module opening one shares the copy.
   */
  cachedStores?: string[];
  /**
   * What the module keeps in memory only and would lose if unloaded and loaded again (MUC rooms and their
   * occupants, per-session flags under a key its setup made). A reload does not reload such a module when its
   * options change. Absent: everything lives in stores or is a cache.
   */
  liveState?: string;
  /**
   * For a module with liveState: a reload applies its option changes in place instead (ModuleLoader.reconfigure),
   * so that state survives. Such a module reads ctx.options when it uses them, and rebuilds in
   * ctx.onOptionsChanged what its setup derived from them (rate limiters, caps on what it holds). `except`: options
   * it cannot change in place (MUC's domain); a change to one, like any option change of a liveState module
   * without liveOptions, keeps its running value until a restart, and the reload says so.
   */
  liveOptions?: { except?: readonly string[] };
  /** Options schema with defaults and doc text; validated at start. */
  options?: ZodType<O>;
  setup(ctx: ModuleContext<O>): void | Promise<void>;
}

export function defineModule<O = Record<string, never>>(def: ModuleDefinition<O>): ModuleDefinition<O> {
  return def;
}

/** What the server offers modules; one per server. */
export interface CoreServices {
  hooks: Hooks;
  iq: IqDispatcher;
  router: Router;
  sessions: SessionRegistry;
  storage: StorageDriver;
  accounts: AccountProvider;
  log: Logger;
  /** Admin bare JIDs from config. */
  admins: ReadonlySet<string>;
  /** XEP-0050 commands every module registered (ctx.command), by host; the adhoc module serves them. */
  commands: CommandRegistry;
  hosts: ReadonlySet<string>;
  /**
   * The process's one HTTP(S) server: a module mounts a handler under a path prefix with
   * `http.route(prefix, handler)`, which returns the remover (call it from the module's own cleanup);
   * `http.publicUrl` is the base URL clients reach it at. Upload, WebSocket, BOSH, metrics live here.
   */
  http: HttpRoutes;
  /** Absolute data directory (config data_dir), for modules that keep files (uploads). */
  dataDir: string;
  /** Server start time (ms). */
  startedAt: number;
  /** Stanzas, routing errors and SASL outcomes since start: plain integers the metrics read at scrape time. */
  counters: ServerCounters;
  version: string;
  /**
   * Administration (issue 14): what every admin front end does (admin/administration.ts), and `provide`, through
   * which modules add their parts (MUC rooms, announcements). Modules use ModuleContext.admin / provideAdmin.
   */
  admin: AdminOperations & { provide(part: AdminPart): () => void };
  /** The cluster's bus (issue 16, src/cluster/types.ts); absent on a single node (no `cluster.redis_url`). */
  cluster?: ClusterBus;
  /** Disco view over every loaded module (filled in once the loader exists). */
  disco: {
    features(host: string, target: IqTarget): string[];
    identities(host: string): DiscoIdentity[];
    /**
     * Changes whenever a module is loaded or unloaded (on any host): what a host's disco#info is built from
     * (features, identities, disco.info handlers) changes only then, so what is derived from it can be kept.
     */
    generation(): number;
  };
}

export interface DiscoIdentity {
  category: string;
  type: string;
  name?: string;
}

export interface ModuleContext<O = unknown> {
  readonly name: string;
  /** The virtual host this instance serves. */
  readonly host: string;
  /** The module's validated options; a reload may replace them (see ModuleDefinition.liveOptions): read them at use. */
  readonly options: O;
  readonly log: Logger;
  /** Which sessions are bound (RFC 6120 §7): the SessionRegistry interface, in-process or cluster-wide. */
  readonly sessions: SessionRegistry;
  /** The cluster's bus, for state a module keeps on one node (MUC rooms); undefined on a single node. */
  readonly cluster: ClusterBus | undefined;
  hook<K extends NotifyHook>(name: K, handler: NotifyHandler<K>, opts?: { priority?: number }): void;
  hookFirst<K extends FirstHook>(name: K, handler: FirstHandler<K>, opts?: { priority?: number }): void;
  hookFold<K extends FoldHook>(name: K, handler: FoldHandler<K>, opts?: { priority?: number }): void;
  /** Handles IQs of one namespace/name addressed to the host or to an account of this host. Its namespace becomes a disco feature. */
  iq(to: IqTarget, type: IqType, ns: string, name: string, handler: IqHandler): void;
  /** An extra disco#info feature of the host. */
  feature(ns: string, target?: IqTarget): void;
  identity(category: string, type: string, name?: string): void;
  store<K extends StoreKind>(name: string, kind: K): StoreKinds[K];
  /** Serves a domain of its own (e.g. conference.<host>): every stanza for it goes to `handler`. Removed on unload. */
  component(domain: string, handler: ComponentHandler): void;
  /**
   * Routes a stanza (from and to set; `origin`: the local session it comes from). Settles once the stanza is
   * delivered, handed on or bounced (RFC 6121 §8.5), so a module can keep order by awaiting it; never rejects,
   * so a caller with nothing to wait for may leave it.
   */
  route(stanza: Element, origin?: Session): Promise<void>;
  /** Hands a stanza to one local session through the delivery hooks (privacy, carbons, CSI). Never rejects; false when a hook (CSI) holds it back. */
  deliver(session: Session, stanza: Element, receipt?: DeliveryReceipt): Promise<boolean>;
  /** RFC 6121 §8.5.2.1.1: the sessions a message to `bare` goes to (`all`: every non-negative one, for headlines). */
  messageTargets(bare: Jid, all: boolean): Session[];
  /** Announces a notify hook this module owns (every handler runs; a throw is logged, not passed on). */
  notify<K extends NotifyHook>(name: K, payload: NotifyHooks[K]): Promise<void>;
  /** Runs a fold hook (disco, stream features) and returns every handler's part. */
  fold<K extends FoldHook>(name: K, args: FoldHooks[K]["args"]): Promise<FoldHooks[K]["result"][]>;
  /** Sends an iq get/set and resolves with the reply, or undefined on timeout (the IQ dispatcher tracks it). */
  request(iq: Element, timeoutMs?: number): Promise<Element | undefined>;
  /** Accounts of every host: existence, creation, passwords, and how credentials are kept. */
  readonly accounts: AccountProvider;
  /** Bare JIDs of the server's administrators (config `admins`). */
  readonly admins: ReadonlySet<string>;
  /** Every virtual host this server serves. */
  readonly hosts: ReadonlySet<string>;
  /** Sends the error reply for a stanza back to its sender (RFC 6120 §8.3; never for type="error"). */
  bounce(stanza: Element, error: StanzaError): void;
  /** The server's plain counters, read by the metrics at scrape time (anti-spam counts its decisions there). */
  readonly counters: ServerCounters;
  /** Domains served by components (ctx.component of any module, XEP-0114 components): disco#items of the host. */
  componentDomains(): string[];
  /** Disco view over every loaded module (features, identities, a generation that changes on load/unload). */
  readonly disco: CoreServices["disco"];
  /** XEP-0050 commands every module registered, by host: the adhoc module serves them. */
  readonly commands: CommandRegistry;
  /** Base URL clients reach the HTTP listener at (config `http.public_url`). */
  readonly publicUrl: string;
  /** Absolute data directory (config data_dir), for modules that keep files. */
  readonly dataDir: string;
  /** Server start time (ms since epoch). */
  readonly startedAt: number;
  /** Natter's version. */
  readonly version: string;
  /** Removes everything every store holds for an account of this host (account removal, XEP-0077 §3.2). */
  deleteUserData(user: string): Promise<void>;
  /**
   * One value per server and key, made on first use: for what several modules or hosts share (the PEP services'
   * per-user locks, the privacy engines blocking reaches), instead of module-level maps of servers.
   */
  perServer<T>(key: symbol, make: () => T): T;
  /** Serves HTTP requests under a path prefix on the server's HTTP listener (core.http.route). Removed on unload. */
  http(prefix: string, handler: HttpHandler, options?: HttpRouteOptions): void;
  /** An XEP-0050 ad-hoc command on this host (served by the adhoc module). Removed on unload. */
  command(node: string, definition: CommandDefinition): void;
  /** What administrators see and do (users, sessions, rooms, announcements): for admin commands. */
  readonly admin: AdminOperations;
  /** Adds this module's part to administration (its MUC service's rooms, its host's announcements); removed on unload. */
  provideAdmin(part: AdminPart): void;
  /**
   * Runs when a reload hands the module new options in place (ModuleDefinition.liveOptions), after ctx.options
   * returns them: for what setup derived from the options. Synchronous, so no stanza sees half the change.
   */
  onOptionsChanged(handler: (options: O, previous: O) => void): void;
  /** Repeating timer, cleared on unload. */
  timer(ms: number, fn: () => void | Promise<void>): void;
  /** Runs on unload: for what a module opened outside the core (its own listener, its open sockets). */
  onUnload(fn: () => void): void;
}

/** One loaded module instance on one host: everything it registered, so it can be unloaded. */
export interface LoadedModule {
  name: string;
  host: string;
  definition: ModuleDefinition<unknown>;
  features: { ns: string; target: IqTarget }[];
  identities: DiscoIdentity[];
  /** The options it runs with now. */
  readonly options: unknown;
  /** Hands it new validated options in place (see ModuleDefinition.liveOptions); on a throw the old ones stay. */
  reconfigure(options: unknown): void;
  unload(): void;
}
