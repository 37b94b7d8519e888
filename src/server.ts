// Assembles one Natter server from a config: storage, accounts, core services, modules, listeners.
import type { Server as NetServer } from "node:net";
import type { Logger } from "pino";
import { Administration } from "./admin/administration.js";
import { ApiTokens, BearerTokenAuthenticator } from "./admin/api-tokens.js";
import { AdminHttpApi } from "./admin/http-api/admin-api.js";
import type { AdminOperations, ReloadResult } from "./admin/types.js";
import { AdminError } from "./admin/types.js";
import { buildAccountProviders, type HostAccountProviders } from "./auth/account-providers.js";
import { DirectoryAdmins } from "./auth/directory-admins.js";
import { InternalAccountProvider } from "./auth/internal-account-provider.js";
import type { AccountProvider } from "./auth/types.js";
import { CertificateService } from "./certificates/certificate-service.js";
import { defaultNodeId, RedisClusterBus } from "./cluster/redis-bus.js";
import { RedisSessionRegistry } from "./cluster/redis-session-registry.js";
import { clusterServerSecret } from "./cluster/shared-secret.js";
import { ControlServer } from "./control/control-server.js";
import { processAccountDeletions } from "./core/account-deletion.js";
import { AddressList } from "./core/address-list.js";
import { CommandRegistry } from "./core/commands.js";
import type { Config } from "./core/config/index.js";
import { StreamError } from "./core/errors.js";
import { Hooks } from "./core/hooks.js";
import { IqDispatcher } from "./core/iq-dispatch.js";
import { createLogger, type LogFile, openLogFile } from "./core/logger.js";
import { ModuleLoader } from "./core/module-loader.js";
import type { CoreServices } from "./core/modules.js";
import { Router } from "./core/router.js";
import { secureDataDirectory } from "./core/secure-data-directory.js";
import { ServerCounters } from "./core/server-counters.js";
import { loadServerSecret } from "./core/server-secret.js";
import { InProcessSessionRegistry, type SessionRegistry } from "./core/session-registry.js";
import { CertificateStore } from "./core/tls/certificates.js";
import { mountOperationalEndpoints } from "./metrics/http-endpoints.js";
import { LatencyHistogram } from "./metrics/latency-histogram.js";
import { Readiness } from "./metrics/readiness.js";
import { mucOccupancy, ServerMetrics } from "./metrics/server-metrics.js";
import { StatsHistory } from "./metrics/stats-history.js";
import { type StorageOperation, withStorageTiming } from "./metrics/storage-timing.js";
import { MODULE_CATALOGUE } from "./modules/catalogue.js";
import { planModules } from "./modules/module-plan.js";
import { reloadServer } from "./reload/server-reload.js";
import { type ClusterServices, startClusterServices } from "./cluster/node-services.js";
import { openStorage } from "./storage/open-storage.js";
import { withStoreCache } from "./storage/store-cache.js";
import type { StorageDriver } from "./storage/types.js";
import { C2sStream } from "./stream/c2s-stream.js";
import type { ByteConnection, ConnectionListener } from "./stream/connection.js";
import { configureInboundBudget } from "./stream/inbound-queue.js";
import { FramedWire } from "./stream/framed-wire.js";
import { tcpFraming } from "./stream/framing.js";
import { USER_AGENTS_STORE } from "./stream/sasl2.js";
import type { StreamWire } from "./stream/stream-wire.js";
import { type MountedBosh, mountBosh } from "./transports/bosh/mount-bosh.js";
import { ClientSettings } from "./transports/client-settings.js";
import { ExternalComponents } from "./transports/component/external-components.js";
import { ListenerGroup } from "./transports/listener-group.js";
import { S2sService } from "./transports/s2s/s2s-service.js";
import { listenC2s, listenC2sDirectTls } from "./transports/tcp/c2s-listener.js";
import type { TlsSettings } from "./transports/tcp/tcp-connection.js";
import { admitStream } from "./transports/unauthenticated-connections.js";
import { MountedWebSocket } from "./transports/websocket/mounted-websocket.js";
import { NATTER_VERSION } from "./version.js";
import { type MountedAdminConsole, mountAdminConsole } from "./web/admin-console/admin-console.js";
import { mountCoreWebRoutes } from "./web/core-routes.js";
import { HttpServer } from "./web/http-server.js";

function portOf(server: NetServer | undefined): number | undefined {
  const a = server?.address();
  return typeof a === "object" && a ? a.port : undefined;
}

export interface StartOptions {
  /** Logger to use instead of one made from config.log_level (tests). */
  log?: Logger;
  /**
   * Where `reload()` gets the new config: `natter start` re-reads its file; tests give a changed one. Throws
   * ConfigError for an invalid file. Without it, reload is refused.
   */
  configSource?: () => Config | Promise<Config>;
}

export class NatterServer {
  /** Client listeners (STARTTLS and direct TLS), which a reload can open, close and move. */
  private readonly clientListeners: ListenerGroup[] = [];
  /** The certificates every TLS listener and s2s use; a reload swaps their content. */
  private certs: CertificateStore | undefined;
  /** Certificate warnings, metrics and ACME renewal (issue 15); set by listen(). */
  certificates: CertificateService | undefined;
  /** Serialises reloads (SIGHUP, the CLI and an ad-hoc command may ask at once). */
  private reloading: Promise<unknown> = Promise.resolve();
  /** Ports actually bound per listener name (differs from the config when it asks for port 0). */
  readonly ports: {
    c2s?: number;
    c2s_direct_tls?: number;
    http?: number;
    https?: number;
    component?: number;
    s2s?: number;
    s2s_direct_tls?: number;
  } = {};
  /** Federation (absent when s2s.enabled is false). */
  s2s: S2sService | undefined;
  private streams = new Set<C2sStream>();
  /**
   * Starts a client stream on a wire from any client transport (TCP, WebSocket, BOSH), counted among the
   * unauthenticated connections until it authenticates. Set once the listeners' settings are known.
   */
  acceptClient: (wire: StreamWire) => void = (wire) => wire.destroy();
  private stopping: Promise<void> | undefined;
  /** What new client connections and logins start with; a reload replaces it (set by listen()). */
  private clientSettings: ClientSettings | undefined;
  /** XMPP over WebSocket, remounted by a reload that changes its settings. */
  private webSocket: MountedWebSocket | undefined;
  /** BOSH at /http-bind (absent when bosh.enabled is false). */
  bosh: MountedBosh | undefined;
  private control: ControlServer | undefined;
  /** XEP-0114 external components, when the config lists any. */
  private components: ExternalComponents | undefined;
  /** The admin console at /admin (absent when admin_console.enabled is false); its sessions authenticate the admin API. */
  adminConsole: MountedAdminConsole | undefined;
  /** API tokens of the admin HTTP API (`natter token`). */
  readonly apiTokens: ApiTokens;
  /**
   * The admin HTTP API at /admin/api (mounted when admin_api.enabled). Other ways in (the console's session
   * cookie) join with `adminApi.addAuthenticator`.
   */
  readonly adminApi: AdminHttpApi;
  /** Prometheus metrics (absent when metrics.enabled is false). */
  readonly metrics: ServerMetrics | undefined;
  /** The last hour, a sample a minute, for the admin console (AdminOperations.history). */
  readonly stats: StatsHistory;
  /** What /readyz answers. */
  private readonly readiness: Readiness;
  /** Each host's account provider (auth.provider / auth.host_providers), closed at stop. */
  private accountProviders: HostAccountProviders | undefined;
  /** The LDAP admin group's members merged into the admins set (absent without auth.ldap.admin_group). */
  private directoryAdmins: DirectoryAdmins | undefined;
  /** The Redis transport and session registry when cluster.redis_url is set (docs/cluster.md). */
  cluster: { bus: RedisClusterBus; registry: RedisSessionRegistry } | undefined;
  /** Store-cache invalidation and cluster-wide admin questions (absent without cluster.redis_url). */
  clusterServices: ClusterServices | undefined;

  private constructor(
    private running: Config,
    readonly core: CoreServices,
    readonly modules: ModuleLoader,
    private readonly storage: StorageDriver,
    readonly log: Logger,
    private readonly http: HttpServer,
    storageLatency: LatencyHistogram<StorageOperation> | undefined,
    /** The router's host set and the admins, changed in place by a reload. */
    private readonly live: { hosts: Set<string>; admins: Set<string> },
    private readonly configSource: StartOptions["configSource"],
    private readonly logFile: LogFile | undefined,
  ) {
    this.apiTokens = new ApiTokens(storage);
    this.adminApi = new AdminHttpApi(
      core.admin,
      {
        allowedAddresses: running.admin_api.allowed_addresses,
        maxPageSize: running.admin_api.max_page_size,
        maxBodyBytes: running.admin_api.max_body_bytes,
        defaultHost: running.hosts[0] as string,
        version: NATTER_VERSION,
      },
      log.child({ component: "admin-api" }),
    );
    this.adminApi.addAuthenticator(new BearerTokenAuthenticator(this.apiTokens));
    const s2sLinks = () => this.s2sLinkCounts();
    this.stats = new StatsHistory({
      counters: core.counters,
      sessions: () => core.sessions.count,
      s2sLinks: () => {
        const links = s2sLinks();
        return links.inbound + links.outbound;
      },
    });
    if (running.metrics.enabled) {
      this.metrics = new ServerMetrics({
        counters: core.counters,
        sessions: core.sessions,
        hosts: core.hosts,
        s2sLinks,
        occupancy: () => mucOccupancy(core.hooks),
        ...(storageLatency ? { storage: storageLatency } : {}),
        version: core.version,
        startedAt: core.startedAt,
        certificates: () => this.certificates?.report() ?? [],
        cluster: () => core.cluster,
      });
    }
    // A read of a key nobody writes: one indexed SELECT, through the same driver every module uses.
    const probe = storage.open(running.hosts[0] as string, "readiness", "keyval");
    this.readiness = new Readiness(() => probe.get(""), running.health.readiness_timeout * 1000, log);
  }

  /** Server-to-server links now: authenticated domain pairs by direction. */
  s2sLinkCounts(): { inbound: number; outbound: number } {
    if (!this.s2s) return { inbound: 0, outbound: 0 };
    return this.s2s.linkCounts();
  }

  /** The config the server runs with (after a reload, the file's, except what waits for a restart). */
  get config(): Config {
    return this.running;
  }

  static async start(config: Config, options: StartOptions = {}): Promise<NatterServer> {
    const logFile = options.log === undefined && config.log_file !== "" ? openLogFile(config.log_file) : undefined;
    const log = options.log ?? createLogger(config.log_level, logFile?.destination);
    secureDataDirectory(config, log);
    // Storage times are measured under the cache: what reaches the database.
    const storageLatency = config.metrics.enabled ? new LatencyHistogram<StorageOperation>() : undefined;
    const driver = await openStorage(config, log);
    const storage = withStoreCache(storageLatency ? withStorageTiming(driver, storageLatency) : driver, {
      // The modules' hot stores, and the user agents a login reads (stream/sasl2.ts).
      stores: new Set([...[...MODULE_CATALOGUE.values()].flatMap((m) => m.cachedStores ?? []), USER_AGENTS_STORE]),
      maxEntries: config.storage.cache_entries,
    });
    let server: NatterServer | undefined;
    const internalAccounts = new InternalAccountProvider(storage, {
      // The running config's, read for each new password: a reload changes it.
      get iterations() {
        return (server?.config ?? config).auth.scram_iterations;
      },
      knownAccounts: config.storage.cache_entries,
    });
    // Each host's passwords where auth.provider / auth.host_providers say (docs/authentication.md).
    let hostAccounts: HostAccountProviders;
    try {
      hostAccounts = buildAccountProviders(config, internalAccounts, log);
    } catch (err) {
      // An unreadable CA file, say: nothing else was opened yet but storage.
      await storage.close();
      throw err;
    }
    const accounts: AccountProvider = hostAccounts;
    const hooks = new Hooks(log);
    let router: Router | undefined;
    // With cluster.redis_url, sessions are every node's (docs/cluster.md); without, this process's.
    let cluster: { bus: RedisClusterBus; registry: RedisSessionRegistry } | undefined;
    if (config.cluster.redis_url !== "") {
      try {
        const c = config.cluster;
        const bus = await RedisClusterBus.connect({
          url: c.redis_url,
          nodeId: c.node_id || defaultNodeId(),
          keyPrefix: c.key_prefix,
          heartbeatIntervalMs: c.heartbeat_interval * 1000,
          nodeTimeoutMs: c.node_timeout * 1000,
          maxQueued: c.max_queued,
          inboxBatch: c.inbox_batch,
          sendBatch: c.send_batch,
          connectTimeoutMs: c.connect_timeout * 1000,
          logger: log,
        });
        cluster = {
          bus,
          registry: new RedisSessionRegistry({
            bus,
            hooks,
            router: () => router!,
            log,
            maxHeldForClients: c.max_held_for_clients,
          }),
        };
        log.info({ node: bus.nodeId }, "cluster node joined");
      } catch (err) {
        await hostAccounts.close();
        await storage.close();
        throw err;
      }
    }
    const sessions: SessionRegistry = cluster?.registry ?? new InProcessSessionRegistry();
    const hosts = new Set(config.hosts);
    const counters = new ServerCounters();
    const admins = new Set(config.admins);
    const iq = new IqDispatcher({ log, send: (stanza) => void router?.route(stanza) });
    router = new Router({
      hosts,
      sessions,
      iq,
      hooks,
      accounts,
      log,
      counters,
      // The running config's (a reload changes it); read only when a stanza's recipient does not exist.
      get hideAccountExistence() {
        return (server?.config ?? config).hide_account_existence;
      },
    });
    let loader: ModuleLoader | undefined;
    const http = new HttpServer(log, {
      publicUrl: config.listeners.http.public_url,
      defaultHost: config.hosts[0] as string,
    });
    const startedAt = Date.now();
    const admin = new Administration({
      accounts,
      storage,
      sessions,
      hooks,
      router,
      hosts,
      log,
      version: NATTER_VERSION,
      startedAt,
      // The running config: `send` changes with a reload.
      messageSender: () => {
        const running = server?.config ?? config;
        return running.send.from || (running.hosts[0] as string);
      },
      s2sLinks: () => server?.s2s?.links() ?? [],
      s2sLinkCounts: () => server?.s2sLinkCounts() ?? { inbound: 0, outbound: 0 },
      history: () => server?.stats.history() ?? [],
      cluster: () => server?.clusterServices?.admin,
      reload: () => server?.reload() ?? Promise.resolve({ ok: false, error: "the server is starting" }),
    });
    const core: CoreServices = {
      hooks,
      iq,
      router,
      sessions,
      storage,
      accounts,
      log,
      admins,
      commands: new CommandRegistry(),
      hosts,
      http,
      dataDir: config.data_dir,
      startedAt,
      counters,
      version: NATTER_VERSION,
      admin,
      // Modules find the bus at setup (ctx.cluster: MUC room placement).
      ...(cluster ? { cluster: cluster.bus } : {}),
      disco: {
        features: (host, target) => loader?.features(host, target) ?? [],
        identities: (host) => loader?.identities(host) ?? [],
        generation: () => loader?.generation ?? 0,
      },
    };
    loader = new ModuleLoader(core);
    server = new NatterServer(
      config,
      core,
      loader,
      storage,
      log,
      http,
      storageLatency,
      { hosts, admins },
      options.configSource,
      logFile,
    );
    server.accountProviders = hostAccounts;
    server.cluster = cluster;
    if (cluster) {
      const bus = cluster.bus;
      const local = {
        status: () => admin.status(),
        sessions: (jid?: string) => admin.localSessions(jid),
        rooms: (domain?: string) => admin.rooms(domain),
      };
      server.clusterServices = startClusterServices({ bus, storage, accounts, local, config, log });
    }
    try {
      await server.startDirectoryAdmins();
      await server.loadModules();
      // Accounts the CLI deleted while no server ran: their references go before anyone can register the name.
      await server.processAccountDeletions();
      // The other nodes' sessions, before any client binds (the modules are loaded: ended sessions are announced).
      await cluster?.registry.load();
      await server.listen();
    } catch (err) {
      await server.stop();
      throw err;
    }
    server.stats.start();
    // Listeners are up: /readyz now asks storage.
    if (!server.stopping) server.readiness.phase = "ready";
    await hooks.notify("server.started", {});
    log.info({ hosts: config.hosts, version: NATTER_VERSION }, "Natter started");
    return server;
  }

  /** Members of auth.ldap.admin_group join `admins` on the LDAP hosts, read now and every admin_refresh. */
  private async startDirectoryAdmins(): Promise<void> {
    const ldap = this.accountProviders?.ldap;
    if (!ldap || this.running.auth.ldap.admin_group === "") return;
    this.directoryAdmins = new DirectoryAdmins({
      fetch: () => ldap.backend.admins(),
      hosts: () => ldap.hosts.filter((h) => this.live.hosts.has(h)),
      configured: () => this.running.admins,
      admins: this.live.admins,
      log: this.log.child({ component: "auth-ldap" }),
    });
    await this.directoryAdmins.refresh();
    this.directoryAdmins.start(this.running.auth.ldap.admin_refresh * 1000);
  }

  private async loadModules(): Promise<void> {
    for (const m of planModules(this.config)) {
      for (const host of this.config.hosts) await this.modules.load(host, m.definition, m.options as never);
    }
  }

  private async listen(): Promise<void> {
    const { config, log } = this;
    const certs = await CertificateStore.fromConfig(config, (msg) => log.info(msg));
    this.certs = certs;
    // Read at each handshake, so that certificates a reload swapped in serve the connections after it.
    const tls: TlsSettings = {
      get secureContext() {
        return certs.defaultContext;
      },
      get cert() {
        return certs.tlsServerOptions().cert;
      },
      get key() {
        return certs.tlsServerOptions().key;
      },
      SNICallback: certs.SNICallback,
    };
    const ownSecret = loadServerSecret(config.data_dir);
    const secret = this.cluster ? await clusterServerSecret(this.cluster.bus, this.storage, ownSecret) : ownSecret;
    const settings = new ClientSettings(config, secret, log);
    this.clientSettings = settings;
    configureInboundBudget(config.event_loop);
    const { throttle, unauthenticated } = settings;
    this.acceptClient = (wire) => {
      if (this.stopping) return wire.destroy();
      const stream = admitStream(
        unauthenticated,
        wire.remoteAddress,
        (slot) => new C2sStream(wire, this.core, throttle, settings.c2s, slot),
      );
      this.streams.add(stream);
      wire.onClose(new LeavesOnClose(this.streams, stream));
    };
    const accept = (conn: ByteConnection) => this.acceptClient(new FramedWire(conn, tcpFraming));
    const c2s = new ListenerGroup("c2s", (addr) => listenC2s(addr, tls, log, accept));
    const c2sDirectTls = new ListenerGroup("c2s_direct_tls", (addr) =>
      listenC2sDirectTls(addr, tls, log, accept, unauthenticated),
    );
    this.clientListeners.push(c2s, c2sDirectTls);
    await c2s.start(config.listeners.c2s);
    await c2sDirectTls.start(config.listeners.c2s_direct_tls);
    this.ports.c2s = c2s.port;
    this.ports.c2s_direct_tls = c2sDirectTls.port;
    if (config.components.length > 0) {
      // XEP-0114: the domains are registered after the modules (a clash with a module's service is an error).
      this.components = new ExternalComponents(config.components, this.core, unauthenticated, {
        limits: settings.c2s.limits,
        preAuthLimits: settings.c2s.preAuthLimits,
        negotiationTimeoutMs: settings.c2s.negotiationTimeoutMs,
        // Before the handshake a component's connection is a stranger's, like an unauthenticated client's.
        preHandshakeRateLimit: config.c2s.rate_limits.unauthenticated,
      });
      if (config.listeners.component.enabled) {
        const servers = await this.components.listen(config.listeners.component, log, () => !this.stopping);
        this.ports.component = portOf(servers[0]);
      }
    }
    if (config.s2s.enabled) {
      this.s2s = await S2sService.start(config, this.core, certs, settings.c2s.serverSecret, log, unauthenticated);
      Object.assign(this.ports, this.s2s.ports);
    }
    this.webSocket = new MountedWebSocket(this.http, log, (wire) => this.acceptClient(wire));
    this.webSocket.apply(config);
    const { http, https } = config.listeners;
    // XEP-0124 / XEP-0206 at /http-bind: each BOSH session is a client stream like a TCP connection.
    this.bosh = mountBosh(this.http, config, (wire) => this.acceptClient(wire), log);
    mountCoreWebRoutes(this.http, config, log);
    if (config.admin_api.enabled) this.adminApi.mount(this.http);
    mountOperationalEndpoints(this.http, {
      ...(this.metrics
        ? { metrics: { registry: this.metrics, allowed: new AddressList(config.metrics.allowed_addresses) } }
        : {}),
      readiness: this.readiness,
      log,
    });
    if (config.admin_console.enabled && !config.admin_api.enabled) {
      log.warn(
        "admin_console is enabled but admin_api is off: the console at /admin is not served (it works through the API)",
      );
    } else if (config.admin_console.enabled) {
      const c = config.admin_console;
      // The console's login goes through the XMPP logins' throttle: one count of failures per address.
      try {
        this.adminConsole = await mountAdminConsole(
          this.http,
          {
            // The API's address rule, so the page is reachable exactly where what it calls is.
            allowedAddresses: config.admin_api.allowed_addresses,
            idleTimeoutSeconds: c.idle_timeout,
            absoluteTimeoutSeconds: c.absolute_timeout,
            maxSessions: c.max_sessions,
            hosts: this.core.hosts,
            publicUrl: () => this.config.listeners.http.public_url,
            httpsPort: () => this.http.ports.https,
          },
          {
            accounts: this.core.accounts,
            isAdmin: (jid) => this.core.admins.has(jid),
            hosts: this.core.hosts,
            throttle,
          },
          log,
        );
        this.adminApi.addAuthenticator(this.adminConsole.sessions);
      } catch (err) {
        // A broken install (the page's files missing) costs the console, not the server (as /chat).
        log.error({ err }, "admin console not served: its files (src/web/admin-console/static) were not found");
      }
    }
    await this.http.listen(http, https, certs);
    this.ports.http = this.http.ports.http;
    this.ports.https = this.http.ports.https;
    this.certificates = new CertificateService({
      config: () => this.running,
      componentDomains: () => this.core.router.componentDomains(),
      holders: () => ({ certificates: certs, clientListeners: this.clientListeners, http: this.http, s2s: this.s2s }),
      http: this.http,
      log,
    });
    this.certificates.start();
    this.control = await ControlServer.start(config.control_socket, this, log);
  }

  /** Administration (CoreServices.admin), for the control socket. */
  get admin(): AdminOperations {
    return this.core.admin;
  }

  processAccountDeletions(): Promise<number> {
    const { storage, accounts, hooks, sessions, hosts, log } = this.core;
    return processAccountDeletions({ storage, accounts, hooks, sessions, hosts, log });
  }

  /** A new ACME certificate now, hot-swapped like a scheduled renewal (`natter cert renew`). */
  async renewCertificates(): Promise<{ domains: string[]; serial: string; not_after: string }> {
    const acme = this.certificates?.acme;
    if (!acme) throw new AdminError("unavailable", "tls.acme is not enabled");
    try {
      await acme.renewNow();
    } catch (err) {
      throw new AdminError("unavailable", `the CA did not issue a certificate: ${(err as Error).message}`);
    }
    const served = this.certificates!.report().filter((r) => r.source === "acme");
    return {
      domains: served.map((r) => r.domain),
      serial: served[0]?.serial ?? "",
      not_after: served[0]?.notAfter.toISOString() ?? "",
    };
  }

  /** Sends a message as the configured sender (`natter send`). */
  sendNotification(to: string, body: string): Promise<void> {
    return this.core.admin.sendMessage(to, body);
  }

  /**
   * Re-reads the config and applies it without dropping a session (issue 14). The new file is validated whole
   * first (schema, every module's options and dependencies, certificates, new listener addresses): if anything
   * is wrong, nothing changes and the error says where. One reload at a time.
   */
  reload(): Promise<ReloadResult> {
    const run = this.reloading.then(() => this.reloadNow());
    this.reloading = run.catch(() => undefined);
    return run;
  }

  /** Reopens the log file after rotation (SIGUSR1, and every reload); nothing to do when logging to stdout. */
  reopenLog(): void {
    this.logFile?.reopen();
  }

  private async reloadNow(): Promise<ReloadResult> {
    const refuse = (error: string): ReloadResult => {
      this.log.error({ error }, "reload refused; the running configuration is kept");
      return { ok: false, error };
    };
    if (this.stopping) return refuse("the server is shutting down");
    if (!this.configSource || !this.certs || !this.clientSettings || !this.webSocket)
      return refuse("this server was not started from a configuration file");
    this.reopenLog();
    const { result, config } = await reloadServer({
      running: this.running,
      source: this.configSource,
      log: this.log,
      certificates: this.certs,
      clientListeners: this.clientListeners,
      http: this.http,
      s2s: this.s2s,
      loader: this.modules,
      sessions: this.core.sessions,
      clients: { settings: this.clientSettings, webSocket: this.webSocket, bosh: this.bosh, streams: this.streams },
      hosts: this.live.hosts,
      admins: this.live.admins,
    });
    if (config) {
      // Streams of a removed host not bound yet (their sessions ended already): RFC 6120 §4.9.3.6.
      const gone = new Set(this.running.hosts.filter((h) => !config.hosts.includes(h)));
      for (const stream of [...this.streams]) if (gone.has(stream.host)) stream.close(new StreamError("host-gone"));
      this.running = config;
      // The reload set admins from the file: the LDAP group's members join them again, read afresh.
      this.directoryAdmins?.apply();
      void this.directoryAdmins?.refresh();
      Object.assign(this.ports, {
        c2s: this.clientListeners[0]?.port,
        c2s_direct_tls: this.clientListeners[1]?.port,
        ...this.http.ports,
        ...this.s2s?.ports,
      });
      this.certificates?.reloaded();
    }
    return result;
  }

  /** Graceful shutdown: every stream gets <system-shutdown/>, storage is flushed and closed. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.log.info("shutting down");
      this.readiness.phase = "stopping";
      this.stats.stop();
      this.certificates?.stop();
      await this.core.hooks.notify("server.stopping", {});
      for (const l of this.clientListeners) l.close();
      this.components?.close(new StreamError("system-shutdown"));
      const httpClosed = this.http.close();
      await this.control?.close();
      for (const s of this.streams) s.close(new StreamError("system-shutdown"));
      await this.s2s?.close();
      // Sessions waiting for resumption have no stream: they end now.
      for (const session of [...this.core.sessions.all()]) session.close(new StreamError("system-shutdown"));
      // Give the sockets a moment to flush the shutdown notice.
      if (this.streams.size > 0) await new Promise((r) => setTimeout(r, 200));
      // BOSH sessions that had no request to carry the shutdown notice end now.
      this.bosh?.close();
      await httpClosed;
      this.clusterServices?.close();
      this.modules.unloadAll();
      // After the sessions' ends were published: the others see this node leave at once (a clean leave).
      this.cluster?.registry.close();
      await this.cluster?.bus.close();
      this.core.iq.close();
      this.directoryAdmins?.stop();
      await this.accountProviders?.close();
      await this.storage.close();
      this.log.info("stopped");
      this.logFile?.flush();
    })();
    return this.stopping;
  }
}

/** Takes a stream out of its set when its connection closes: a small object, not a closure and its context (issue 13). */
class LeavesOnClose<T> implements ConnectionListener {
  constructor(
    private readonly set: Set<T>,
    private readonly member: T,
  ) {}

  connectionClosed(): void {
    this.set.delete(this.member);
  }
}
