// XEP-0379 §4 for someone who already has an account: their client sends the inviter a subscription request
// carrying the token (<presence type='subscribe'><preauth xmlns='urn:xmpp:pars:0' token='…'/></presence>).
// A valid roster token of that inviter pre-approves it (RFC 6121 §3.4, so the roster module answers
// `subscribed` itself) and the inviter asks back (ask="subscribe"), so that both end with subscription "both".
import type { Jid } from "../../core/jid.js";
import { tryParseJid } from "../../core/jid.js";
import type { ModuleContext } from "../../core/modules.js";
import { Element } from "../../core/xml/element.js";
import { NS_CLIENT, NS_PARS } from "../../core/xml/ns.js";
import { RosterStore } from "../roster/roster-store.js";
import { hasFrom, hasTo } from "../roster/subscription-state.js";
import type { InviteStore } from "./invite-store.js";

export function rosterPreauthHandler(ctx: ModuleContext<unknown>, store: InviteStore) {
  const roster = new RosterStore(ctx);
  return async ({ stanza, to }: { stanza: Element; to: Jid }): Promise<undefined> => {
    if (stanza.attrs.type !== "subscribe" || to.domain !== ctx.host || to.local === "") return undefined;
    const token = stanza.getChild("preauth", NS_PARS)?.attrs.token;
    const from = tryParseJid(stanza.attrs.from);
    if (token === undefined || !from) return undefined;
    const inviter = to.bareString();
    const contact = from.bareString();
    const invite = await store.valid(token);
    if (!invite || invite.kind !== "roster" || invite.inviter !== inviter || contact === inviter) {
      ctx.log.info({ inviter, contact }, "subscription request with an invalid invitation token");
      return undefined; // an ordinary request then, for the user to answer
    }
    await store.consume(token);
    const item = await roster.get(to.local, contact);
    const subscription = item?.subscription ?? "none";
    const askBack = !hasTo(subscription);
    await roster.put(to.local, {
      ...(item ?? { jid: contact, groups: [] }),
      subscription,
      ask: askBack || (item?.ask ?? false),
      approved: !hasFrom(subscription),
    });
    ctx.log.info({ inviter, contact }, "subscription pre-approved by an invitation token (XEP-0379)");
    if (askBack) await ctx.route(new Element("presence", NS_CLIENT, { from: inviter, to: contact, type: "subscribe" }));
    return undefined;
  };
}
