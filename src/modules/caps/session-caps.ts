// What the caps module knows of a session's XEP-0115 capabilities, for other modules (PEP's XEP-0163 §4.2
// notification filtering): kept in the session's own state, so it ends with the session.
import type { Session } from "../../core/session.js";
import { defineSessionState } from "../../core/session-state.js";

export interface SessionCaps {
  node: string;
  ver: string;
  /** Absent for legacy (pre-1.5) caps, which cannot be verified. */
  hash: string | undefined;
  /** The disco#info features behind `ver`, once known; undefined when unknown or not trusted (§5.4). */
  features: Promise<ReadonlySet<string> | undefined>;
}

// Shared: which notifications a session asks for (XEP-0163 §4.2) decides what any node sends it. The features
// promise stays behind; a remote node resolves ver → features from the caps cache.
const CAPS_STATE = defineSessionState<SessionCaps>("caps", {
  shared: true,
  describe: ({ node, ver, hash }) => ({ node, ver, hash }),
});

export function sessionCaps(session: Session): SessionCaps | undefined {
  return session.state.get(CAPS_STATE);
}

export function setSessionCaps(session: Session, caps: SessionCaps | undefined): void {
  if (caps) session.state.set(CAPS_STATE, caps);
  else session.state.delete(CAPS_STATE);
}

/** The session's verified disco#info features (empty when it advertised no caps or they could not be trusted). */
export async function capsFeatures(session: Session): Promise<ReadonlySet<string>> {
  return (await sessionCaps(session)?.features) ?? new Set();
}

/** XEP-0163 §4.2 / XEP-0060 §9.2: does this session ask for notifications of `node` (`<node>+notify`)? */
export async function wantsNotify(session: Session, node: string): Promise<boolean> {
  return (await capsFeatures(session)).has(`${node}+notify`);
}
