// The per-user opt-out: an XEP-0050 command on the host ("Directory listing") where a user says whether the
// directory lists them. Stored in the keyval store "user-directory-hidden" (present: hidden), so it holds
// whatever the vCard says and survives restarts.
import type { CommandDefinition } from "../../core/commands.js";
import type { Jid } from "../../core/jid.js";
import { parseFormBoolean } from "../../core/xml/data-form.js";
import { NS_NATTER_USER_DIRECTORY } from "../../core/xml/ns.js";

export const LISTING_NODE = `${NS_NATTER_USER_DIRECTORY}#listing`;

export interface ListingState {
  isHidden(user: string): Promise<boolean>;
  setHidden(user: string, hidden: boolean): Promise<void>;
}

export function listingCommand(host: string, state: ListingState): CommandDefinition {
  const ownUser = (jid: Jid) => jid.domain === host && jid.local !== "";
  return {
    name: "Directory listing",
    allowed: ownUser,
    stages: [
      {
        async form({ requester }) {
          const listed = !(await state.isHidden(requester.local));
          return {
            type: "form",
            title: "Directory listing",
            instructions: [
              `Whether the user directory of ${host} finds you by the name, nickname and email of your vCard.`,
            ],
            fields: [
              { var: "FORM_TYPE", type: "hidden", values: [NS_NATTER_USER_DIRECTORY] },
              { var: "listed", type: "boolean", label: "List me in the user directory", values: [listed ? "1" : "0"] },
            ],
          };
        },
      },
    ],
    async run({ requester, values }) {
      const listed = parseFormBoolean(values.one("listed")) ?? true;
      await state.setHidden(requester.local, !listed);
      return {
        notes: [
          {
            type: "info",
            text: listed ? "You are listed in the user directory." : "You are not listed in the user directory.",
          },
        ],
      };
    },
  };
}
