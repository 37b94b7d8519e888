// XEP-0077 §3.2 cancellation with the home server: the account and every trace of it go, its presence
// subscriptions are cancelled (RFC 6121 §2.5.2 as for a removed roster item), the requester gets its result,
// then every session of the account ends with a <not-authorized/> stream error.
import { StreamError } from "../../core/errors.js";
import type { ModuleContext } from "../../core/modules.js";
import type { Session } from "../../core/session.js";
import { Element } from "../../core/xml/element.js";
import { NS_CLIENT } from "../../core/xml/ns.js";
import { RosterStore } from "../roster/roster-store.js";
import { hasFrom, hasTo } from "../roster/subscription-state.js";

const presence = (type: string, from: string, to: string) => new Element("presence", NS_CLIENT, { type, from, to });

export async function removeAccount(
  ctx: Pick<
    ModuleContext<unknown>,
    "host" | "log" | "store" | "sessions" | "route" | "notify" | "accounts" | "deleteUserData"
  >,
  user: string,
  requester: Session,
  result: Element,
): Promise<void> {
  const { host } = ctx;
  const bare = `${user}@${host}`;
  // The account record first: from here on no one can log in as it, and nothing records new activity for it.
  await ctx.accounts.deleteUser(host, user);
  const roster = new RosterStore(ctx);
  const resources = ctx.sessions.resourcesOf(bare);
  const notified = new Set<string>();
  for (const item of await roster.getAll(user)) {
    const { state } = await roster.state(user, item.jid);
    const contact = item.jid;
    notified.add(contact);
    // RFC 6121 §3.2.2: a contact that loses "from" gets unavailable presence from each available resource.
    if (hasFrom(state.subscription)) {
      for (const s of resources) if (s.available) await ctx.route(presence("unavailable", s.jid.toString(), contact));
    }
    // XEP-0077 §3.2: "the server SHOULD also cancel all existing presence subscriptions" (RFC 6121 §2.5.2).
    if (hasTo(state.subscription) || state.pendingOut) await ctx.route(presence("unsubscribe", bare, contact));
    if (hasFrom(state.subscription) || state.pendingIn) await ctx.route(presence("unsubscribed", bare, contact));
  }
  // Requests the user never answered and that have no roster item: refuse them.
  for (const request of await roster.pendingRequests(user)) {
    const contact = request.attrs.from;
    if (contact !== undefined && !notified.has(contact)) await ctx.route(presence("unsubscribed", bare, contact));
  }
  await ctx.deleteUserData(user);
  await ctx.notify("account.deleted", { host, user });
  ctx.log.info({ user: bare }, "account cancelled in-band (XEP-0077)");
  // §3.2: the result, then a <not-authorized/> stream error on every active session of the account. The result
  // is written here, before the close, because the dispatcher's own reply would come after it (and is then
  // dropped by the router: the resource and the account are gone, and an iq result is never bounced).
  requester.send(result);
  for (const s of ctx.sessions.resourcesOf(bare)) s.close(new StreamError("not-authorized", "the account was removed"));
}
