// The XEP-0133 commands the slixmpp test does not drive, over @xmpp/client: disable and re-enable (the login
// is refused, then accepted), a user's roster and last login, the registered users' count and pages, the
// message of the day (set, edit with the current text, delete), reload, and the refusals: a password typed
// twice differently, an account of another host, an existing account, a non-admin on every command.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { cmdOf, command, commandItems, errorOf, fieldValues, iq, runCommand } from "../helpers/adhoc.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { type ConnectedClient, connect, type XmlElement, xml } from "../helpers/xmpp-client.js";

const ADMIN = "http://jabber.org/protocol/admin";
const NS_ROSTER = "jabber:iq:roster";

describe("admin commands e2e (@xmpp/client)", () => {
  let ts: TestServer;
  const clients: ConnectedClient[] = [];

  const login = async (user: string, resource = "r1", password = `${user}-secret`) => {
    const c = await connect(ts, user, password, { resource });
    clients.push(c);
    return c;
  };
  /** Resolves when the server has closed the client's connection (fails after 5 s). */
  const disconnected = (c: ConnectedClient) =>
    new Promise<void>((res, rej) => {
      const t = setTimeout(() => rej(new Error(`${c.jid} still connected`)), 5000);
      c.xmpp.on("disconnect", () => {
        clearTimeout(t);
        res();
      });
    });
  const noteOf = (r: XmlElement) => cmdOf(r).getChild("note") as XmlElement;

  before(async () => {
    ts = await startTestServer({ yaml: "admins: [admin@localhost]", hosts: ["other.test"] });
    for (const u of [
      "admin",
      "alice",
      "bob",
      ...Array.from({ length: 30 }, (_, i) => `u${String(i).padStart(2, "0")}`),
    ])
      await ts.addUser(u, `${u}-secret`);
  });

  after(async () => {
    for (const c of clients) await c.stop();
    await ts?.stop();
  });

  it("disables an account (its session ends, its login is refused) and re-enables it", async () => {
    const admin = await login("admin");
    const bob = await login("bob", "doomed");
    const ended = disconnected(bob);
    const done = await runCommand(admin, `${ADMIN}#disable-user`, { accountjids: ["bob@localhost"] });
    assert.equal(noteOf(done).getText(), "Disabled: bob@localhost");
    await ended;
    await assert.rejects(connect(ts, "bob", "bob-secret", { resource: "again" }));
    assert.equal(
      noteOf(await runCommand(admin, `${ADMIN}#reenable-user`, { accountjids: ["bob@localhost"] })).getText(),
      "Re-enabled: bob@localhost",
    );
    await login("bob", "back");
  });

  it("shows a user's roster inside the result form and their last login", async () => {
    const admin = await login("admin", "roster");
    const alice = await login("alice", "roster");
    const set = await iq(
      alice,
      "set",
      xml(
        "query",
        { xmlns: NS_ROSTER },
        xml("item", { jid: "bob@localhost", name: "Bob" }, xml("group", {}, "Friends")),
      ),
      "alice@localhost",
    );
    assert.equal(set.attrs.type, "result");
    const r = cmdOf(await runCommand(admin, `${ADMIN}#get-user-roster`, { accountjid: "alice@localhost" }));
    assert.deepEqual(fieldValues(r, "accountjid"), ["alice@localhost"]);
    const items = (
      (r.getChild("x", "jabber:x:data") as XmlElement).getChild("query", NS_ROSTER) as XmlElement
    ).getChildren("item");
    assert.deepEqual(
      items.map((i) => ({ ...i.attrs, group: i.getChildText("group") })),
      [{ jid: "bob@localhost", name: "Bob", subscription: "none", group: "Friends" }],
    );

    assert.deepEqual(
      fieldValues(
        cmdOf(await runCommand(admin, `${ADMIN}#get-user-lastlogin`, { accountjid: "alice@localhost" })),
        "lastlogin",
      ),
      ["online now"],
    );
    const u = await login("u00", "once");
    await u.stop();
    await new Promise((res) => setTimeout(res, 200));
    const [when] = fieldValues(
      cmdOf(await runCommand(admin, `${ADMIN}#get-user-lastlogin`, { accountjid: "u00@localhost" })),
      "lastlogin",
    );
    assert.ok(Math.abs(Date.parse(when as string) - Date.now()) < 60_000, when);
    assert.deepEqual(
      fieldValues(
        cmdOf(await runCommand(admin, `${ADMIN}#get-user-lastlogin`, { accountjid: "u01@localhost" })),
        "lastlogin",
      ),
      ["never"],
    );
    assert.equal(
      errorOf(await runCommand(admin, `${ADMIN}#get-user-lastlogin`, { accountjid: "nobody@localhost" })).condition,
      "item-not-found",
    );
  });

  it("counts registered users and lists them page by page", async () => {
    const admin = await login("admin", "list");
    assert.deepEqual(
      fieldValues(cmdOf(await runCommand(admin, `${ADMIN}#get-registered-users-num`)), "registeredusersnum"),
      ["33"],
    );
    const first = cmdOf(
      await runCommand(admin, `${ADMIN}#get-registered-users-list`, { max_items: "25", offset: "0" }),
    );
    const page1 = fieldValues(first, "registereduserjids");
    assert.equal(page1.length, 25);
    assert.equal(first.getChildText("note"), "Users 1–25 of 33");
    const page2 = fieldValues(
      cmdOf(await runCommand(admin, `${ADMIN}#get-registered-users-list`, { max_items: "25", offset: "25" })),
      "registereduserjids",
    );
    assert.equal(page2.length, 8);
    assert.equal(new Set([...page1, ...page2]).size, 33);
    // Only the offered max_items values are accepted (XEP-0004 list-single).
    assert.equal(
      errorOf(await runCommand(admin, `${ADMIN}#get-registered-users-list`, { max_items: "100000" })).specific,
      "bad-payload",
    );
  });

  it("sets, edits (showing the current text) and deletes the message of the day", async () => {
    const admin = await login("admin", "motd");
    assert.equal(
      cmdOf(await runCommand(admin, `${ADMIN}#set-motd`, { motd: ["Welcome", "to Natter"] })).attrs.status,
      "completed",
    );
    const edit = cmdOf(await command(admin, { node: `${ADMIN}#edit-motd`, action: "execute" }));
    assert.deepEqual(fieldValues(edit, "motd"), ["Welcome", "to Natter"]);
    await command(
      admin,
      { node: `${ADMIN}#edit-motd`, sessionid: edit.attrs.sessionid as string, action: "complete" },
      { motd: ["Updated"] },
    );
    assert.equal(await ts.server.core.admin.motd("localhost"), "Updated");
    assert.equal(
      noteOf(await runCommand(admin, `${ADMIN}#delete-motd`)).getText(),
      "The message of the day was deleted",
    );
    assert.equal(await ts.server.core.admin.motd("localhost"), undefined);
  });

  it("answers reload with what happened", async () => {
    const admin = await login("admin", "reload");
    const note = noteOf(await runCommand(admin, "https://natter.im/protocol/admin#reload"));
    // The test server runs from its config file: the unchanged file reloads.
    assert.match(note.getText(), /The configuration was reloaded/);
  });

  it("refuses what it must: mismatched passwords (session kept), other hosts, existing accounts, unknown ones", async () => {
    const admin = await login("admin", "refusals");
    const start = cmdOf(await command(admin, { node: `${ADMIN}#add-user`, action: "execute" }));
    const sid = start.attrs.sessionid as string;
    const mismatch = await command(
      admin,
      { node: `${ADMIN}#add-user`, sessionid: sid, action: "complete" },
      { accountjid: "carl@localhost", password: "a", "password-verify": "b" },
    );
    assert.equal(errorOf(mismatch).specific, "bad-payload");
    const foreign = await command(
      admin,
      { node: `${ADMIN}#add-user`, sessionid: sid, action: "complete" },
      { accountjid: "carl@other.test", password: "a", "password-verify": "a" },
    );
    assert.equal(errorOf(foreign).specific, "bad-payload");
    const ok = await command(
      admin,
      { node: `${ADMIN}#add-user`, sessionid: sid, action: "complete" },
      { accountjid: "carl@localhost", password: "a-pass", "password-verify": "a-pass" },
    );
    assert.equal(cmdOf(ok).attrs.status, "completed");
    assert.equal(await ts.server.core.accounts.userExists("localhost", "carl"), true);
    assert.equal(await ts.server.core.accounts.userExists("other.test", "carl"), false);

    const again = await runCommand(admin, `${ADMIN}#add-user`, {
      accountjid: "carl@localhost",
      password: "x",
      "password-verify": "x",
    });
    assert.equal(errorOf(again).condition, "conflict");
    const del = cmdOf(
      await runCommand(admin, `${ADMIN}#delete-user`, { accountjids: ["carl@localhost", "ghost@localhost"] }),
    );
    assert.deepEqual(
      del.getChildren("note").map((n) => [n.attrs.type, n.getText()]),
      [
        ["info", "Deleted: carl@localhost"],
        ["error", "ghost@localhost does not exist"],
      ],
    );
  });

  it("ends one resource's session when given a full JID, leaving the others", async () => {
    const admin = await login("admin", "kick");
    const a1 = await login("u02", "one");
    const a2 = await login("u02", "two");
    const ended = disconnected(a1);
    await runCommand(admin, `${ADMIN}#end-user-session`, { accountjids: ["u02@localhost/one"] });
    await ended;
    const still = await iq(a2, "get", xml("ping", { xmlns: "urn:xmpp:ping" }));
    assert.equal(still.attrs.type, "result");
  });

  it("shows a non-admin no admin command and refuses each with forbidden", async () => {
    const alice = await login("alice", "outsider");
    assert.deepEqual(
      (await commandItems(alice)).filter((i) => i.node?.includes("admin")),
      [],
    );
    const admin = await login("admin", "all");
    const nodes = (await commandItems(admin)).map((i) => i.node as string).filter((n) => n.includes("admin"));
    assert.equal(nodes.length, 18); // XEP-0133 commands, reload and revoke-fast-tokens
    for (const node of nodes)
      assert.equal(errorOf(await command(alice, { node, action: "execute" })).condition, "forbidden", node);
  });
});
