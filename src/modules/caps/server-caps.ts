// The server's own capabilities (XEP-0115 §6.3): the disco#info the host answers, its ver, and the
// same information again under `node#ver` (§6.2: an entity MUST answer a disco#info query to node#ver).
import type { DiscoInfoPart } from "../../core/hooks.js";
import type { Jid } from "../../core/jid.js";
import type { ModuleContext } from "../../core/modules.js";
import { buildInfo } from "../disco/codec.js";
import { capsHash } from "./caps-hash.js";

/** Everything the host's disco#info (no node) is built from, merged into one part. */
export async function hostInfo(
  ctx: Pick<ModuleContext, "fold" | "disco">,
  host: string,
  hostJid: Jid,
): Promise<DiscoInfoPart> {
  const parts = await ctx.fold("disco.info", { to: hostJid, from: hostJid, node: undefined });
  const merged: Required<DiscoInfoPart> = {
    identities: [...ctx.disco.identities(host)],
    features: [...ctx.disco.features(host, "host")],
    forms: [],
  };
  for (const p of parts) {
    merged.identities.push(...(p.identities ?? []));
    merged.features.push(...(p.features ?? []));
    merged.forms.push(...(p.forms ?? []));
  }
  return merged;
}

/** The host's ver: the §5.1 hash of exactly the <query/> the disco module answers with. */
export function hostVer(info: DiscoInfoPart, hash: string): string {
  return capsHash(buildInfo(undefined, [info]), hash);
}
