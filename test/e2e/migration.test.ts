// `natter export` / `natter import` (XEP-0227) as an operator runs them, checked as users see the result:
// a Natter populated over XMPP is exported (while it runs), imported into an empty Natter, and each user logs in
// with the old password and finds roster (names, groups, subscriptions, pending requests both ways), vCard,
// private XML, privacy lists, blocklist and offline messages with their original delay. Then: a second import
// changes nothing, dry runs, line-numbered errors for broken files, and the refusal while the server runs.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { runNatter } from "../helpers/natter-process.js";
import { onlineWithRoster, subscribeBoth } from "../helpers/roster.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { type ConnectedClient, connect, type XmlElement, xml } from "../helpers/xmpp-client.js";

const NS_ROSTER = "jabber:iq:roster";
const NS_PRIVACY = "jabber:iq:privacy";
const NS_BLOCKING = "urn:xmpp:blocking";
const D = "localhost";

const request = (c: ConnectedClient, type: "get" | "set", payload: XmlElement) =>
  c.xmpp.iqCaller.request(xml("iq", { type }, payload));

async function rosterOf(c: ConnectedClient): Promise<Map<string, XmlElement>> {
  const res = await request(c, "get", xml("query", { xmlns: NS_ROSTER }));
  const items = res.getChild("query", NS_ROSTER)?.getChildren("item") ?? [];
  return new Map(items.map((i) => [i.attrs.jid as string, i]));
}

describe("migration (XEP-0227): natter export and natter import", () => {
  let source: TestServer;
  let target: TestServer;
  let work: string;
  let exported: string;
  let exportStarted: number;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), "natter-migration-"));
    exported = join(work, "export.xml");
    source = await startTestServer();
    for (const u of ["alice", "bob", "carol"]) await source.addUser(u, `${u}-secret`);
    const alice = await onlineWithRoster(source, "alice", "a");
    const bob = await onlineWithRoster(source, "bob", "b");
    await subscribeBoth(alice, bob);
    // Names and groups (RFC 6121 §2.1.2), and an item with no subscription.
    await request(
      alice,
      "set",
      xml(
        "query",
        { xmlns: NS_ROSTER },
        xml("item", { jid: `bob@${D}`, name: "Bob B." }, xml("group", {}, "Work"), xml("group", {}, "Friends")),
      ),
    );
    await request(
      alice,
      "set",
      xml("query", { xmlns: NS_ROSTER }, xml("item", { jid: "dave@elsewhere.example", name: "Dave" })),
    );
    // A pending outbound request from alice to carol (offline): ask='subscribe' for alice, pending inbound for carol.
    await alice.xmpp.send(xml("presence", { to: `carol@${D}`, type: "subscribe" }));
    await alice.waitFor(
      (s) => s.is("iq") && s.getChild("query", NS_ROSTER)?.getChild("item")?.attrs.ask === "subscribe",
    );
    await request(
      alice,
      "set",
      xml("vCard", { xmlns: "vcard-temp" }, xml("FN", {}, "Alice Liddell"), xml("NICKNAME", {}, "ally")),
    );
    await request(
      alice,
      "set",
      xml("query", { xmlns: "jabber:iq:private" }, xml("notes", { xmlns: "urn:example:notes" }, "remember the milk")),
    );
    await request(
      alice,
      "set",
      xml(
        "query",
        { xmlns: NS_PRIVACY },
        xml(
          "list",
          { name: "quiet" },
          xml("item", { type: "jid", value: "noisy@elsewhere.example", action: "deny", order: "5" }, xml("message")),
        ),
      ),
    );
    await request(alice, "set", xml("block", { xmlns: NS_BLOCKING }, xml("item", { jid: "spam@elsewhere.example" })));
    // An offline message for carol.
    await bob.xmpp.send(
      xml("message", { to: `carol@${D}`, type: "chat", id: "m1" }, xml("body", {}, "see you at noon")),
    );
    await new Promise((r) => setTimeout(r, 300));
    await alice.stop();
    await bob.stop();
    exportStarted = Date.now();
    // Export beside the running server (SQLite WAL).
    const r = runNatter(["-c", source.configPath, "export", "--no-progress", exported]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /exported 3 users/);
    target = await startTestServer();
  });

  after(async () => {
    await source?.stop();
    await target?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it("writes SCRAM credentials and never a password", () => {
    const text = readFileSync(exported, "utf8");
    assert.match(
      text,
      /<scram-credentials xmlns="urn:xmpp:pie:0#scram" mechanism="SCRAM-SHA-1"><iter-count>\d+<\/iter-count><salt>/,
    );
    assert.match(text, /mechanism="SCRAM-SHA-256"/);
    assert.doesNotMatch(text, /password=|alice-secret/);
  });

  it("refuses to import while the target server runs, but a dry run reports what would change", () => {
    const refused = runNatter(["-c", target.configPath, "import", "--no-progress", exported]);
    assert.equal(refused.code, 2);
    assert.match(refused.err, /server is running: stop it before importing/);
    const dry = runNatter(["-c", target.configPath, "import", "--dry-run", "--no-progress", exported]);
    assert.equal(dry.code, 0, dry.err);
    assert.match(dry.out, /dry run: nothing was written/);
    assert.match(dry.out, /accounts +3 would be added, 0 would be changed, 0 unchanged/);
    assert.match(dry.out, /roster +\d+ would be added/);
    assert.match(dry.out, /offline +1 would be added/);
  });

  it("imports everything into an empty server, and users find their data over XMPP", async () => {
    await target.server.stop();
    const r = runNatter(["-c", target.configPath, "import", "--no-progress", exported]);
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /accounts +3 added/);
    await target.restart();

    // The old passwords work (SCRAM-SHA-1 via @xmpp/client); a wrong one does not.
    const alice = await connect(target, "alice", "alice-secret");
    await assert.rejects(connect(target, "bob", "wrong"));
    const roster = await rosterOf(alice);
    const bob = roster.get(`bob@${D}`);
    assert.equal(bob?.attrs.subscription, "both");
    assert.equal(bob?.attrs.name, "Bob B.");
    assert.deepEqual(
      bob
        ?.getChildren("group")
        .map((g) => g.getText())
        .sort(),
      ["Friends", "Work"],
    );
    assert.equal(roster.get("dave@elsewhere.example")?.attrs.subscription, "none");
    assert.equal(roster.get(`carol@${D}`)?.attrs.ask, "subscribe");

    const vcard = await request(alice, "get", xml("vCard", { xmlns: "vcard-temp" }));
    assert.equal(vcard.getChild("vCard", "vcard-temp")?.getChildText("FN"), "Alice Liddell");
    const priv = await request(
      alice,
      "get",
      xml("query", { xmlns: "jabber:iq:private" }, xml("notes", { xmlns: "urn:example:notes" })),
    );
    assert.equal(priv.getChild("query")?.getChild("notes")?.getText(), "remember the milk");
    const lists = await request(alice, "get", xml("query", { xmlns: NS_PRIVACY }, xml("list", { name: "quiet" })));
    const item = lists.getChild("query")?.getChild("list")?.getChild("item");
    assert.equal(item?.attrs.value, "noisy@elsewhere.example");
    assert.ok(item?.getChild("message"));
    const blocked = await request(alice, "get", xml("blocklist", { xmlns: NS_BLOCKING }));
    assert.deepEqual(
      blocked
        .getChild("blocklist")
        ?.getChildren("item")
        .map((i) => i.attrs.jid),
      ["spam@elsewhere.example"],
    );
    await alice.stop();

    // Carol gets the offline message with its original time, and alice's pending subscription request.
    const carol = await connect(target, "carol", "carol-secret");
    await carol.xmpp.send(xml("presence"));
    const message = await carol.waitFor((s) => s.is("message") && s.getChildText("body") === "see you at noon");
    const delay = message.getChild("delay", "urn:xmpp:delay");
    assert.ok(delay, "the message keeps its XEP-0203 delay");
    assert.ok(
      Date.parse(delay.attrs.stamp as string) <= exportStarted,
      "the delay is the original receipt time, not the import's",
    );
    assert.equal(message.getChildren("delay", "urn:xmpp:delay").length, 1);
    await carol.waitFor((s) => s.is("presence") && s.attrs.type === "subscribe" && s.attrs.from === `alice@${D}`);
    await carol.stop();
  });

  it("a second import of the same file changes nothing and says so", async () => {
    await target.server.stop();
    const r = runNatter(["-c", target.configPath, "import", "--no-progress", exported]);
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /accounts +0 added, 0 changed, 3 unchanged/);
    assert.match(r.out, /nothing changed: everything in the file is already here/);
    await target.restart();
  });

  it("reports broken users with their line, skips them and imports the rest; accepts plaintext passwords", async () => {
    const file = join(work, "broken.xml");
    writeFileSync(
      file,
      [
        "<?xml version='1.0'?>",
        "<server-data xmlns='urn:xmpp:pie:0'>",
        "  <host jid='localhost'>",
        "    <user password='x'/>",
        "    <user name='bad user' password='x'/>",
        "    <user name='erin' password='erin-secret'>",
        "      <query xmlns='jabber:iq:roster'><item jid='alice@localhost' subscription='sideways'/><item jid='bob@localhost' subscription='to'/></query>",
        "    </user>",
        "    <user name='nocreds'/>",
        "  </host>",
        "  <host jid='not-ours.example'><user name='x' password='y'/></host>",
        "  <host><user name='y' password='z'/></host>",
        "</server-data>",
      ].join("\n"),
    );
    await target.server.stop();
    const r = runNatter(["-c", target.configPath, "import", "--no-progress", file]);
    assert.equal(r.code, 3, r.out + r.err);
    assert.match(r.out, /broken\.xml:4: <user\/> without name: skipped/);
    assert.match(r.out, /broken\.xml:5: user "bad user": bad user@localhost is not a valid JID: skipped/);
    assert.match(r.out, /broken\.xml:6: erin@localhost: roster: roster item alice@localhost: subscription "sideways"/);
    assert.match(r.out, /broken\.xml:9: nocreds@localhost: no scram-credentials and no password: skipped/);
    assert.match(r.out, /broken\.xml:11: host not-ours\.example is not served by this server/);
    assert.match(r.out, /broken\.xml:12: <host\/> without jid/);
    assert.match(r.out, /accounts +1 added, 0 changed, 0 unchanged, 3 skipped/);
    await target.restart();
    const erin = await connect(target, "erin", "erin-secret");
    const roster = await rosterOf(erin);
    assert.equal(roster.get(`bob@${D}`)?.attrs.subscription, "to");
    assert.equal(roster.has(`alice@${D}`), false);
    await erin.stop();
  });

  it("stops at malformed XML with its line, and refuses a file that is not XEP-0227", () => {
    const bad = join(work, "malformed.xml");
    writeFileSync(
      bad,
      "<server-data xmlns='urn:xmpp:pie:0'>\n<host jid='localhost'>\n<user name='a'>\n</host>\n</server-data>\n",
    );
    const r = runNatter(["-c", target.configPath, "import", "--dry-run", "--no-progress", bad]);
    assert.equal(r.code, 2);
    assert.match(r.err, /line 4: .*malformed\.xml/);
    const other = join(work, "other.xml");
    writeFileSync(other, "<roster xmlns='jabber:iq:roster'/>\n");
    const o = runNatter(["-c", target.configPath, "import", "--dry-run", "--no-progress", other]);
    assert.equal(o.code, 2);
    assert.match(o.err, /is not XEP-0227/);
    const doctype = join(work, "doctype.xml");
    writeFileSync(doctype, "<!DOCTYPE x [<!ENTITY a 'aaaa'>]>\n<server-data xmlns='urn:xmpp:pie:0'/>\n");
    const d = runNatter(["-c", target.configPath, "import", "--dry-run", "--no-progress", doctype]);
    assert.equal(d.code, 2);
    assert.match(d.err, /DOCTYPE is not allowed/);
  });
});
