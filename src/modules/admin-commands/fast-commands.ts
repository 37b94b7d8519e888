// Revoking an account's XEP-0484 FAST tokens as an ad-hoc command (Natter's own node: XEP-0133 has no such
// command), for an admin whose user reports a lost phone. Calls AdminOperations.revokeFastTokens, as the admin
// API does; `natter fast revoke` calls the same revocation on the storage.
import type { AdminOperations } from "../../admin/types.js";
import { accountJidField, admin, adminForm, info, oneAccount } from "./admin-form.js";
import type { AdminCommand } from "./user-commands.js";

export function revokeFastTokensCommand(ops: AdminOperations, host: string): AdminCommand {
  return {
    name: "Revoke FAST login tokens",
    stages: [
      {
        form: () =>
          adminForm("form", "Revoking FAST login tokens", [
            accountJidField("The Jabber ID of the account"),
            {
              var: "client",
              type: "text-single",
              label: "Only this client's tokens (its user agent id; empty: all)",
              values: [],
            },
          ]),
      },
    ],
    async run({ values }) {
      const jid = oneAccount(values, host);
      const client = values.one("client")?.trim() || undefined;
      const n = await admin(() => ops.revokeFastTokens(jid, client));
      const what = `${n} FAST token${n === 1 ? "" : "s"} of ${jid}${client ? ` (client ${client})` : ""}`;
      return info(`Revoked ${what}: the clients must log in with the password again`);
    },
  };
}
