// XEP-0133 Service Administration as XEP-0050 commands (served by the adhoc module), for the config's
// `admins` only: anyone else sees none of them in disco and gets `forbidden`. Every command calls
// ctx.admin (admin/administration.ts), the operations the CLI, the HTTP API and the console call too.
import { z } from "zod";
import type { Jid } from "../../core/jid.js";
import { defineModule } from "../../core/modules.js";
import { NS_ADMIN, NS_NATTER_ADMIN } from "../../core/xml/ns.js";
import { revokeFastTokensCommand } from "./fast-commands.js";
import { reloadCommand, serverCommands } from "./server-commands.js";
import { userCommands } from "./user-commands.js";

const options = z
  .object({
    /** Most JIDs one list command (registered or online users) returns at once. */
    max_list_items: z.number().int().min(1).max(10_000).default(1000),
  })
  .strict();

export default defineModule({
  name: "admin-commands",
  specs: [
    {
      xep: 133,
      version: "1.3.0",
      status: "partial",
      note: "no get-user-password, user-stats, black/whitelists, active/idle/disabled users, welcome message, edit-admin, restart, shutdown",
    },
  ],
  depends: ["adhoc"],
  options,
  setup(ctx) {
    // Read at every request: a reload may change the admins.
    const isAdmin = (jid: Jid) => ctx.admins.has(jid.bareString());
    const commands = {
      ...userCommands(ctx.admin, ctx.host),
      ...serverCommands(ctx.admin, ctx.host, ctx.options.max_list_items),
    };
    for (const [name, command] of Object.entries(commands))
      ctx.command(`${NS_ADMIN}#${name}`, { ...command, allowed: isAdmin });
    ctx.command(`${NS_NATTER_ADMIN}#reload`, { ...reloadCommand(ctx.admin), allowed: isAdmin });
    ctx.command(`${NS_NATTER_ADMIN}#revoke-fast-tokens`, {
      ...revokeFastTokensCommand(ctx.admin, ctx.host),
      allowed: isAdmin,
    });
  },
});
