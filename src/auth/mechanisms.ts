// The SASL mechanisms a server offers for one account provider, strongest first (RFC 6120 §6.3.3: the client
// picks; offering the strongest first helps clients that take the first one they know).
import { SASL_MECHANISMS } from "../core/config/schema.js";
import { plainMechanism } from "./plain-mechanism.js";
import { type ScramMechanismOptions, scramMechanism } from "./scram-mechanism.js";
import type { AccountProvider, SaslMechanism } from "./types.js";

// One list of mechanism names for the config schema and the mechanisms themselves.
export const MECHANISM_PREFERENCE = SASL_MECHANISMS;

export type MechanismName = (typeof MECHANISM_PREFERENCE)[number];

export interface BuildMechanismsOptions {
  /** Passed to every SCRAM mechanism (stand-in credentials for unknown users). */
  scram?: Omit<ScramMechanismOptions, "plusOffered">;
}

/**
 * Builds the enabled mechanisms (all when `enabled` is undefined) in preference order, whatever order `enabled`
 * lists them in. Throws on a name that is not a supported mechanism, so a misspelt config entry is not ignored.
 */
export function buildMechanisms(
  provider: AccountProvider,
  enabled?: string[],
  options: BuildMechanismsOptions = {},
): SaslMechanism[] {
  const wanted = new Set<string>(enabled === undefined ? MECHANISM_PREFERENCE : enabled.map((n) => n.toUpperCase()));
  for (const name of wanted) {
    if (!(MECHANISM_PREFERENCE as readonly string[]).includes(name)) {
      throw new Error(`unknown SASL mechanism "${name}"; supported: ${MECHANISM_PREFERENCE.join(", ")}`);
    }
  }

  const plus: SaslMechanism[] = [];
  // RFC 5802 §6: a 'y' flag is a downgrade only if this connection was actually offered a -PLUS mechanism.
  const scramOptions: ScramMechanismOptions = {
    ...options.scram,
    plusOffered: (ctx) => plus.some((m) => m.available(ctx)),
  };
  const build: Record<MechanismName, () => SaslMechanism> = {
    "SCRAM-SHA-256-PLUS": () => scramMechanism("SHA-256", true, provider, scramOptions),
    "SCRAM-SHA-1-PLUS": () => scramMechanism("SHA-1", true, provider, scramOptions),
    "SCRAM-SHA-256": () => scramMechanism("SHA-256", false, provider, scramOptions),
    "SCRAM-SHA-1": () => scramMechanism("SHA-1", false, provider, scramOptions),
    PLAIN: () => plainMechanism(provider),
  };
  const mechanisms = MECHANISM_PREFERENCE.filter((name) => wanted.has(name)).map((name) => build[name]());
  plus.push(...mechanisms.filter((m) => m.name.endsWith("-PLUS")));
  return mechanisms;
}
