// XEP-0133 §4.1–4.9: the commands about one account or a few. Each calls one AdminOperations operation and
// nothing else, so an account is created, deleted, disabled or kicked exactly as the CLI and the HTTP API do it.
import { AdminError, type AdminOperations } from "../../admin/types.js";
import { badPayload, type CommandDefinition, type CommandNote } from "../../core/commands.js";
import { StanzaError } from "../../core/errors.js";
import { Element } from "../../core/xml/element.js";
import { NS_ROSTER } from "../../core/xml/ns.js";
import { accountJidField, accountJidsField, accountOfHost, admin, adminForm, info, oneAccount } from "./admin-form.js";

export type AdminCommand = Omit<CommandDefinition, "allowed">;

export function userCommands(ops: AdminOperations, host: string): Record<string, AdminCommand> {
  /** §4.2–4.5: one operation on each listed account; the ones refused are listed in an error note. */
  const forEachAccount = (
    title: string,
    label: string,
    done: string,
    op: (jid: string) => Promise<unknown> | unknown,
    allowResource = false,
  ): AdminCommand => ({
    name: title,
    stages: [{ form: () => adminForm("form", title, [accountJidsField(label)]) }],
    async run({ values }) {
      const jids = values.all("accountjids").map((j) => accountOfHost(j, host, allowResource));
      const ok: string[] = [];
      const notes: CommandNote[] = [];
      for (const jid of jids) {
        try {
          await op(jid);
          ok.push(jid);
        } catch (err) {
          if (!(err instanceof AdminError) && !(err instanceof StanzaError)) throw err; // a bug, not a refusal
          const text = err instanceof StanzaError ? (err.text ?? err.condition) : err.message;
          notes.push({ type: "error", text: text.includes(jid) ? text : `${jid}: ${text}` });
        }
      }
      if (ok.length > 0) notes.unshift({ type: "info", text: `${done}: ${ok.join(", ")}` });
      return { notes };
    },
  });

  return {
    "add-user": {
      name: "Add a user",
      stages: [
        {
          form: () =>
            adminForm("form", "Adding a user", [
              accountJidField("The Jabber ID for the account to be added"),
              {
                var: "password",
                type: "text-private",
                label: "The password for this account",
                required: true,
                values: [],
              },
              { var: "password-verify", type: "text-private", label: "Retype password", required: true, values: [] },
            ]),
          check: ({ values }) => {
            oneAccount(values, host);
            if (values.raw("password")[0] !== values.raw("password-verify")[0])
              throw badPayload("the passwords do not match");
          },
        },
      ],
      async run({ values }) {
        const jid = oneAccount(values, host);
        await admin(() => ops.createUser(jid, values.raw("password")[0] ?? ""));
        return info(`${jid} was created`);
      },
    },
    "delete-user": forEachAccount("Delete users", "The Jabber ID(s) to delete", "Deleted", (jid) =>
      ops.deleteUser(jid),
    ),
    "disable-user": forEachAccount("Disable users", "The Jabber ID(s) to disable", "Disabled", (jid) =>
      ops.setUserDisabled(jid, true),
    ),
    "reenable-user": forEachAccount("Re-enable users", "The Jabber ID(s) to re-enable", "Re-enabled", (jid) =>
      ops.setUserDisabled(jid, false),
    ),
    // §4.5: a bare JID ends all the account's sessions, a full JID that one.
    "end-user-session": forEachAccount(
      "End user sessions",
      "The Jabber ID(s) whose sessions to end",
      "Ended the sessions of",
      (jid) => {
        if (ops.kick(jid, "your session was ended by an administrator") === 0) throw badPayload("no session to end");
      },
      true,
    ),
    "change-user-password": {
      name: "Change a user's password",
      stages: [
        {
          form: () =>
            adminForm("form", "Changing a user's password", [
              accountJidField("The Jabber ID for this account"),
              {
                var: "password",
                type: "text-private",
                label: "The new password for this account",
                required: true,
                values: [],
              },
            ]),
          check: ({ values }) => void oneAccount(values, host),
        },
      ],
      async run({ values }) {
        const jid = oneAccount(values, host);
        await admin(() => ops.setPassword(jid, values.raw("password")[0] ?? ""));
        return info(`The password of ${jid} was changed`);
      },
    },
    "get-user-roster": {
      name: "Get a user's roster",
      stages: [
        {
          form: () =>
            adminForm("form", "Getting a user's roster", [
              accountJidField("The Jabber ID for which to retrieve the roster"),
            ]),
        },
      ],
      async run({ values }) {
        const jid = oneAccount(values, host);
        const roster = await admin(() => ops.userRoster(jid));
        // §4.8: the roster goes inside the result form, as a jabber:iq:roster query.
        const query = new Element("query", NS_ROSTER);
        for (const entry of roster) {
          const attrs: Record<string, string> = { jid: entry.jid, subscription: entry.subscription };
          if (entry.name !== undefined) attrs.name = entry.name;
          if (entry.ask) attrs.ask = "subscribe";
          const item = query.c("item", NS_ROSTER, attrs);
          for (const g of entry.groups) item.c("group", NS_ROSTER).t(g);
        }
        return {
          form: adminForm("result", `Roster of ${jid}`, [{ var: "accountjid", type: "jid-single", values: [jid] }]),
          formPayload: [query],
        };
      },
    },
    "get-user-lastlogin": {
      name: "Get a user's last login time",
      stages: [
        {
          form: () =>
            adminForm("form", "Getting a user's last login time", [accountJidField("The Jabber ID of the user")]),
        },
      ],
      async run({ values }) {
        const jid = oneAccount(values, host);
        const last = await admin(() => ops.lastLogout(jid));
        const online = ops.sessions(jid).length > 0;
        // The last logout is when the account was last seen; "online now" when it has a session.
        const value = online ? "online now" : last ? new Date(last.at).toISOString() : "never";
        return {
          form: adminForm("result", `Last login of ${jid}`, [
            { var: "accountjid", type: "jid-single", values: [jid] },
            { var: "lastlogin", type: "text-single", label: "The last login time (XEP-0082)", values: [value] },
          ]),
        };
      },
    },
  };
}
