// The PEP, archive and MUC room sections on a real SQLite file: malformed input is skipped item by item with a
// warning that names it (never a throw) while the good items beside it are imported; rooms follow the configured
// MUC domain.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { pino } from "pino";
import { InternalAccountProvider } from "../../auth/internal-account-provider.js";
import { parseFramedElement } from "../../core/xml/stream-parser.js";
import { createSqliteDriver } from "../../storage/sqlite/index.js";
import type { StorageDriver } from "../../storage/types.js";
import { type MigrationContext, NS_PIE } from "../types.js";
import { archiveSection } from "./archive.js";
import { createMucRoomsSection, mucRoomsSection, mucServiceFromConfig } from "./muc-rooms.js";
import { pepSection } from "./pep.js";

const parse = (text: string) => parseFramedElement(text, { maxStanzaBytes: 1 << 20, maxDepth: 64 }, NS_PIE);
const form = (fields: Record<string, string>) =>
  `<x xmlns='jabber:x:data' type='submit'>${Object.entries(fields)
    .map(([k, v]) => `<field var='${k}'><value>${v}</value></field>`)
    .join("")}</x>`;

describe("XEP-0227 sections: malformed input", () => {
  let dir: string;
  let storage: StorageDriver;
  let ctx: MigrationContext;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "natter-migration-"));
    storage = await createSqliteDriver(join(dir, "natter.sqlite"));
    ctx = {
      storage,
      accounts: new InternalAccountProvider(storage, { iterations: 4096 }),
      log: pino({ level: "silent" }),
      modules: {},
    };
  });
  after(async () => {
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("PEP: items without ids, nodes without names, bad options and affiliations are skipped and named", async () => {
    const owner = parse(`<pubsub xmlns='http://jabber.org/protocol/pubsub#owner'>
      <configure node='urn:xmpp:bookmarks:1'>${form({ "pubsub#access_model": "authorize", "pubsub#max_items": "-3", "pubsub#persist_items": "1" })}</configure>
      <configure>${form({})}</configure>
      <affiliations node='urn:xmpp:bookmarks:1'><affiliation jid='bad@@jid' affiliation='member'/><affiliation jid='ok@example.org' affiliation='member'/></affiliations>
      <frobnicate node='x'/>
    </pubsub>`);
    const items = parse(`<pubsub xmlns='http://jabber.org/protocol/pubsub'>
      <items node='urn:xmpp:bookmarks:1'><item><conference xmlns='urn:xmpp:bookmarks:1'/></item><item id='good@muc.example.org'><conference xmlns='urn:xmpp:bookmarks:1' name='Good'/></item></items>
      <items><item id='x'/></items>
    </pubsub>`);
    const changes = await pepSection.importUser(ctx, "example.org", "alice", [owner, items], { dryRun: false });
    const w = changes.warnings.join("\n");
    for (const expected of [
      "pubsub#access_model",
      "pubsub#max_items",
      "<configure/> without a usable node name",
      "bad@@jid",
      "<frobnicate",
      "item without a usable id",
      "<items/> without a usable node name",
    ]) {
      assert.ok(w.includes(expected), `a warning names ${expected}:\n${w}`);
    }
    assert.equal(changes.added, 2, "the node and its good item");
    const exported = await pepSection.exportUser(ctx, "example.org", "alice");
    const text = exported.map((e) => e.toString()).join("");
    assert.ok(text.includes("good@muc.example.org") && text.includes("ok@example.org"), text);
    assert.ok(text.includes("<value>presence</value>"), "the refused access model kept the XEP-0163 default");
  });

  it("archive: results without ids, timestamps or messages are skipped and named", async () => {
    const archive = parse(`<archive xmlns='urn:xmpp:pie:0#mam'>
      <result xmlns='urn:xmpp:mam:2'><forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' stamp='2026-01-01T00:00:00Z'/><message xmlns='jabber:client' to='bob@example.org'><body>no id</body></message></forwarded></result>
      <result xmlns='urn:xmpp:mam:2' id='nostamp'><forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' stamp='yesterday'/><message xmlns='jabber:client' to='bob@example.org'><body>x</body></message></forwarded></result>
      <result xmlns='urn:xmpp:mam:2' id='nomessage'><forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' stamp='2026-01-01T00:00:00Z'/></forwarded></result>
      <item id='wrong'/>
      <result xmlns='urn:xmpp:mam:2' id='good'><forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' stamp='2026-01-01T00:00:00Z'/><message xmlns='jabber:client' from='alice@example.org/a' to='bob@example.org' type='chat'><body>kept</body></message></forwarded></result>
    </archive>`);
    const changes = await archiveSection.importUser(ctx, "example.org", "alice", [archive], { dryRun: false });
    const w = changes.warnings.join("\n");
    for (const expected of ["without a usable id", "nostamp", "nomessage", "<item/>"])
      assert.ok(w.includes(expected), `a warning names ${expected}:\n${w}`);
    assert.equal(changes.added, 1);
    const stored = await storage.open("example.org", "mam", "archive").find("alice");
    assert.deepEqual(
      stored.map((i) => [i.id, i.with, i.when]),
      [["good", "bob@example.org", Date.parse("2026-01-01T00:00:00Z")]],
    );
  });

  it("MUC rooms: bad room JIDs, temporary rooms, bad fields and affiliations are skipped and named", async () => {
    const service = parse(`<muc-service xmlns='urn:natter:pie:0' jid='conference.example.org'>
      <room jid='not a jid@@'/>
      <room jid='temp@conference.example.org'>${form({ "muc#roomconfig_persistentroom": "0" })}</room>
      <room jid='good@conference.example.org'>${form({ "muc#roomconfig_persistentroom": "1", "muc#roomconfig_whois": "everybody", "muc#roomconfig_roomname": "Good" })}
        <query xmlns='http://jabber.org/protocol/muc#admin'><item affiliation='king' jid='a@example.org'/><item affiliation='owner' jid='alice@example.org'/></query>
        <archive><result xmlns='urn:xmpp:mam:2' id='r1'><forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' stamp='2026-01-01T00:00:00Z'/><message xmlns='jabber:client' type='chat' from='good@conference.example.org/A'><body>not groupchat</body></message></forwarded></result></archive>
      </room>
      <lobby/>
    </muc-service>`);
    const changes = await mucRoomsSection.importHost(ctx, "example.org", [service], { dryRun: false });
    const w = changes.warnings.join("\n");
    for (const expected of [
      "not a room JID",
      "temp@conference.example.org: not persistent",
      "muc#roomconfig_whois",
      '"king"',
      "r1 is not a groupchat message",
      "<lobby/>",
    ]) {
      assert.ok(w.includes(expected), `a warning names ${expected}:\n${w}`);
    }
    assert.equal(changes.added, 1, "the good room only");
    const [exported] = await mucRoomsSection.exportHost(ctx, "example.org");
    const rooms = exported?.getChildren("room", "urn:natter:pie:0") ?? [];
    assert.deepEqual(
      rooms.map((r) => r.attrs.jid),
      ["good@conference.example.org"],
    );
    assert.ok(rooms[0]?.toString().includes("alice@example.org"));
  });

  it("MUC rooms follow the configured service domain: rooms of conference.<host> move to it", async () => {
    assert.equal(mucServiceFromConfig({})("example.org").domain, "conference.example.org");
    const moved = createMucRoomsSection(mucServiceFromConfig({ muc: { domain: "rooms.example.org" } }));
    const service = parse(`<muc-service xmlns='urn:natter:pie:0' jid='conference.example.org'>
      <room jid='moving@conference.example.org'>${form({ "muc#roomconfig_persistentroom": "1" })}</room>
    </muc-service>`);
    const changes = await moved.importHost(ctx, "example.net", [service], { dryRun: false });
    assert.deepEqual(changes, { added: 1, changed: 0, unchanged: 0, warnings: [] });
    const [exported] = await moved.exportHost(ctx, "example.net");
    assert.equal(exported?.attrs.jid, "rooms.example.org");
    assert.deepEqual(
      exported?.getChildren("room", "urn:natter:pie:0").map((r) => r.attrs.jid),
      ["moving@rooms.example.org"],
    );
  });
});
