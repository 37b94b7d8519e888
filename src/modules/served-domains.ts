// The domains a config makes the server answer for: its hosts, the module services (conference.<host>,
// upload.<host> …) and the XEP-0114 components. Read from the config alone, so that `natter cert status`
// with the server stopped names the same domains as the running server's router (which the server adds too).
import type { Config } from "../core/config/index.js";
import { tryParseJid } from "../core/jid.js";
import { planModules } from "./module-plan.js";

/** Module services on a domain of their own, and the option that names it ("" or absent: `<prefix>.<host>`). */
const SERVICE_PREFIXES: Record<string, string> = { muc: "conference", "http-upload": "upload", "irc-gateway": "irc" };

/** Per config object: metrics ask at every scrape, and planning validates every module's options. */
const cache = new WeakMap<Config, string[]>();

export function servedDomains(config: Config): string[] {
  let domains = cache.get(config);
  if (domains === undefined) {
    domains = collect(config);
    cache.set(config, domains);
  }
  return domains;
}

function collect(config: Config): string[] {
  const domains = new Set<string>(config.hosts);
  for (const m of planModules(config)) {
    const prefix = SERVICE_PREFIXES[m.name];
    if (prefix === undefined) continue;
    const named = (m.options as { domain?: string }).domain;
    for (const host of config.hosts) {
      // "{host}" in a domain option stands for each host (the irc-gateway's `domain`).
      const given = named?.replaceAll("{host}", host);
      domains.add(given === undefined || given === "" ? `${prefix}.${host}` : (tryParseJid(given)?.domain ?? given));
    }
  }
  for (const c of config.components) domains.add(c.domain);
  return [...domains];
}
