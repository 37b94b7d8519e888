// XEP-0133 service administration as slixmpp's XEP-0050/XEP-0133 plugins drive it (Debian's python3-slixmpp):
// an admin adds a user who then logs in, changes their password, counts and lists online users, announces to
// everyone online, ends the user's session and deletes them; a non-admin sees no admin command and gets
// forbidden. The server's own state is checked after, so a command that only answered "completed" fails.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { runSlixmpp, useSlixmpp } from "../helpers/slixmpp.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

const NS_ADMIN = "http://jabber.org/protocol/admin";

interface CommandRun {
  first_status: string;
  sessionid: string;
  actions?: string[];
  status: string;
  same_session: boolean;
  notes: [string, string][];
  values: Record<string, string | string[]>;
}

interface AdminResult {
  ok: boolean;
  error?: string;
  steps: {
    admin_commands: string[];
    outsider_commands: string[];
    outsider_add_user: string;
    registered_before: Record<string, string>;
    add_user: { status: string; notes: [string, string][]; form_fields: string[] };
    login_new_user: boolean;
    change_password: CommandRun;
    login_new_password: boolean;
    login_old_password: string;
    online_num: CommandRun;
    online_list: CommandRun;
    announce: CommandRun;
    watcher_heard: { from: string; type: string; subject: string; body: string };
    end_session: CommandRun;
    session_ended: boolean;
    stream_error: string[];
    delete_user: CommandRun;
    login_deleted: string;
    registered_after: Record<string, string>;
  };
}

describe("admin commands e2e (slixmpp xep_0050 / xep_0133)", { timeout: 120_000 }, () => {
  let ts: TestServer;
  useSlixmpp();

  before(async () => {
    ts = await startTestServer({ yaml: "admins: [boss@localhost]" });
    for (const u of ["boss", "watcher", "outsider"]) await ts.addUser(u, `${u}-secret`);
  });

  after(async () => {
    await ts?.stop();
  });

  it("lets an admin manage users, sessions and announcements; a non-admin gets forbidden", async () => {
    const r = await runSlixmpp<AdminResult>("admin_commands.py", {
      host: "127.0.0.1",
      port: ts.port,
      domain: "localhost",
      admin: { jid: "boss@localhost", password: "boss-secret" },
      watcher: { jid: "watcher@localhost", password: "watcher-secret" },
      outsider: { jid: "outsider@localhost", password: "outsider-secret" },
      user: { jid: "newbie@localhost", password: "first-pass", new_password: "second-pass" },
    });
    assert.ok(r.ok, JSON.stringify(r));
    const s = r.steps;

    // Disco: the admin sees the XEP-0133 commands and reload; the outsider none of them.
    for (const name of [
      "add-user",
      "delete-user",
      "disable-user",
      "reenable-user",
      "change-user-password",
      "end-user-session",
      "get-user-roster",
      "get-user-lastlogin",
      "get-online-users-num",
      "get-online-users-list",
      "get-registered-users-num",
      "get-registered-users-list",
      "announce",
      "set-motd",
      "edit-motd",
      "delete-motd",
    ]) {
      assert.ok(s.admin_commands.includes(`${NS_ADMIN}#${name}`), `${name} missing from ${s.admin_commands.join(" ")}`);
    }
    assert.ok(s.admin_commands.includes("https://natter.im/protocol/admin#reload"));
    assert.deepEqual(
      s.outsider_commands.filter((n) => n.includes("admin")),
      [],
    );
    assert.equal(s.outsider_add_user, "forbidden");

    assert.equal(s.registered_before.registeredusersnum, "3");
    assert.equal(s.add_user.status, "completed");
    assert.deepEqual(s.add_user.form_fields, ["FORM_TYPE", "accountjid", "password", "password-verify"]);
    assert.equal(s.login_new_user, true);

    assert.equal(s.change_password.status, "completed");
    assert.equal(s.change_password.same_session, true);
    assert.deepEqual(s.change_password.actions, ["complete"]);
    assert.equal(s.login_new_password, true);
    assert.equal(s.login_old_password, "failed_all_auth");

    // Online: boss, watcher, outsider, newbie (two resources count once).
    assert.equal(s.online_num.status, "completed");
    assert.equal(s.online_num.values.onlineusersnum, "4");
    assert.deepEqual([...(s.online_list.values.onlineuserjids as string[])].sort(), [
      "boss@localhost",
      "newbie@localhost",
      "outsider@localhost",
      "watcher@localhost",
    ]);

    assert.equal(s.announce.status, "completed");
    assert.equal(s.watcher_heard.from, "localhost");
    assert.equal(s.watcher_heard.subject, "Maintenance");
    assert.equal(s.watcher_heard.body, "Down at 22:00\nBack soon");

    assert.equal(s.end_session.status, "completed");
    assert.equal(s.session_ended, true);
    assert.deepEqual(s.stream_error, ["policy-violation"]);

    assert.equal(s.delete_user.status, "completed");
    assert.deepEqual(s.delete_user.notes, [["info", "Deleted: newbie@localhost"]]);
    assert.equal(s.login_deleted, "failed_all_auth");
    assert.equal(s.registered_after.registeredusersnum, "3");
    // The server's own view agrees with what the commands said.
    assert.equal(await ts.server.core.accounts.userExists("localhost", "newbie"), false);
    assert.ok(
      ts.logs.some(
        (l) => l.msg === "ad-hoc command refused: not allowed" && l.requester === "outsider@localhost/outsider",
      ),
    );
  });
});
