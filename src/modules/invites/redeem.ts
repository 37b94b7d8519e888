// Creating an account from an invitation, one implementation for in-band registration (XEP-0445) and the web
// page: check the token and the reserved name, create, use the token up, subscribe (XEP-0379). One redemption
// per token at a time, so a single-use token cannot create two accounts.
import { StanzaError } from "../../core/errors.js";
import type { ModuleContext } from "../../core/modules.js";
import { createPerKeyQueue } from "../../core/per-key-queue.js";
import type { Invite, InviteStore } from "./invite-store.js";
import { subscribeEachOther } from "./mutual-subscription.js";

export type Redeem = (token: string, username: string, create: () => Promise<void>) => Promise<Invite>;

/** The same refusal whatever is wrong with the token (unknown, expired, used): nothing for a guesser to learn. */
export const invalidInvite = () => new StanzaError("not-authorized", "the invitation is not valid");

export function makeRedeemer(ctx: ModuleContext<unknown>, store: InviteStore): Redeem {
  const serial = createPerKeyQueue();
  return (token, username, create) =>
    serial(token, async () => {
      const invite = await store.valid(token);
      if (!invite) throw invalidInvite();
      // Accounts of a host whose passwords live in a directory are made there, not from an invitation.
      if (ctx.accounts.credentialKind(ctx.host) === "plaintext")
        throw new StanzaError("not-allowed", "accounts of this host are managed elsewhere");
      if (invite.username !== undefined && invite.username !== username)
        throw new StanzaError("not-acceptable", `this invitation is for the username ${invite.username}`);
      // Another invitation's reserved name is not free for this one.
      if (invite.username === undefined && (await store.all()).some((i) => i.username === username))
        throw new StanzaError("conflict", "that username is taken");
      await create();
      await store.consume(token);
      const jid = `${username}@${ctx.host}`;
      ctx.log.info({ user: jid, inviter: invite.inviter, kind: invite.kind }, "account created from an invitation");
      const inviterLocal = invite.inviter.split("@")[0] ?? "";
      if (invite.subscribe && invite.inviter !== "admin" && (await ctx.accounts.userExists(ctx.host, inviterLocal))) {
        try {
          await subscribeEachOther(ctx, invite.inviter, jid);
          ctx.log.info(
            { user: jid, inviter: invite.inviter },
            "invitee and inviter subscribed to each other (XEP-0379)",
          );
        } catch (err) {
          ctx.log.error({ err, user: jid, inviter: invite.inviter }, "mutual subscription after an invitation failed");
        }
      }
      return invite;
    });
}
