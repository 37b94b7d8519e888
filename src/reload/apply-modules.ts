// The module and host half of a reload: hosts removed (their sessions end with <host-gone/>, their modules
// unload), modules turned off, modules whose options changed (unloaded and loaded again: what they keep in
// stores survives, since a module keeps no state outside its context; a module with live state is handed its
// new options in place instead, keeping that state), modules turned on, hosts added.
import type { Logger } from "pino";
import type { Config } from "../core/config/index.js";
import { StreamError } from "../core/errors.js";
import type { ModuleLoader } from "../core/module-loader.js";
import type { SessionRegistry } from "../core/session-registry.js";
import type { PlannedModule } from "../modules/module-plan.js";
import { sameValue } from "./config-changes.js";

export interface ModuleChangeInput {
  loader: ModuleLoader;
  sessions: SessionRegistry;
  /** The router's set of local hosts: changed in place. */
  hosts: Set<string>;
  nextHosts: readonly string[];
  running: readonly PlannedModule[];
  next: readonly PlannedModule[];
  log: Logger;
}

/**
 * Option changes a module with live state cannot take (ModuleDefinition.liveState): all of them for a module
 * without liveOptions, the `except` ones for a module with it. They keep their running values, in the plan and
 * in the config that will run (`nextConfig`, changed in place), so that the config says what runs; one line each
 * for the operator. Returns the plan to apply.
 */
export function keepOptionsOfLiveModules(
  running: readonly PlannedModule[],
  next: readonly PlannedModule[],
  runningConfig: Config,
  nextConfig: Config,
): { plan: PlannedModule[]; notes: string[] } {
  const notes: string[] = [];
  const plan = next.map((n) => {
    const r = running.find((m) => m.name === n.name);
    const live = n.definition.liveState;
    if (r === undefined || live === undefined || sameValue(r.options, n.options)) return n;
    const why = `the module keeps ${live} in memory only, which reloading it would lose; restart to apply`;
    const inPlace = n.definition.liveOptions;
    if (inPlace === undefined) {
      nextConfig.modules[n.name] = runningConfig.modules[n.name]!;
      notes.push(`modules.${n.name}: options changed but not applied: ${why}`);
      return r;
    }
    const was = r.options as Record<string, unknown>;
    const options = { ...(n.options as Record<string, unknown>) };
    const fixed = (inPlace.except ?? []).filter((k) => !sameValue(was[k], options[k]));
    if (fixed.length === 0) return n;
    const runningRaw = rawOptions(runningConfig.modules[n.name]);
    const raw = { ...rawOptions(nextConfig.modules[n.name]) };
    for (const k of fixed) {
      options[k] = was[k];
      if (k in runningRaw) raw[k] = runningRaw[k];
      else delete raw[k];
      notes.push(`modules.${n.name}.${k}: changed but not applied: ${why}`);
    }
    nextConfig.modules[n.name] = raw as Config["modules"][string];
    return { ...n, options };
  });
  return { plan, notes };
}

/** A module's entry under `modules:` as options (`true`, `{}` and null all mean "the defaults"). */
function rawOptions(entry: unknown): Record<string, unknown> {
  return typeof entry === "object" && entry !== null ? (entry as Record<string, unknown>) : {};
}

/** Applies the changes; returns one line per change for the operator. A module that fails to load is reported, not thrown. */
export async function applyModuleChanges(input: ModuleChangeInput): Promise<string[]> {
  const { loader, sessions, hosts, nextHosts, running, next, log } = input;
  const changes: string[] = [];
  const removedHosts = [...hosts].filter((h) => !nextHosts.includes(h));
  const addedHosts = nextHosts.filter((h) => !hosts.has(h));

  for (const host of removedHosts) {
    let ended = 0;
    // RFC 6120 §4.9.3.6: the host is no longer served here.
    for (const session of [...sessions.ofHost(host)]) {
      session.close(new StreamError("host-gone", `${host} is no longer served here`));
      ended++;
    }
    for (const m of loader.loaded(host).reverse()) m.unload();
    hosts.delete(host);
    changes.push(`hosts: removed ${host} (${ended} session${ended === 1 ? "" : "s"} ended with host-gone)`);
  }

  const byName = (list: readonly PlannedModule[]) => new Map(list.map((m) => [m.name, m]));
  const before = byName(running);
  const after = byName(next);
  const turnedOff = running.filter((m) => !after.has(m.name));
  let changed = next.filter((m) => before.has(m.name) && !sameValue(before.get(m.name)!.options, m.options));
  const turnedOn = next.filter((m) => !before.has(m.name));
  const kept = [...hosts];
  // keepOptionsOfLiveModules left only changes such a module takes in place.
  const inPlace = changed.filter((m) => m.definition.liveState !== undefined);
  for (const m of inPlace) {
    const failed: string[] = [];
    for (const host of kept) {
      try {
        loader.loaded(host).find((l) => l.name === m.name)?.reconfigure(m.options);
      } catch (err) {
        log.error({ err, module: m.name, host }, "module refused its new options on reload; it keeps the old ones");
        failed.push(`${host}: ${(err as Error).message}`);
      }
    }
    changes.push(
      failed.length === 0
        ? `modules.${m.name}: options changed; applied in place, keeping ${m.definition.liveState}`
        : `modules.${m.name}: options changed, but refused on ${failed.join("; ")}; the old ones stay there`,
    );
  }
  changed = changed.filter((m) => !inPlace.includes(m));

  // Unload dependants before what they depend on: the reverse of the load order.
  for (const m of [...turnedOff, ...changed].reverse()) {
    for (const host of kept) loader.loaded(host).find((l) => l.name === m.name)?.unload();
  }
  for (const m of turnedOff) {
    if (m.definition.liveState) log.warn({ module: m.name }, `module turned off: its ${m.definition.liveState} are gone`);
    changes.push(`modules.${m.name}: turned off`);
  }
  // Load in plan order, so that a module's dependencies are there first.
  for (const m of next) {
    const isChanged = changed.includes(m);
    if (!isChanged && !turnedOn.includes(m)) continue;
    const failed: string[] = [];
    for (const host of kept) {
      try {
        await loader.load(host, m.definition, m.options as never);
      } catch (err) {
        log.error({ err, module: m.name, host }, "module failed to load on reload");
        failed.push(`${host}: ${(err as Error).message}`);
        // Options that worked before are better than no module at all.
        const old = before.get(m.name);
        if (isChanged && old && !loader.isLoaded(host, m.name)) {
          await loader.load(host, old.definition, old.options as never).catch(() => undefined);
        }
      }
    }
    const verb = isChanged ? "options changed; reloaded" : "turned on";
    changes.push(
      failed.length === 0 ? `modules.${m.name}: ${verb}` : `modules.${m.name}: ${verb}, but failed to load on ${failed.join("; ")}`,
    );
  }

  for (const host of addedHosts) {
    hosts.add(host);
    const failed: string[] = [];
    for (const m of next) {
      try {
        await loader.load(host, m.definition, m.options as never);
      } catch (err) {
        log.error({ err, module: m.name, host }, "module failed to load on a new host");
        failed.push(`${m.name} (${(err as Error).message})`);
      }
    }
    const loaded = next.length - failed.length;
    changes.push(`hosts: added ${host} (${loaded} modules loaded${failed.length > 0 ? `; failed: ${failed.join(", ")}` : ""})`);
  }
  return changes;
}
