// Natter on PostgreSQL as its users see it (docs/postgresql.md): logins, roster pushes and offline messages
// kept in PostgreSQL across a restart; and `natter storage copy` moving a SQLite deployment there.
import assert from "node:assert/strict";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { runNatterAsync } from "../helpers/natter-process.js";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { type ConnectedClient, connect, type XmlElement, xml } from "../helpers/xmpp-client.js";

const NS_ROSTER = "jabber:iq:roster";

async function addToRoster(c: ConnectedClient, jid: string, name: string): Promise<void> {
  await c.xmpp.iqCaller.request(
    xml("iq", { type: "set" }, xml("query", { xmlns: NS_ROSTER }, xml("item", { jid, name }))),
  );
}

async function rosterItems(c: ConnectedClient): Promise<{ jid: string; name: string }[]> {
  const result = await c.xmpp.iqCaller.request(xml("iq", { type: "get" }, xml("query", { xmlns: NS_ROSTER })));
  return (result.getChild("query", NS_ROSTER)?.getChildren("item") ?? []).map((i) => ({
    jid: i.attrs.jid,
    name: i.attrs.name,
  }));
}

const isPushOf = (jid: string) => (s: XmlElement) =>
  s.is("iq") && s.attrs.type === "set" && s.getChild("query", NS_ROSTER)?.getChild("item")?.attrs.jid === jid;

async function sendOffline(from: ConnectedClient, id: string, body: string): Promise<void> {
  await from.xmpp.send(xml("message", { to: "bob@localhost", type: "chat", id }, xml("body", {}, body)));
  // A ping round trip: the server handles a client's stanzas in order, so the message has been stored.
  await from.xmpp.iqCaller.request(xml("iq", { type: "get", to: "localhost" }, xml("ping", "urn:xmpp:ping")));
}

async function bobReceives(ts: TestServer, id: string): Promise<XmlElement> {
  const bob = await connect(ts, "bob", "bob-secret", { resource: "phone" });
  try {
    await bob.xmpp.send(xml("presence"));
    return await bob.waitFor((s) => s.is("message") && s.attrs.id === id, 10_000);
  } finally {
    await bob.stop();
  }
}

describe("Natter on PostgreSQL", () => {
  let database: TestDatabase;
  let ts: TestServer;

  before(async () => {
    database = await createTestDatabase();
    ts = await startTestServer({ postgresUrl: database.url });
    await ts.addUser("alice", "alice-secret");
    await ts.addUser("bob", "bob-secret");
  });
  after(async () => {
    await ts?.stop();
    await database?.drop();
  });

  it("logs a user in, pushes a roster change, and keeps an offline message across a restart", async () => {
    const alice = await connect(ts, "alice", "alice-secret", { resource: "laptop" });
    await rosterItems(alice); // an interested resource gets pushes (RFC 6121 §2.1.6)
    await addToRoster(alice, "bob@localhost", "Bob");
    await alice.waitFor(isPushOf("bob@localhost"));
    await sendOffline(alice, "offline-1", "kept in PostgreSQL");
    await alice.stop();
    // Stored in PostgreSQL, not in a file of the data directory.
    const rows = await database.query<{ n: number }>(
      `select count(*)::int as n from archive where store = 'offline' and "user" = 'bob'`,
    );
    assert.equal(rows[0]?.n, 1);

    await ts.restart();
    const message = await bobReceives(ts, "offline-1");
    assert.equal(message.getChildText("body"), "kept in PostgreSQL");
    const again = await connect(ts, "alice", "alice-secret");
    try {
      assert.deepEqual(await rosterItems(again), [{ jid: "bob@localhost", name: "Bob" }]);
    } finally {
      await again.stop();
    }
  });

  it("lives through the database cutting its connections: logged, and the next login works", async () => {
    await database.terminateConnections();
    const lost = () => ts.logs.some((l) => l.msg === "PostgreSQL connection lost");
    for (let i = 0; i < 50 && !lost(); i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(lost(), "the idle connections' errors are logged");
    const alice = await connect(ts, "alice", "alice-secret");
    try {
      assert.deepEqual(await rosterItems(alice), [{ jid: "bob@localhost", name: "Bob" }]);
    } finally {
      await alice.stop();
    }
  });
});

describe("natter storage copy", () => {
  let database: TestDatabase;
  let sqliteServer: TestServer;
  let postgresServer: TestServer | undefined;

  before(async () => {
    database = await createTestDatabase();
    sqliteServer = await startTestServer();
    await sqliteServer.addUser("alice", "alice-secret");
    await sqliteServer.addUser("bob", "bob-secret");
    const alice = await connect(sqliteServer, "alice", "alice-secret");
    await addToRoster(alice, "carol@example.net", "Carol");
    await addToRoster(alice, "dave@example.net", "Dave ☕");
    await sendOffline(alice, "copied-1", "from SQLite to PostgreSQL");
    await alice.stop();
  });
  after(async () => {
    await postgresServer?.stop();
    await sqliteServer.server.stop().catch(() => undefined);
    rmSync(sqliteServer.dataDir, { recursive: true, force: true });
    await database?.drop();
  });

  const copy = (...extra: string[]) =>
    runNatterAsync(["-c", sqliteServer.configPath, "storage", "copy", "--no-progress", "--to", database.url, ...extra]);

  it("refuses while the server runs", async () => {
    const result = await copy();
    assert.equal(result.code, 2, result.err);
    assert.match(result.err, /the server is running/);
    assert.deepEqual(await database.query("select 1 from pg_tables where tablename = 'keyval'"), []);
  });

  it("copies every store, prints equal counts, and Natter on PostgreSQL serves the same data", async () => {
    await sqliteServer.server.stop();
    const result = await copy();
    assert.equal(result.code, 0, result.err);
    assert.match(result.out, /the same on both sides/);
    // The per-store table: every line's two counts equal; the roster and the offline store are among them.
    const lines = result.out.split("\n").filter((l) => /^localhost\s/.test(l));
    assert.ok(
      lines.some((l) => /\sroster\s+map\s+2\s+2$/.test(l)),
      result.out,
    );
    assert.ok(
      lines.some((l) => /\soffline\s+archive\s+1\s+1$/.test(l)),
      result.out,
    );
    for (const line of lines) {
      const [a, b] = line.trim().split(/\s+/).slice(-2);
      assert.equal(a, b, line);
    }

    postgresServer = await startTestServer({ postgresUrl: database.url });
    const alice = await connect(postgresServer, "alice", "alice-secret"); // the SCRAM credentials came along
    try {
      assert.deepEqual(await rosterItems(alice), [
        { jid: "carol@example.net", name: "Carol" },
        { jid: "dave@example.net", name: "Dave ☕" },
      ]);
    } finally {
      await alice.stop();
    }
    const message = await bobReceives(postgresServer, "copied-1");
    assert.equal(message.getChildText("body"), "from SQLite to PostgreSQL");
    await postgresServer.stop();
    postgresServer = undefined;
  });

  it("refuses a target that holds data unless --force, which replaces it", async () => {
    // The target from the config's storage.postgres.url this time (no password on a command line).
    const configPath = join(sqliteServer.dataDir, "with-postgres-url.yaml");
    writeFileSync(
      configPath,
      `${sqliteServer.configYaml}\nstorage:\n  postgres:\n    url: ${JSON.stringify(database.url)}\n`,
    );
    const refused = await runNatterAsync(["-c", configPath, "storage", "copy", "--no-progress"]);
    assert.equal(refused.code, 2);
    assert.match(refused.err, /already holds Natter data: give --force/);
    const forced = await copy("--force");
    assert.equal(forced.code, 0, forced.err);
    assert.match(forced.out, /the same on both sides/);
    const rows = await database.query<{ n: number }>(`select count(*)::int as n from map where store = 'roster'`);
    assert.equal(rows[0]?.n, 2, "replaced, not added twice");
  });

  it("never prints the target's password", async () => {
    const url = new URL(database.url);
    url.password = "hunter2-secret";
    url.port = "1";
    const result = await runNatterAsync([
      "-c",
      sqliteServer.configPath,
      "storage",
      "copy",
      "--no-progress",
      "--to",
      url.toString(),
    ]);
    assert.notEqual(result.code, 0);
    assert.match(result.err, /cannot open the target: PostgreSQL postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:1\//);
    assert.doesNotMatch(result.out + result.err, /hunter2-secret/);
  });
});
