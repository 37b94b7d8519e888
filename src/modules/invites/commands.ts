// XEP-0401 §4: invitations as XEP-0050 commands. `#invite` (any user where allowed): a roster invite that may
// also create an account (XEP-0379 with ibr=y); `#create-account` (admins): an account invite, optionally with a
// reserved username and the admin's own subscription. Both answer with the URI, the landing page and the expiry.
import { badPayload, type CommandDefinition, type CommandOutcome } from "../../core/commands.js";
import { StanzaError } from "../../core/errors.js";
import { enforceLocalpart, type Jid } from "../../core/jid.js";
import type { DataForm } from "../../core/xml/data-form.js";
import { NS_INVITE } from "../../core/xml/ns.js";
import { type Invite, InviteLimitError, inviteUri } from "./invite-store.js";

export interface InviteCommandDeps {
  host: string;
  /** Base of the landing pages: public URL and path prefix. */
  pageBase(): string;
  isAdmin(jid: Jid): boolean;
  userInvitesAllowed(): boolean;
  create(spec: { kind: Invite["kind"]; inviter: string; username?: string; subscribe: boolean }): Promise<Invite>;
}

function outcome(deps: InviteCommandDeps, invite: Invite): CommandOutcome {
  const form: DataForm = {
    type: "result",
    title: "Invitation created",
    fields: [
      { var: "FORM_TYPE", type: "hidden", values: [NS_INVITE] },
      { var: "uri", type: "text-single", label: "XMPP URI", values: [inviteUri(invite, deps.host)] },
      {
        var: "landing-url",
        type: "text-single",
        label: "Invitation web page",
        values: [`${deps.pageBase()}/${invite.token}`],
      },
      { var: "expire", type: "text-single", label: "Valid until", values: [new Date(invite.expires).toISOString()] },
    ],
  };
  return { form, notes: [{ type: "info", text: `Send this link: ${`${deps.pageBase()}/${invite.token}`}` }] };
}

async function created(
  deps: InviteCommandDeps,
  spec: Parameters<InviteCommandDeps["create"]>[0],
): Promise<CommandOutcome> {
  try {
    return outcome(deps, await deps.create(spec));
  } catch (err) {
    // XEP-0050 §4.6 resource-constraint for a limit reached.
    if (err instanceof InviteLimitError) throw new StanzaError("resource-constraint", err.message, { type: "wait" });
    throw err;
  }
}

export function inviteCommands(deps: InviteCommandDeps): Record<string, CommandDefinition> {
  const ownUser = (jid: Jid) => jid.domain === deps.host && jid.local !== "";
  return {
    [`${NS_INVITE}#invite`]: {
      name: "Invite a contact",
      allowed: (jid) => ownUser(jid) && (deps.userInvitesAllowed() || deps.isAdmin(jid)),
      run: ({ requester }) => created(deps, { kind: "roster", inviter: requester.bareString(), subscribe: true }),
    },
    [`${NS_INVITE}#create-account`]: {
      name: "Create an account invitation",
      allowed: (jid) => deps.isAdmin(jid),
      stages: [
        {
          form: () => ({
            type: "form",
            title: "Create an account invitation",
            fields: [
              { var: "FORM_TYPE", type: "hidden", values: [NS_INVITE] },
              { var: "username", type: "text-single", label: "Reserve this username (optional)", values: [] },
              {
                var: "roster-subscription",
                type: "boolean",
                label: "Add the new account to my contacts",
                values: ["0"],
              },
            ],
          }),
          check: ({ values }) => {
            const name = values.one("username");
            if (name === undefined) return;
            try {
              enforceLocalpart(name);
            } catch {
              throw badPayload("that username is not allowed");
            }
          },
        },
      ],
      run: ({ requester, values }) => {
        const name = values.one("username");
        const subscribe = ["1", "true"].includes(values.one("roster-subscription") ?? "0");
        return created(deps, {
          kind: "account",
          inviter: subscribe ? requester.bareString() : "admin",
          ...(name !== undefined ? { username: enforceLocalpart(name) } : {}),
          subscribe,
        });
      },
    },
  };
}
