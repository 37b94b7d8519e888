// The settings of client connections (c2s.*, auth.*, unauthenticated.*), built from a Config in this one place
// at start and again at each reload. A new connection takes the options current when it arrives and keeps them
// (its parser limits, timeouts, mechanisms were announced to it); the login throttle and the unauthenticated
// connection caps are changed in place, so their counts survive a reload.
import type { Logger } from "pino";
import { LoginThrottle, type LoginThrottleOptions, throttleLogLine } from "../auth/login-throttle.js";
import type { ScramDowngradeCheck } from "../auth/scram-mechanism.js";
import type { Config } from "../core/config/index.js";
import { parserLimits } from "../core/config/parser-limits.js";
import type { C2sOptions } from "../stream/c2s-stream.js";
import { ResumptionRegistry } from "../stream/resumption-registry.js";
import { UnauthenticatedConnections, type UnauthenticatedLimits } from "./unauthenticated-connections.js";

/** The options a new client stream starts with. */
export function c2sOptionsFrom(config: Config, serverSecret: Buffer, resumption: ResumptionRegistry): C2sOptions {
  const { c2s, auth } = config;
  const sm = c2s.stream_management;
  return {
    requireEncryption: c2s.require_encryption,
    ...parserLimits(c2s, c2s.max_depth),
    negotiationTimeoutMs: c2s.negotiation_timeout * 1000,
    mechanisms: [...c2s.sasl_mechanisms],
    maxAuthAttempts: 5,
    scramIterations: auth.scram_iterations,
    scramDowngradeCheck: (auth.scram_downgrade_check === "plus_offered"
      ? "plus-offered"
      : "client-shown") as ScramDowngradeCheck,
    serverSecret,
    keepaliveMs: c2s.keepalive_interval * 1000,
    parserReleaseMs: c2s.parser_release_after * 1000,
    maxPendingBytes: c2s.max_unsent_bytes,
    rateLimits: c2s.rate_limits,
    maxSessionsPerAccount: c2s.max_sessions_per_account,
    ...(c2s.sasl2.enabled ? { sasl2: { maxUserAgents: c2s.sasl2.max_user_agents } } : {}),
    ...(c2s.sasl2.enabled && config.fast.enabled
      ? {
          fast: {
            mechanisms: [...config.fast.mechanisms],
            lifetime: config.fast.token_lifetime,
            rotateAfter: config.fast.rotate_after,
            maxTokensPerAccount: config.fast.max_tokens_per_account,
          },
        }
      : {}),
    streamManagement: sm.enabled
      ? { resumeTimeout: sm.resume_timeout, maxUnacked: sm.max_unacked, maxUnackedBytes: sm.max_unacked_bytes }
      : undefined,
    resumption,
  };
}

/** auth.throttle as the LoginThrottle's options (without its onThrottle reporter). */
export function loginThrottleOptionsFrom(config: Config): LoginThrottleOptions {
  const limits = config.auth.throttle;
  const tier = (t: { delay_after: number; attempts: number; window: number }) => ({
    delayAfter: t.delay_after,
    attempts: t.attempts,
    windowSeconds: t.window,
  });
  return {
    perIp: tier(limits.per_ip),
    perIpAccount: tier(limits.per_ip_account),
    perAccount: { delayAfter: limits.per_account.delay_after, windowSeconds: limits.per_account.window },
    initialDelaySeconds: limits.initial_delay,
    maxDelaySeconds: limits.max_delay,
    maxAccountDelaySeconds: limits.max_account_delay,
    exempt: limits.exempt,
    maxEntries: limits.max_entries,
  };
}

export function unauthenticatedLimitsFrom(config: Config): UnauthenticatedLimits {
  return {
    maxConnections: config.unauthenticated.max_connections,
    maxPerAddress: config.unauthenticated.max_connections_per_address,
    exemptAddresses: config.unauthenticated.exempt_addresses,
  };
}

export class ClientSettings {
  /** What the next client stream starts with; replaced whole by a reload, so a stream's own copy never changes. */
  c2s: C2sOptions;
  /** One count of failed logins for every client transport and the admin console. */
  readonly throttle: LoginThrottle;
  /** One count of unauthenticated connections for every listener: they share the memory they cost. */
  readonly unauthenticated: UnauthenticatedConnections;
  /** Kept across reloads: the secret is the data directory's, and sessions waiting for resumption are in the registry. */
  private readonly serverSecret: Buffer;
  private readonly resumption = new ResumptionRegistry();
  private readonly onThrottle: LoginThrottleOptions["onThrottle"];

  constructor(config: Config, serverSecret: Buffer, log: Logger) {
    this.serverSecret = serverSecret;
    // Once per episode and level, so an attack does not flood the log (one line per attempt would).
    this.onThrottle = (event) => {
      const { msg, fields } = throttleLogLine(event);
      log.warn(fields, msg);
    };
    this.c2s = c2sOptionsFrom(config, serverSecret, this.resumption);
    this.throttle = new LoginThrottle({ ...loginThrottleOptionsFrom(config), onThrottle: this.onThrottle });
    this.unauthenticated = new UnauthenticatedConnections(unauthenticatedLimitsFrom(config));
  }

  /** Takes the reloaded config's settings for new connections and logins. */
  apply(config: Config): void {
    this.c2s = c2sOptionsFrom(config, this.serverSecret, this.resumption);
    this.throttle.reconfigure({ ...loginThrottleOptionsFrom(config), onThrottle: this.onThrottle });
    this.unauthenticated.setLimits(unauthenticatedLimitsFrom(config));
  }
}
