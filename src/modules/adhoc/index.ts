// XEP-0050 Ad-Hoc Commands: lists the commands modules registered with ctx.command (disco#items on the
// commands node, disco#info on each command node) and runs them: multi-stage data forms with next / prev /
// complete / cancel, one session per execution, bounded per account and in all, expiring when idle.
import { z } from "zod";
import { StanzaError } from "../../core/errors.js";
import type { Jid } from "../../core/jid.js";
import { defineModule } from "../../core/modules.js";
import { Element } from "../../core/xml/element.js";
import { NS_COMMANDS, NS_DATA_FORMS, NS_DISCO_ITEMS } from "../../core/xml/ns.js";
import { createCommandRunner } from "./command-runner.js";
import { CommandSessions } from "./command-sessions.js";

const options = z
  .object({
    /** Command sessions one account may have open at once (all its resources together). */
    max_sessions_per_user: z.number().int().min(1).default(5),
    /** Command sessions open at once on the host, whoever runs them. */
    max_sessions: z.number().int().min(1).default(1000),
    /** Seconds a session may wait for the requester's next stage before it expires. */
    session_timeout: z.number().int().min(1).default(600),
  })
  .strict();

export default defineModule({
  name: "adhoc",
  specs: [
    {
      xep: 50,
      version: "1.3.0",
      status: "complete",
      note: "commands on the server's own JID; no xml:lang choice of notes",
    },
  ],
  depends: ["disco"],
  options,
  setup(ctx) {
    const { host } = ctx;
    const registry = ctx.commands;
    const sessions = new CommandSessions({
      perAccount: ctx.options.max_sessions_per_user,
      total: ctx.options.max_sessions,
      idleMs: ctx.options.session_timeout * 1000,
    });
    ctx.timer(Math.min(60, ctx.options.session_timeout) * 1000, () => {
      const n = sessions.sweep();
      if (n > 0) ctx.log.debug({ expired: n }, "ad-hoc command sessions expired");
    });

    const { execute, allowedFor } = createCommandRunner({ host, registry, sessions, log: ctx.log });
    const isHost = (jid: Jid) => jid.local === "" && jid.resource === "" && jid.domain === host;
    const visible = (from: Jid) => registry.list(host).filter((c) => allowedFor(c, from));

    // XEP-0050 §2.2: the command list is disco#items on the commands node; a requester sees only what they may run.
    ctx.hookFold("disco.items", ({ to, from, node }) => {
      if (node !== NS_COMMANDS || !isHost(to)) return undefined;
      return visible(from).map(
        (c) => new Element("item", NS_DISCO_ITEMS, { jid: host, node: c.node, name: c.definition.name }),
      );
    });

    // §2.3: disco#info on a command node; §2.2 the list node is a command-list.
    ctx.hookFold("disco.info", ({ to, from, node }) => {
      if (node === undefined || !isHost(to)) return undefined;
      if (node === NS_COMMANDS) return { identities: [{ category: "automation", type: "command-list" }] };
      const c = registry.get(host, node);
      if (!c || !allowedFor(c, from)) return undefined; // item-not-found, as for a node that does not exist
      return {
        identities: [{ category: "automation", type: "command-node", name: c.definition.name }],
        features: [NS_COMMANDS, NS_DATA_FORMS],
      };
    });

    ctx.iq("host", "set", NS_COMMANDS, "command", async ({ payload, from }) => {
      try {
        return await execute(payload, from);
      } catch (err) {
        if (err instanceof StanzaError) {
          const specific = err.appCondition?.name;
          ctx.log.debug(
            { requester: from.toString(), node: payload.attrs.node, condition: err.condition, specific },
            "ad-hoc command request refused",
          );
        }
        throw err;
      }
    });
  },
});
