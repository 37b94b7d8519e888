// XEP-0133 §4.15–4.26 (user counts and lists, announcement, message of the day) and Natter's own reload
// command: each one AdminOperations call for the command's host.
import type { AdminOperations } from "../../admin/types.js";
import type { DataFormField } from "../../core/xml/data-form.js";
import { admin, adminForm, info } from "./admin-form.js";
import type { AdminCommand } from "./user-commands.js";

/** §4.20 / §4.22 max_items choices; "none" means as many as one page holds. */
const MAX_ITEMS = ["25", "50", "75", "100", "150", "200", "none"];

export function serverCommands(ops: AdminOperations, host: string, maxList: number): Record<string, AdminCommand> {
  const maxItemsField: DataFormField = {
    var: "max_items",
    type: "list-single",
    label: "Maximum number of items to show",
    values: ["100"],
    options: MAX_ITEMS.map((v) => ({ label: v, value: v })),
  };
  const limitOf = (value: string | undefined) =>
    Math.min(maxList, value === undefined || value === "none" ? maxList : Number(value));
  const onlineUsers = () =>
    [...new Set(ops.sessions().map((s) => s.jid.slice(0, s.jid.indexOf("/")))).values()]
      .filter((j) => j.endsWith(`@${host}`))
      .sort();
  const motdField = (current: string | undefined): DataFormField => ({
    var: "motd",
    type: "text-multi",
    label: "Message of the day",
    required: true,
    values: current === undefined ? [] : current.split("\n"),
  });
  const setMotd = async (lines: readonly string[]) => {
    await admin(() => ops.setMotd(host, lines.join("\n").trim()));
    return info("The message of the day was set");
  };

  return {
    "get-registered-users-num": {
      name: "Get the number of registered users",
      async run() {
        const { total } = await admin(() => ops.listUsers({ host, limit: 0 }));
        return {
          form: adminForm("result", "Number of registered users", [
            { var: "registeredusersnum", label: "The number of registered users", values: [String(total)] },
          ]),
        };
      },
    },
    "get-registered-users-list": {
      name: "Get the list of registered users",
      stages: [
        {
          form: () =>
            adminForm("form", "Getting the list of registered users", [
              maxItemsField,
              // Not in XEP-0133: where the page starts, so that a host with many accounts can be read page by page.
              { var: "offset", type: "text-single", label: "Start at (0 for the first page)", values: ["0"] },
            ]),
        },
      ],
      async run({ values }) {
        const offset = Math.max(0, Math.floor(Number(values.one("offset") ?? "0")) || 0);
        const page = await admin(() => ops.listUsers({ host, offset, limit: limitOf(values.one("max_items")) }));
        const shown = page.items.length === 0 ? "none" : `${page.offset + 1}–${page.offset + page.items.length}`;
        return {
          notes: [{ type: "info", text: `Users ${shown} of ${page.total}` }],
          form: adminForm("result", "Registered users", [
            {
              var: "registereduserjids",
              type: "jid-multi",
              label: "The list of all users",
              values: page.items.map((u) => u.jid),
            },
          ]),
        };
      },
    },
    "get-online-users-num": {
      name: "Get the number of online users",
      run: () => ({
        form: adminForm("result", "Number of online users", [
          { var: "onlineusersnum", label: "The number of online users", values: [String(onlineUsers().length)] },
        ]),
      }),
    },
    "get-online-users-list": {
      name: "Get the list of online users",
      stages: [{ form: () => adminForm("form", "Getting the list of online users", [maxItemsField]) }],
      run: ({ values }) => {
        const users = onlineUsers();
        const shown = users.slice(0, limitOf(values.one("max_items")));
        return {
          notes:
            shown.length < users.length
              ? [{ type: "info", text: `${shown.length} of ${users.length} online users shown` }]
              : [],
          form: adminForm("result", "Online users", [
            { var: "onlineuserjids", type: "jid-multi", label: "The list of all online users", values: shown },
          ]),
        };
      },
    },
    announce: {
      name: "Send an announcement to all online users",
      stages: [
        {
          form: () =>
            adminForm("form", "Making an announcement", [
              { var: "subject", type: "text-single", label: "Subject", values: [] },
              { var: "announcement", type: "text-multi", label: "Announcement", required: true, values: [] },
            ]),
        },
      ],
      async run({ values }) {
        const body = values.raw("announcement").join("\n").trim();
        const n = await admin(() => ops.announce(host, body, values.one("subject")));
        return info(`The announcement was sent to ${n} online resource${n === 1 ? "" : "s"}`);
      },
    },
    "set-motd": {
      name: "Set the message of the day",
      stages: [{ form: () => adminForm("form", "Setting the message of the day", [motdField(undefined)]) }],
      run: ({ values }) => setMotd(values.raw("motd")),
    },
    "edit-motd": {
      name: "Edit the message of the day",
      stages: [
        {
          form: async () =>
            adminForm("form", "Editing the message of the day", [motdField(await admin(() => ops.motd(host)))]),
        },
      ],
      run: ({ values }) => setMotd(values.raw("motd")),
    },
    "delete-motd": {
      name: "Delete the message of the day",
      async run() {
        await admin(() => ops.setMotd(host, undefined));
        return info("The message of the day was deleted");
      },
    },
  };
}

/** Natter's own: re-read the config file and apply it (what `natter reload` and SIGHUP do). */
export function reloadCommand(ops: AdminOperations): AdminCommand {
  return {
    name: "Reload the configuration",
    async run() {
      const result = await admin(() => ops.reload());
      if (!result.ok)
        return { notes: [{ type: "error", text: `The configuration was not reloaded: ${result.error}` }] };
      const changes = result.changes.length === 0 ? "nothing changed" : result.changes.join("; ");
      return info(`The configuration was reloaded: ${changes}`);
    },
  };
}
