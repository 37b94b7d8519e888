// One reload of a running server (issue 14), in three steps so that a bad file changes nothing:
// 1. validate the new config whole (schema, module options and dependencies, certificates, what may not change),
// 2. open new listener addresses (the one step that can still fail; undone on failure),
// 3. apply: listeners, certificates, log level, admins, client settings, s2s stream settings and policy, then
//    hosts and modules.
import type { Logger } from "pino";
import type { ReloadResult } from "../admin/types.js";
import { type Config, ConfigError } from "../core/config/index.js";
import type { ModuleLoader } from "../core/module-loader.js";
import type { SessionRegistry } from "../core/session-registry.js";
import { CertificateStore } from "../core/tls/certificates.js";
import { type PlannedModule, planModules } from "../modules/module-plan.js";
import type { ListenerGroup, PreparedListenerChange } from "../transports/listener-group.js";
import type { S2sService } from "../transports/s2s/s2s-service.js";
import type { HttpServer } from "../web/http-server.js";
import { applyClientSettings, type ClientReloadTarget } from "./apply-client-settings.js";
import { applyModuleChanges, keepOptionsOfLiveModules } from "./apply-modules.js";
import { refusedChanges, S2S_POLICY_KEYS, S2S_STREAM_KEYS, sameValue, splitLiveChanges } from "./config-changes.js";
import { swapCertificates } from "./swap-certificates.js";

/** What a reload changes in the server; everything is the running server's own object, changed in place. */
export interface ReloadTarget {
  running: Config;
  source: () => Config | Promise<Config>;
  log: Logger;
  /** Shared by every TLS listener and s2s: a reload swaps its content. */
  certificates: CertificateStore;
  /** c2s and c2s direct TLS. */
  clientListeners: readonly ListenerGroup[];
  http: HttpServer;
  s2s: S2sService | undefined;
  loader: ModuleLoader;
  sessions: SessionRegistry;
  /** Client connection settings, the WebSocket endpoint and the open client streams. */
  clients: ClientReloadTarget;
  /** The router's host set and the admins set. */
  hosts: Set<string>;
  admins: Set<string>;
}

type ListenerName = "c2s" | "c2s_direct_tls" | "http" | "https" | "s2s" | "s2s_direct_tls";

/** The result, and the config now running when the reload went ahead. */
export async function reloadServer(t: ReloadTarget): Promise<{ result: ReloadResult; config?: Config }> {
  const refuse = (error: string) => {
    t.log.error({ error }, "reload refused; the running configuration is kept");
    return { result: { ok: false, error } as ReloadResult };
  };
  const { running } = t;
  // 1. Validate.
  let next: Config;
  let pending: string[];
  let plan: PlannedModule[];
  let certs: CertificateStore;
  try {
    const read = await t.source();
    const refused = refusedChanges(running, read);
    if (refused.length > 0) return refuse(refused.join("; "));
    plan = planModules(read);
    ({ config: next, pending } = splitLiveChanges(running, read));
    // Re-read even when the paths are the same: renewed certificates are usually written over the old files.
    certs = await CertificateStore.fromConfig(next, (msg) => t.log.info(msg));
  } catch (err) {
    if (err instanceof ConfigError) return refuse(err.message);
    return refuse(err instanceof Error ? err.message : String(err));
  }
  const runningPlan = planModules(running);
  // Modules that keep live state keep the running value of what they cannot change in place (the config says so).
  const kept = keepOptionsOfLiveModules(runningPlan, plan, running, next);
  plan = kept.plan;

  // 2. Open new listener addresses; nothing is closed yet.
  const prepared: PreparedListenerChange[] = [];
  try {
    for (const group of [...t.clientListeners, ...t.http.listenerGroups, ...(t.s2s?.listenerGroups ?? [])]) {
      const change = await group.prepare(next.listeners[group.name as ListenerName]);
      if (change) prepared.push(change);
    }
  } catch (err) {
    for (const p of prepared) p.abort();
    return refuse((err as Error).message);
  }

  // 3. Apply.
  const changes: string[] = [];
  for (const p of prepared) {
    p.commit();
    changes.push(p.description);
  }
  if (running.listeners.http.public_url !== next.listeners.http.public_url) {
    t.http.setPublicUrl(next.listeners.http.public_url);
    changes.push(`listeners.http.public_url: now ${next.listeners.http.public_url || `derived (${t.http.publicUrl})`}`);
  }
  if (!sameValue(t.certificates.fingerprints(), certs.fingerprints())) {
    swapCertificates(t, certs);
    changes.push(
      `tls: new certificates for new connections (${certs.certificates.map((c) => c.names[0] ?? "?").join(", ")})`,
    );
  }
  if (running.log_level !== next.log_level) {
    // Child loggers inherit the level unless they set their own (pino), so this reaches every module's.
    t.log.level = next.log_level;
    changes.push(`log_level: ${running.log_level} → ${next.log_level}`);
  }
  if (!sameValue(running.admins, next.admins)) {
    t.admins.clear();
    for (const a of next.admins) t.admins.add(a);
    changes.push(`admins: now ${next.admins.length > 0 ? next.admins.join(", ") : "none"}`);
  }
  if (!sameValue(running.send, next.send)) changes.push("send: changed");
  changes.push(...applyClientSettings(t.clients, running, next));
  const s2sChanged = (keys: readonly (keyof Config["s2s"])[]) =>
    keys.some((key) => !sameValue(running.s2s[key], next.s2s[key]));
  // s2s parser limits take their depth from c2s.max_depth.
  if (t.s2s && (s2sChanged(S2S_STREAM_KEYS) || running.c2s.max_depth !== next.c2s.max_depth)) {
    t.s2s.setStreamSettings(next);
    if (s2sChanged(S2S_STREAM_KEYS)) changes.push("s2s: new limits, timeouts and resolve overrides for new links");
  }
  if (s2sChanged(S2S_POLICY_KEYS)) {
    const ended = t.s2s?.setPolicy(next.s2s) ?? 0;
    changes.push(
      `s2s policy: changed${ended > 0 ? ` (${ended} link${ended === 1 ? "" : "s"} with domains no longer allowed ended)` : ""}`,
    );
  }
  changes.push(
    ...(await applyModuleChanges({
      loader: t.loader,
      sessions: t.sessions,
      hosts: t.hosts,
      nextHosts: next.hosts,
      running: runningPlan,
      next: plan,
      log: t.log,
    })),
  );
  changes.push(...kept.notes);
  changes.push(...pending);
  t.log.info({ changes }, changes.length > 0 ? "configuration reloaded" : "configuration reloaded: nothing changed");
  return { result: { ok: true, changes }, config: next };
}
