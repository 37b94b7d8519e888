// LDAP authentication against a real slapd the test starts (test/helpers/slapd.ts): users log in over XMPP
// with their directory password (PLAIN over STARTTLS with @xmpp/client; SCRAM is not offered on the LDAP host
// but still is on an internal one), wrong and unknown are refused not-authorized, members of the admin group
// run XEP-0133 commands and others cannot, registration is not offered, and a directory that goes away gives
// temporary-auth-failure until it comes back.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Attribute, Change, Client } from "ldapts";
import { commandItems, errorOf, runCommand } from "../helpers/adhoc.js";
import { runNatter } from "../helpers/natter-process.js";
import { BASE_DN, ROOT_DN, ROOT_PASSWORD, type Slapd, startSlapd } from "../helpers/slapd.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { type ConnectedClient, connect, xml } from "../helpers/xmpp-client.js";
import { parseServerOutput, rawTls, waitForElement } from "./raw-helpers.js";

const ADMIN = "http://jabber.org/protocol/admin";
const NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl";

/** The SASL mechanisms a host advertises after STARTTLS. */
async function mechanismsOf(ts: TestServer, domain: string): Promise<string[]> {
  const rc = await rawTls({ ...ts, domain });
  const features = parseServerOutput(rc.data).elements.find((e) => e.name === "features");
  rc.destroy();
  return (features?.getChild("mechanisms", NS_SASL)?.getChildren("mechanism") ?? []).map((m) => m.text());
}

/** The SASL condition a login is refused with. */
async function refusal(ts: TestServer, user: string, password: string): Promise<string> {
  try {
    const c = await connect(ts, user, password);
    await c.stop();
    return "success";
  } catch (err) {
    return (err as { condition?: string }).condition ?? String(err);
  }
}

describe("LDAP authentication (real slapd)", () => {
  let slapd: Slapd;
  let ts: TestServer;
  const clients: ConnectedClient[] = [];
  const login = async (user: string, password: string) => {
    const c = await connect(ts, user, password, { resource: `r${clients.length}` });
    clients.push(c);
    return c;
  };

  before(async () => {
    slapd = await startSlapd({
      users: [
        { uid: "alice", password: "alice-dir-pw" },
        { uid: "boss", password: "boss-dir-pw" },
        { uid: "carol", password: "carol-dir-pw" },
        { uid: "dave", password: "dave-dir-pw" },
      ],
      groups: { "xmpp-admins": ["boss"] },
    });
    ts = await startTestServer({
      hosts: ["internal.test"],
      auth: [
        "host_providers: { localhost: ldap }",
        "ldap:",
        `  url: ${slapd.url}`,
        `  bind_dn: "${slapd.serviceDn}"`,
        `  bind_password: ${slapd.servicePassword}`,
        `  base: "ou=people,${BASE_DN}"`,
        `  admin_group: "${slapd.groupDn("xmpp-admins")}"`,
        "  connect_timeout: 1",
        "  timeout: 2",
      ],
      yaml: "modules:\n  register:\n    allow_registration: true",
    });
  });

  after(async () => {
    for (const c of clients) await c.stop();
    await ts?.stop();
    await slapd?.destroy();
  });

  it("offers only PLAIN on the LDAP host, SCRAM still on the internal one, and warned at start", async () => {
    const ldapHost = await mechanismsOf(ts, "localhost");
    assert.deepEqual(ldapHost, ["PLAIN"]);
    const internal = await mechanismsOf(ts, "internal.test");
    assert.ok(
      internal.some((m) => m.startsWith("SCRAM-")),
      `internal host offers ${internal.join(", ")}`,
    );
    assert.ok(
      ts.logs.some(
        (l) => l.host === "localhost" && l.provider === "ldap" && String(l.msg).includes("only PLAIN over TLS"),
      ),
    );
  });

  it("logs a directory user in with the directory password (PLAIN over STARTTLS)", async () => {
    const alice = await login("alice", "alice-dir-pw");
    assert.match(alice.jid, /^alice@localhost\//);
  });

  it("refuses a wrong password and an unknown user with not-authorized", async () => {
    assert.equal(await refusal(ts, "alice", "not-her-password"), "not-authorized");
    assert.equal(await refusal(ts, "nobody", "whatever"), "not-authorized");
    assert.equal(await refusal(ts, "*", "alice-dir-pw"), "not-authorized", "a filter wildcard is just a name");
  });

  it("makes the admin group's members admins, and only them", async () => {
    const boss = await login("boss", "boss-dir-pw");
    const nodes = (await commandItems(boss)).map((i) => i.node);
    assert.ok(nodes.includes(`${ADMIN}#get-registered-users-num`), `boss sees ${nodes.join(", ")}`);
    const count = await runCommand(boss, `${ADMIN}#get-registered-users-num`);
    assert.equal(count.attrs.type, "result");
    assert.match(count.toString(), /<value>4<\/value>/, "the directory's four users count as registered");

    const alice = await login("alice", "alice-dir-pw");
    assert.ok(!(await commandItems(alice)).some((i) => i.node === `${ADMIN}#get-registered-users-num`));
    const refused = await runCommand(alice, `${ADMIN}#get-registered-users-num`);
    assert.equal(errorOf(refused).condition, "forbidden");
  });

  it("an admin's add-user is refused as managed in LDAP, not as an internal error", async () => {
    const boss = await login("boss", "boss-dir-pw");
    const reply = await runCommand(boss, `${ADMIN}#add-user`, {
      accountjid: "newbie@localhost",
      password: "x-secret-1",
      "password-verify": "x-secret-1",
    });
    assert.equal(reply.attrs.type, "error", reply.toString());
    assert.equal(errorOf(reply).condition, "conflict");
    assert.match(reply.toString(), /managed in LDAP/);
  });

  it("natter users lists the directory; adduser, passwd and deluser say the accounts are managed in LDAP", () => {
    const users = runNatter(["-c", ts.configPath, "users", "localhost"]);
    assert.equal(users.code, 0, users.err);
    assert.deepEqual(users.out.trim().split("\n").sort(), [
      "alice@localhost",
      "boss@localhost",
      "carol@localhost",
      "dave@localhost",
    ]);
    for (const args of [
      ["adduser", "newbie@localhost", "-p", "pw-123456"],
      ["passwd", "alice@localhost", "-p", "pw-123456"],
      ["deluser", "alice@localhost"],
    ]) {
      const r = runNatter(["-c", ts.configPath, ...args]);
      assert.notEqual(r.code, 0, `${args[0]} must fail`);
      assert.match(
        r.err,
        /^natter: accounts are managed in LDAP: .* is done there, not in Natter\n$/,
        `${args[0]}: ${r.err}`,
      );
    }
  });

  it("does not offer in-band registration on the LDAP host and refuses it service-unavailable", async () => {
    const rc = await rawTls(ts);
    assert.equal(
      parseServerOutput(rc.data)
        .elements.find((e) => e.name === "features")
        ?.getChild("register", "http://jabber.org/features/iq-register"),
      undefined,
    );
    rc.send("<iq type='get' id='reg1'><query xmlns='jabber:iq:register'/></iq>");
    const reply = await waitForElement(rc, (e) => e.name === "iq" && e.attrs.id === "reg1");
    assert.equal(reply.attrs.type, "error");
    assert.ok(reply.getChild("error")?.getChild("service-unavailable", "urn:ietf:params:xml:ns:xmpp-stanzas"));
    rc.destroy();
  });

  it("answers an in-band password change with not-allowed: the directory owns the password", async () => {
    const alice = await login("alice", "alice-dir-pw");
    const reply = await alice.xmpp.iqCaller
      .request(
        xml(
          "iq",
          { type: "set", id: "pw1" },
          xml(
            "query",
            { xmlns: "jabber:iq:register" },
            xml("username", {}, "alice"),
            xml("password", {}, "new-password-1"),
          ),
        ),
      )
      .then(
        () => "result",
        (err: { condition?: string; text?: string }) => `${err.condition}: ${err.text ?? ""}`,
      );
    assert.match(reply, /^not-allowed: accounts are managed in LDAP/);
    assert.equal(await refusal(ts, "alice", "alice-dir-pw"), "success", "the password is unchanged");
  });

  it("knows directory users who never logged in: a message to one is accepted, to a stranger bounced", async () => {
    const alice = await login("alice", "alice-dir-pw");
    await alice.xmpp.send(
      xml("message", { to: "nobody@localhost", id: "m-nobody", type: "chat" }, xml("body", {}, "hi")),
    );
    const bounce = await alice.waitFor((s) => s.name === "message" && s.attrs.id === "m-nobody");
    assert.equal(bounce.attrs.type, "error");
    await alice.xmpp.send(
      xml("message", { to: "carol@localhost", id: "m-carol", type: "chat" }, xml("body", {}, "for later")),
    );
    // Stored for carol (offline messages): she gets it at her first login.
    const carol = await login("carol", "carol-dir-pw");
    await carol.xmpp.send(xml("presence"));
    const got = await carol.waitFor((s) => s.name === "message" && s.getChildText("body") === "for later");
    assert.equal(got.attrs.from?.split("/")[0], "alice@localhost");
  });

  it("answers temporary-auth-failure while the directory is down, stays up, and recovers by itself", async () => {
    await slapd.stop();
    assert.equal(await refusal(ts, "dave", "dave-dir-pw"), "temporary-auth-failure");
    assert.equal(await refusal(ts, "dave", "wrong"), "temporary-auth-failure", "never success, never not-authorized");
    // Routing to an account whose existence cannot be checked bounces, and the server goes on.
    const alice = clients.find((c) => c.jid.startsWith("alice@")) as ConnectedClient;
    await alice.xmpp.send(
      xml("message", { to: "stranger@localhost", id: "m-down", type: "chat" }, xml("body", {}, "?")),
    );
    const bounce = await alice.waitFor((s) => s.name === "message" && s.attrs.id === "m-down");
    assert.equal(bounce.attrs.type, "error");
    assert.ok(ts.logs.some((l) => l.msg === "account backend unavailable"));
    // The internal host never depended on it.
    await ts.server.core.accounts.createUser("internal.test", "ivan", "ivan-secret");
    const ivan = await connect({ ...ts, domain: "internal.test" }, "ivan", "ivan-secret");
    await ivan.stop();

    await slapd.start();
    const dave = await login("dave", "dave-dir-pw");
    assert.match(dave.jid, /^dave@localhost\//);
  });

  it("rereads the admin group at reload: a member added in the directory becomes an admin", async () => {
    assert.ok(!ts.server.core.admins.has("alice@localhost"));
    const root = new Client({ url: slapd.url });
    await root.bind(ROOT_DN, ROOT_PASSWORD);
    await root.modify(
      slapd.groupDn("xmpp-admins"),
      new Change({
        operation: "add",
        modification: new Attribute({ type: "member", values: [slapd.userDn("alice")] }),
      }),
    );
    await root.unbind();
    const result = await ts.server.reload();
    assert.equal(result.ok, true);
    const deadline = Date.now() + 5000;
    while (!ts.server.core.admins.has("alice@localhost") && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    assert.ok(ts.server.core.admins.has("alice@localhost"), "alice joined the admins");
    assert.ok(ts.server.core.admins.has("boss@localhost"), "boss still one");
    assert.ok(!ts.server.core.admins.has("alice@internal.test"), "only on the LDAP host");
  });
});
