// Loads modules per virtual host, checks their dependencies, and keeps what each registered so that
// unloading removes it all (DESIGN.md "Register through ctx and keep no state outside it").
import type { IqTarget } from "./iq-dispatch.js";
import type { CoreServices, DiscoIdentity, LoadedModule, ModuleContext, ModuleDefinition } from "./modules.js";

export class ModuleLoader {
  private readonly core: CoreServices;
  private readonly byHost = new Map<string, Map<string, LoadedModule>>();
  private loads = 0;
  /** ModuleContext.perServer values: this loader is the server's one. */
  private readonly perServerValues = new Map<symbol, unknown>();

  constructor(core: CoreServices) {
    this.core = core;
  }

  /** Loads one module on one host with already-validated options. */
  async load<O>(host: string, def: ModuleDefinition<O>, options: O): Promise<LoadedModule> {
    const mods = this.byHost.get(host) ?? new Map<string, LoadedModule>();
    this.byHost.set(host, mods);
    if (mods.has(def.name)) throw new Error(`module ${def.name} is already loaded on ${host}`);
    for (const dep of def.depends ?? []) {
      if (!mods.has(dep)) throw new Error(`module ${def.name} needs module ${dep}, which is not loaded on ${host}`);
    }
    const core = this.core;
    const removers: (() => void)[] = [];
    const timers: NodeJS.Timeout[] = [];
    const features: { ns: string; target: IqTarget }[] = [];
    const identities: DiscoIdentity[] = [];
    const log = core.log.child({ module: def.name, host });
    const owner = `${def.name}@${host}`;
    let current = options;
    const optionHandlers: ((options: O, previous: O) => void)[] = [];
    const ctx: ModuleContext<O> = {
      name: def.name,
      host,
      get options() {
        return current;
      },
      log,
      sessions: core.sessions,
      get cluster() {
        return core.cluster;
      },
      admin: core.admin,
      hook(name, handler, opts) {
        removers.push(core.hooks.add(name, handler as never, owner, opts?.priority ?? 0));
      },
      hookFirst(name, handler, opts) {
        removers.push(core.hooks.add(name, handler as never, owner, opts?.priority ?? 0));
      },
      hookFold(name, handler, opts) {
        removers.push(core.hooks.add(name, handler as never, owner, opts?.priority ?? 0));
      },
      iq(to, type, ns, name, handler) {
        removers.push(core.iq.register(host, to, type, ns, name, handler, owner));
      },
      feature(ns, target = "host") {
        features.push({ ns, target });
      },
      identity(category, type, name) {
        identities.push(name === undefined ? { category, type } : { category, type, name });
      },
      store(name, kind) {
        return core.storage.open(host, name, kind);
      },
      component(domain, handler) {
        removers.push(core.router.registerComponent(domain, handler));
      },
      http(prefix, handler, options) {
        removers.push(core.http.route(prefix, handler, options));
      },
      command(node, definition) {
        removers.push(core.commands.register(host, node, definition, owner));
      },
      route: (stanza, origin) => core.router.route(stanza, origin),
      deliver: (session, stanza, receipt) => core.router.deliver(session, stanza, receipt),
      messageTargets: (bare, all) => core.router.messageTargets(bare, all),
      notify: (name, payload) => core.hooks.notify(name, payload),
      fold: (name, args) => core.hooks.fold(name, args),
      request: (iq, timeoutMs) => core.iq.request(iq, timeoutMs),
      accounts: core.accounts,
      admins: core.admins,
      hosts: core.hosts,
      bounce: (stanza, error) => core.router.bounce(stanza, error),
      counters: core.counters,
      componentDomains: () => core.router.componentDomains(),
      disco: core.disco,
      commands: core.commands,
      get publicUrl() {
        return core.http.publicUrl;
      },
      dataDir: core.dataDir,
      startedAt: core.startedAt,
      version: core.version,
      deleteUserData: (user) => core.storage.deleteUser(host, user),
      perServer: <T>(key: symbol, make: () => T): T => {
        if (!this.perServerValues.has(key)) this.perServerValues.set(key, make());
        return this.perServerValues.get(key) as T;
      },
      provideAdmin(part) {
        removers.push(core.admin.provide(part));
      },
      onOptionsChanged(handler) {
        optionHandlers.push(handler);
      },
      timer(ms, fn) {
        const t = setInterval(() => {
          Promise.resolve()
            .then(fn)
            .catch((err: unknown) => log.error({ err }, "module timer failed"));
        }, ms);
        t.unref();
        timers.push(t);
      },
      onUnload(fn) {
        removers.push(() => {
          try {
            fn();
          } catch (err) {
            log.error({ err }, "module unload handler failed");
          }
        });
      },
    };
    await def.setup(ctx);
    const loaded: LoadedModule = {
      name: def.name,
      host,
      definition: def as ModuleDefinition<unknown>,
      features,
      identities,
      get options() {
        return current;
      },
      reconfigure: (next) => {
        const previous = current;
        current = next as O;
        try {
          for (const h of optionHandlers) h(current, previous);
        } catch (err) {
          // Back to what ran before, in every handler: the module stays whole on its old options.
          current = previous;
          for (const h of optionHandlers) {
            try {
              h(previous, next as O);
            } catch {
              // already failing: the first error is the one reported
            }
          }
          throw err;
        }
        log.info("module options changed in place");
      },
      unload: () => {
        for (const r of removers) r();
        for (const t of timers) clearInterval(t);
        mods.delete(def.name);
        this.loads++;
      },
    };
    mods.set(def.name, loaded);
    this.loads++;
    log.debug("module loaded");
    return loaded;
  }

  /** Counts module loads and unloads: see CoreServices.disco.generation. */
  get generation(): number {
    return this.loads;
  }

  loaded(host: string): LoadedModule[] {
    return [...(this.byHost.get(host)?.values() ?? [])];
  }

  isLoaded(host: string, name: string): boolean {
    return this.byHost.get(host)?.has(name) ?? false;
  }

  /** Disco features of a host or account: registered IQ namespaces plus declared features. */
  features(host: string, target: IqTarget): string[] {
    const out = new Set(this.core.iq.namespaces(host, target));
    for (const m of this.loaded(host)) for (const f of m.features) if (f.target === target) out.add(f.ns);
    return [...out].sort();
  }

  identities(host: string): DiscoIdentity[] {
    return this.loaded(host).flatMap((m) => m.identities);
  }

  unloadAll(): void {
    for (const mods of this.byHost.values()) for (const m of [...mods.values()]) m.unload();
  }
}
