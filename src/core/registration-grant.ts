// What lets a client register in-band on a host whose registration is closed (XEP-0445): the invites module puts
// a grant on the pre-authentication stream once the client showed a valid token; the register module finds it
// there and creates the account through it. Core holds only the shape, so neither module imports the other.
import type { PreAuthStream } from "./hooks.js";
import { defineSessionState } from "./session-state.js";

// Node-local: it lives on one pre-authentication stream.
export const REGISTRATION_GRANT = defineSessionState<RegistrationGrant>("registration-grant", { shared: false });

export interface RegistrationGrant {
  /**
   * Creates the account `username` (enforced local part) with `create`, if the token still allows it (unused,
   * not expired, the username it reserves). Throws the StanzaError to answer when it does not; the token is
   * used up only when `create` succeeded. Runs the XEP-0379 subscription afterwards when the invite asks.
   */
  redeem(username: string, create: () => Promise<void>): Promise<void>;
}

export function registrationGrant(stream: PreAuthStream): RegistrationGrant | undefined {
  return stream.state.get(REGISTRATION_GRANT);
}
