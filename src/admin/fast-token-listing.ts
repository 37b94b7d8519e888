// An account's XEP-0484 FAST tokens as administrators see them, with the XEP-0388 user agent each was issued to
// (software, device): never a token. The one listing behind `natter fast list`, the admin API and the ad-hoc
// command; revocation is auth/fast-tokens.ts revokeFastTokens for all of them.
import { listFastTokens } from "../auth/fast-tokens.js";
import type { StorageDriver } from "../storage/types.js";
import { userAgentsOf } from "../stream/sasl2.js";
import type { FastClientToken } from "./types.js";

export async function fastTokenListing(storage: StorageDriver, host: string, user: string): Promise<FastClientToken[]> {
  const [tokens, agents] = await Promise.all([listFastTokens(storage, host, user), userAgentsOf(storage, host, user)]);
  return tokens.map((t) => {
    const agent = agents.find((a) => a.id === t.agent);
    return {
      client: t.agent,
      ...(agent?.software !== undefined ? { software: agent.software } : {}),
      ...(agent?.device !== undefined ? { device: agent.device } : {}),
      mechanism: t.mechanism,
      issued: t.issued.getTime(),
      expiry: t.expiry.getTime(),
    };
  });
}
