// Which settings a reload applies to the running server, which it cannot apply at all, and which wait for the
// next restart. A reload never half-applies a section it cannot change live: such a section keeps its running
// value (so `server.config` says what runs) and the reload's changes say the new value waits for a restart.
import type { Config } from "../core/config/index.js";

type Path = readonly string[];

/** Changing these while the server runs would lose data or split it in two: the reload is refused whole. */
const REFUSED: { path: Path; why: string }[] = [
  { path: ["data_dir"], why: "the data directory holds the database, the server secret and uploads" },
  { path: ["storage"], why: "the storage driver and database hold every account and message" },
];

/** The s2s policy (who may federate, and how): checked at each new s2s stream and stanza. */
export const S2S_POLICY_KEYS = ["allow_domains", "deny_domains", "secure", "dialback", "require_encryption"] as const;
/** s2s limits, timeouts and resolve overrides: taken by links opened after the reload. */
export const S2S_STREAM_KEYS = [
  "resolve",
  "connect_timeout",
  "negotiation_timeout",
  "idle_timeout",
  "max_queue",
  "max_queue_bytes",
  "rate_limit",
  "max_unsent_bytes",
  "max_stanza_size",
  "max_elements_per_stanza",
  "max_attributes_per_element",
  "pre_auth",
] as const;

/** Every bosh setting but `enabled`: taken by new sessions and requests (mount-bosh.ts). */
const BOSH_KEYS = [
  "allowed_origins",
  "max_wait",
  "max_hold",
  "max_requests",
  "inactivity",
  "max_pause",
  "polling",
  "max_body_bytes",
  "max_queued_bytes",
  "max_sessions",
  "max_sessions_per_address",
] as const;

/** Settings the reload applies live (everything else waits for a restart). */
const LIVE: Path[] = [
  ["hosts"],
  ["log_level"],
  ["admins"],
  ["tls", "certificates"],
  ["modules"],
  ["send"],
  ["listeners", "c2s"],
  ["listeners", "c2s_direct_tls"],
  ["listeners", "http"],
  ["listeners", "https"],
  // Client connections: new connections and logins take them (apply-client-settings.ts).
  ["c2s"],
  // XEP-0484 FAST: the next logins take them too (transports/client-settings.ts).
  ["fast"],
  // auth: all but where passwords are checked (provider, host_providers, cache, ldap, external, http): the
  // providers are built at start (auth/account-providers.ts), so those wait for a restart.
  ["auth", "scram_iterations"],
  ["auth", "scram_downgrade_check"],
  ["auth", "throttle"],
  ["unauthenticated"],
  ["event_loop"],
  // Turning WebSocket or BOSH on or off waits for a restart: host-meta and /chat, built at start, name them.
  ["websocket", "allowed_origins"],
  ["websocket", "see_other_uri"],
  ...BOSH_KEYS.map((key) => ["bosh", key]),
  ["hide_account_existence"],
  ...S2S_POLICY_KEYS.map((key) => ["s2s", key]),
];

/** Live only while federation runs (turning s2s.enabled on or off takes a restart). */
const LIVE_WITH_S2S: Path[] = [
  ["listeners", "s2s"],
  ["listeners", "s2s_direct_tls"],
  ...S2S_STREAM_KEYS.map((key) => ["s2s", key]),
];

function at(config: unknown, path: Path): unknown {
  let node = config;
  for (const key of path) node = (node as Record<string, unknown> | undefined)?.[key];
  return node;
}

export function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Why the reload must be refused, one line per setting; empty when it may go on. */
export function refusedChanges(running: Config, next: Config): string[] {
  return REFUSED.filter(({ path }) => !sameValue(at(running, path), at(next, path))).map(
    ({ path, why }) => `${path.join(".")} cannot change while the server runs (${why}): restart to apply it`,
  );
}

/**
 * The config to run with: `next` where a setting is applied live, `running` elsewhere; and one line per
 * setting that changed in the file but waits for a restart.
 */
export function splitLiveChanges(running: Config, next: Config): { config: Config; pending: string[] } {
  const pending: string[] = [];
  const live = running.s2s.enabled ? [...LIVE, ...LIVE_WITH_S2S] : LIVE;
  const keep = (path: string[], runningNode: unknown, nextNode: Record<string, unknown>): void => {
    for (const key of Object.keys(nextNode)) {
      const p = [...path, key];
      const isLive = live.some((live) => live.length === p.length && live.every((k, i) => k === p[i]));
      if (isLive) continue;
      const hasLiveBelow = live.some((live) => live.length > p.length && p.every((k, i) => live[i] === k));
      const before = (runningNode as Record<string, unknown>)[key];
      if (hasLiveBelow) {
        keep(p, before, nextNode[key] as Record<string, unknown>);
      } else if (!sameValue(before, nextNode[key]) && !REFUSED.some((r) => r.path.join(".") === p.join("."))) {
        pending.push(`${p.join(".")}: changed in the file; applies at the next restart`);
        nextNode[key] = before;
      }
    }
  };
  const config = structuredClone(next);
  keep([], running, config as unknown as Record<string, unknown>);
  return { config, pending };
}
