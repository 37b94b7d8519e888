// The caps module's resolver of XEP-0115 ver → features for any full JID, for other modules of the same host (PEP's
// notification filtering for contacts on other servers, XEP-0163 §4.2): the same verified, bounded cache the caps
// module keeps for local sessions. Registered per host while the caps module is loaded.
import type { Jid } from "../../core/jid.js";
import type { ModuleContext } from "../../core/modules.js";

export interface CapsResolver {
  /**
   * The features behind a `<c/>` (node, ver, hash) advertised by `jid`, verified (§5.4) and cached by hash and
   * ver; undefined when legacy (no hash), unsupported, unanswered in time or not matching.
   */
  resolve(jid: Jid, node: string, ver: string, hash: string | undefined): Promise<ReadonlySet<string> | undefined>;
}

const RESOLVERS = Symbol("caps resolver by host");

type Ctx = Pick<ModuleContext<unknown>, "perServer">;

export function registerCapsResolver(
  ctx: Ctx & Pick<ModuleContext<unknown>, "onUnload">,
  host: string,
  r: CapsResolver,
) {
  const byHost = ctx.perServer(RESOLVERS, () => new Map<string, CapsResolver>());
  byHost.set(host, r);
  ctx.onUnload(() => {
    if (byHost.get(host) === r) byHost.delete(host);
  });
}

/** The host's resolver, or undefined when the caps module is not loaded for it. */
export function capsResolver(ctx: Ctx, host: string): CapsResolver | undefined {
  return ctx.perServer(RESOLVERS, () => new Map<string, CapsResolver>()).get(host);
}
