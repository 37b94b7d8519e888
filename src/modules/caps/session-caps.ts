// What the caps module knows of a session's XEP-0115 capabilities, for other modules (PEP's XEP-0163 §4.2
// notification filtering): kept in the session's own state, so it ends with the session.
import type { Session } from "../../core/session.js";
import { defineSessionState } from "../../core/session-state.js";

export interface SessionCaps {
  node: string;
  ver: string;
  /** Absent for legacy (pre-1.5) caps, which cannot be verified. */
  hash: string | undefined;
  /**
   * The disco#info features behind `ver`, once known; undefined when unknown or not trusted (§5.4). Absent on
   * a session of another cluster node, whose view carries `notify` instead.
   */
  features?: Promise<ReadonlySet<string> | undefined>;
  /**
   * The `<node>+notify` features among them (XEP-0163 §4.2), set once `features` resolved: what another cluster
   * node needs to know to send this session PEP notifications (its own caps cache may never have seen `ver`,
   * and a disco#info query from it would be answered to the host at this session's node).
   */
  notify?: readonly string[];
}

// Shared: which notifications a session asks for (XEP-0163 §4.2) decides what any node sends it. The features
// promise stays behind; only the +notify interests travel.
const CAPS_STATE = defineSessionState<SessionCaps>("caps", {
  shared: true,
  describe: ({ node, ver, hash, notify }) => ({ node, ver, hash, ...(notify ? { notify } : {}) }),
});

/** Sets the session's +notify interests once its features are known (for the other cluster nodes). */
export function shareNotifyInterests(
  session: Session,
  caps: SessionCaps,
  features: ReadonlySet<string> | undefined,
): void {
  const notify = [...(features ?? [])].filter((f) => f.endsWith("+notify"));
  if (notify.length === 0 || sessionCaps(session) !== caps) return; // nothing to tell, or caps changed meanwhile
  setSessionCaps(session, { ...caps, notify });
}

export function sessionCaps(session: Session): SessionCaps | undefined {
  return session.state.get(CAPS_STATE);
}

export function setSessionCaps(session: Session, caps: SessionCaps | undefined): void {
  if (caps) session.state.set(CAPS_STATE, caps);
  else session.state.delete(CAPS_STATE);
}

/** The session's verified disco#info features (empty when it advertised no caps or they could not be trusted). */
export async function capsFeatures(session: Session): Promise<ReadonlySet<string>> {
  const caps = sessionCaps(session);
  if (caps?.features) return (await caps.features) ?? new Set();
  // A session on another cluster node: only its +notify interests are known here.
  return new Set(caps?.notify ?? []);
}

/** XEP-0163 §4.2 / XEP-0060 §9.2: does this session ask for notifications of `node` (`<node>+notify`)? */
export async function wantsNotify(session: Session, node: string): Promise<boolean> {
  return (await capsFeatures(session)).has(`${node}+notify`);
}
