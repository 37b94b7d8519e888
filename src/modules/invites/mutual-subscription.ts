// XEP-0379 §4 on account creation: the inviter and the new account become subscribed to each other
// (subscription "both" in both rosters, RFC 6121 §2.1.2.1), written server-side through the roster module's
// store, with a roster push (RFC 6121 §2.1.6) to the inviter's interested resources. The new account has no
// session yet: at its first login its initial presence goes to the inviter and its probe brings the inviter's
// back (RFC 6121 §4.2, the presence module's work).
import { randomBytes } from "node:crypto";
import type { ModuleContext } from "../../core/modules.js";
import { Element } from "../../core/xml/element.js";
import { NS_CLIENT, NS_ROSTER } from "../../core/xml/ns.js";
import { itemElement, type RosterItem, RosterStore } from "../roster/roster-store.js";

export async function subscribeEachOther(ctx: ModuleContext<unknown>, inviter: string, invitee: string): Promise<void> {
  const roster = new RosterStore(ctx);
  const [inviterUser, inviteeUser] = [inviter.split("@")[0]!, invitee.split("@")[0]!];
  for (const [user, contact] of [
    [inviterUser, invitee],
    [inviteeUser, inviter],
  ] as const) {
    const existing = await roster.get(user, contact);
    const item: RosterItem = {
      ...(existing ?? { jid: contact, groups: [] }),
      subscription: "both",
      ask: false,
      approved: false,
    };
    await roster.put(user, item);
    await roster.setPending(user, contact, undefined);
    const ver = await roster.bump(user);
    for (const s of ctx.sessions.resourcesOf(`${user}@${ctx.host}`)) {
      if (!s.interested) continue;
      const iq = new Element("iq", NS_CLIENT, {
        type: "set",
        id: `push-${randomBytes(6).toString("base64url")}`,
        to: s.jid.toString(),
      });
      iq.c("query", NS_ROSTER, { ver }).append(itemElement(item));
      await ctx.deliver(s, iq);
    }
  }
}
