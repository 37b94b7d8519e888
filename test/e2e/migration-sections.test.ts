// XEP-0227 sections for PEP, the message archive and MUC rooms, end to end: a real Natter on SQLite is filled
// over XMPP by @xmpp/client users (a XEP-0402 bookmark, a XEP-0084 avatar, an OMEMO device list, chat messages
// archived by MAM, a persistent room with configuration, subject, a member and history), stopped, exported by
// the sections to XML text, parsed back and imported into a second, empty server. The users then see the same
// data there over XMPP. Importing twice adds nothing; a dry run writes nothing.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { pino } from "pino";
import { InternalAccountProvider } from "../../src/auth/internal-account-provider.js";
import { parseConfig } from "../../src/core/config/index.js";
import { Element } from "../../src/core/xml/element.js";
import { parseFramedElement } from "../../src/core/xml/stream-parser.js";
import { archiveSection } from "../../src/migration/sections/archive.js";
import { mucRoomsSection } from "../../src/migration/sections/muc-rooms.js";
import { pepSection } from "../../src/migration/sections/pep.js";
import {
  type HostSection,
  type MigrationContext,
  NS_PIE,
  type SectionChanges,
  type UserSection,
} from "../../src/migration/types.js";
import { NatterServer } from "../../src/server.js";
import { openStorage } from "../../src/storage/open-storage.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { type ConnectedClient, connect, type XmlElement, xml } from "../helpers/xmpp-client.js";

const MUC = "conference.localhost";
const ROOM = `lobby@${MUC}`;
const NS_PUBSUB = "http://jabber.org/protocol/pubsub";
const NS_XDATA = "jabber:x:data";
const NS_MAM = "urn:xmpp:mam:2";
const NS_FORWARD = "urn:xmpp:forward:0";
const NS_MUC = "http://jabber.org/protocol/muc";
const NS_MUC_OWNER = "http://jabber.org/protocol/muc#owner";
const NS_MUC_ADMIN = "http://jabber.org/protocol/muc#admin";
const NS_MUC_USER = "http://jabber.org/protocol/muc#user";
const NS_BOOKMARKS = "urn:xmpp:bookmarks:1";
const NS_AVATAR_DATA = "urn:xmpp:avatar:data";
const NS_AVATAR_META = "urn:xmpp:avatar:metadata";
const NS_OMEMO_DEVICES = "eu.siacs.conversations.axolotl.devicelist";
const NS_OMEMO = "eu.siacs.conversations.axolotl";
const USERS = ["alice", "bob"];
const USER_SECTIONS: UserSection[] = [pepSection, archiveSection];
const HOST_SECTIONS: HostSection[] = [mucRoomsSection];
const AVATAR = Buffer.from("not really a PNG, but bytes all the same").toString("base64");

let seq = 0;
const nextId = (p = "id") => `${p}${++seq}`;

async function iq(
  c: ConnectedClient,
  type: "get" | "set",
  to: string | undefined,
  child: XmlElement,
): Promise<XmlElement> {
  const id = nextId("iq");
  await c.xmpp.send(xml("iq", { type, id, ...(to ? { to } : {}) }, child));
  return c.waitFor((s) => s.is("iq") && s.attrs.id === id && (s.attrs.type === "result" || s.attrs.type === "error"));
}

function form(formType: string, fields: Record<string, string>): XmlElement {
  return xml(
    "x",
    { xmlns: NS_XDATA, type: "submit" },
    xml("field", { var: "FORM_TYPE", type: "hidden" }, xml("value", {}, formType)),
    ...Object.entries(fields).map(([k, v]) => xml("field", { var: k }, xml("value", {}, v))),
  );
}

async function publish(
  c: ConnectedClient,
  node: string,
  id: string,
  payload: XmlElement,
  options: Record<string, string> = {},
): Promise<void> {
  const children = [xml("publish", { node }, xml("item", { id }, payload))];
  if (Object.keys(options).length > 0)
    children.push(xml("publish-options", {}, form("http://jabber.org/protocol/pubsub#publish-options", options)));
  const res = await iq(c, "set", undefined, xml("pubsub", { xmlns: NS_PUBSUB }, ...children));
  assert.equal(res.attrs.type, "result", `publish to ${node}: ${res.toString()}`);
}

async function items(c: ConnectedClient, owner: string, node: string): Promise<XmlElement[]> {
  const res = await iq(c, "get", owner, xml("pubsub", { xmlns: NS_PUBSUB }, xml("items", { node })));
  assert.equal(res.attrs.type, "result", `items of ${node}: ${res.toString()}`);
  return res.getChild("pubsub")?.getChild("items")?.getChildren("item") ?? [];
}

/** Every message of an archive as [stanza id, body], through MAM (XEP-0313 §4) in one page. */
async function archived(c: ConnectedClient, archive: string | undefined): Promise<[string, string][]> {
  const queryid = nextId("q");
  const fin = await iq(c, "set", archive, xml("query", { xmlns: NS_MAM, queryid }));
  assert.equal(fin.attrs.type, "result", fin.toString());
  return c.received
    .filter((s) => s.is("message") && s.getChild("result", NS_MAM)?.attrs.queryid === queryid)
    .map((s) => {
      const result = s.getChild("result", NS_MAM) as XmlElement;
      return [
        result.attrs.id as string,
        result.getChild("forwarded", NS_FORWARD)?.getChild("message")?.getChildText("body") ?? "",
      ];
    });
}

async function joinRoom(c: ConnectedClient, nick: string): Promise<XmlElement> {
  const occupant = `${ROOM}/${nick}`;
  await c.xmpp.send(xml("presence", { to: occupant }, xml("x", { xmlns: NS_MUC })));
  return c.waitFor(
    (s) =>
      s.is("presence") &&
      s.attrs.from === occupant &&
      (s.getChild("x", NS_MUC_USER)?.getChildren("status") ?? []).some((x) => x.attrs.code === "110"),
  );
}

const configOf = (ts: TestServer) => parseConfig(readFileSync(ts.configPath, "utf8"), ts.configPath, ts.dataDir);
const silent = pino({ level: "silent" });

/** The stopped server's storage, as the CLI opens it. */
async function migrationContext(ts: TestServer): Promise<MigrationContext & { close(): Promise<void> }> {
  const storage = await openStorage(configOf(ts));
  return {
    storage,
    accounts: new InternalAccountProvider(storage, { iterations: 4096 }),
    log: silent,
    modules: {},
    close: () => storage.close(),
  };
}

/** The sections' output as a XEP-0227 document, serialised. */
async function exportText(ctx: MigrationContext): Promise<string> {
  const hostEl = new Element("host", NS_PIE, { jid: "localhost" });
  for (const user of USERS) {
    const userEl = hostEl.c("user", NS_PIE, { name: user });
    for (const section of USER_SECTIONS) userEl.append(...(await section.exportUser(ctx, "localhost", user)));
  }
  for (const section of HOST_SECTIONS) hostEl.append(...(await section.exportHost(ctx, "localhost")));
  return new Element("server-data", NS_PIE, {}, [hostEl]).toString();
}

const claimed = (section: UserSection | HostSection, parent: Element) =>
  parent.elements().filter((e) => section.claims.some((c) => c.ns === e.ns && c.name === e.name));

/** Runs every section's import over the parsed document; the summed changes. */
async function importText(ctx: MigrationContext, text: string, dryRun: boolean): Promise<SectionChanges> {
  const doc = parseFramedElement(text, { maxStanzaBytes: 64 << 20, maxDepth: 64 }, NS_PIE);
  const total: SectionChanges = { added: 0, changed: 0, unchanged: 0, warnings: [] };
  const add = (c: SectionChanges) => {
    total.added += c.added;
    total.changed += c.changed;
    total.unchanged += c.unchanged;
    total.warnings.push(...c.warnings);
  };
  for (const hostEl of doc.getChildren("host", NS_PIE)) {
    for (const userEl of hostEl.getChildren("user", NS_PIE)) {
      for (const section of USER_SECTIONS)
        add(
          await section.importUser(ctx, "localhost", userEl.attrs.name as string, claimed(section, userEl), { dryRun }),
        );
    }
    for (const section of HOST_SECTIONS)
      add(await section.importHost(ctx, "localhost", claimed(section, hostEl), { dryRun }));
  }
  return total;
}

describe("XEP-0227 sections: PEP, message archive, MUC rooms", { timeout: 180_000 }, () => {
  let source: TestServer;
  let target: TestServer;
  let text: string;
  let aliceArchive: [string, string][];
  let roomArchive: [string, string][];
  const clients: ConnectedClient[] = [];
  const login = async (ts: TestServer, user: string) => {
    const c = await connect(ts, user, `${user}-pw`);
    clients.push(c);
    await c.xmpp.send(xml("presence"));
    return c;
  };

  before(async () => {
    source = await startTestServer();
    for (const u of USERS) await source.addUser(u, `${u}-pw`);
    const alice = await login(source, "alice");
    const bob = await login(source, "bob");
    // XEP-0402 §3.2.1: a bookmark with its publish-options.
    await publish(
      alice,
      NS_BOOKMARKS,
      ROOM,
      xml("conference", { xmlns: NS_BOOKMARKS, name: "The Lobby", autojoin: "true" }, xml("nick", {}, "Al")),
      {
        "pubsub#persist_items": "true",
        "pubsub#max_items": "max",
        "pubsub#send_last_published_item": "never",
        "pubsub#access_model": "whitelist",
      },
    );
    await publish(alice, NS_AVATAR_DATA, "avatar-sha1", xml("data", { xmlns: NS_AVATAR_DATA }, AVATAR));
    await publish(
      alice,
      NS_AVATAR_META,
      "avatar-sha1",
      xml("metadata", { xmlns: NS_AVATAR_META }, xml("info", { id: "avatar-sha1", bytes: "41", type: "image/png" })),
    );
    await publish(
      alice,
      NS_OMEMO_DEVICES,
      "current",
      xml("list", { xmlns: NS_OMEMO }, xml("device", { id: "31415" })),
      { "pubsub#access_model": "open" },
    );
    // One-to-one messages, archived for both.
    for (const [from, to, body] of [
      [alice, "bob@localhost", "hello bob"],
      [bob, "alice@localhost", "hi alice"],
      [alice, "bob@localhost", "how are you?"],
    ] as const) {
      const id = nextId("m");
      await from.xmpp.send(xml("message", { to, type: "chat", id }, xml("body", {}, body)));
      await (from === alice ? bob : alice).waitFor((s) => s.is("message") && s.attrs.id === id);
    }
    aliceArchive = await archived(alice, undefined);
    assert.equal(aliceArchive.length, 3);
    // A persistent room: configuration, a member, a subject, history.
    await joinRoom(alice, "Alice");
    const configured = await iq(
      alice,
      "set",
      ROOM,
      xml(
        "query",
        { xmlns: NS_MUC_OWNER },
        form("http://jabber.org/protocol/muc#roomconfig", {
          "muc#roomconfig_persistentroom": "1",
          "muc#roomconfig_roomname": "The Lobby",
          "muc#roomconfig_roomdesc": "Where everyone meets",
          "muc#roomconfig_membersonly": "1",
        }),
      ),
    );
    assert.equal(configured.attrs.type, "result", configured.toString());
    const member = await iq(
      alice,
      "set",
      ROOM,
      xml("query", { xmlns: NS_MUC_ADMIN }, xml("item", { jid: "bob@localhost", affiliation: "member" })),
    );
    assert.equal(member.attrs.type, "result", member.toString());
    await alice.xmpp.send(xml("message", { to: ROOM, type: "groupchat" }, xml("subject", {}, "Moving day")));
    for (const body of ["first in the room", "second in the room"]) {
      const id = nextId("g");
      await alice.xmpp.send(xml("message", { to: ROOM, type: "groupchat", id }, xml("body", {}, body)));
      await alice.waitFor((s) => s.is("message") && s.attrs.id === id);
    }
    roomArchive = await archived(alice, ROOM);
    assert.equal(roomArchive.length, 2);
    for (const c of clients.splice(0)) await c.stop();
    await source.server.stop();
    const ctx = await migrationContext(source);
    try {
      text = await exportText(ctx);
    } finally {
      await ctx.close();
    }

    target = await startTestServer();
    for (const u of USERS) await target.addUser(u, `${u}-pw`);
    await target.server.stop();
  });

  after(async () => {
    for (const c of clients) await c.stop();
    await target?.stop().catch(() => {});
    // The source server is stopped already: only its data directory is left to remove.
    if (source) source.server.stop = async () => {};
    await source?.stop();
  });

  it("exports every kind of data in XEP-0227 and Prosody's elements, and Natter's extension for rooms", () => {
    const doc = parseFramedElement(text, { maxStanzaBytes: 64 << 20, maxDepth: 64 }, NS_PIE);
    const alice = doc
      .getChild("host", NS_PIE)
      ?.getChildren("user", NS_PIE)
      .find((u) => u.attrs.name === "alice");
    const nodes = alice
      ?.getChild("pubsub", NS_PUBSUB)
      ?.getChildren("items", NS_PUBSUB)
      .map((i) => i.attrs.node)
      .sort();
    // storage:bookmarks is the XEP-0048 copy the bookmarks module keeps in step (XEP-0402 §4): a PEP node too.
    assert.deepEqual(
      nodes,
      [NS_AVATAR_DATA, NS_AVATAR_META, NS_BOOKMARKS, NS_OMEMO_DEVICES, "storage:bookmarks"].sort(),
    );
    const configure = alice
      ?.getChild("pubsub", `${NS_PUBSUB}#owner`)
      ?.getChildren("configure")
      .find((c) => c.attrs.node === NS_BOOKMARKS);
    const access = configure
      ?.getChild("x", NS_XDATA)
      ?.getChildren("field")
      .find((f) => f.attrs.var === "pubsub#access_model");
    assert.equal(access?.getChildText("value"), "whitelist");
    const results = alice?.getChild("archive", "urn:xmpp:pie:0#mam")?.getChildren("result", NS_MAM) ?? [];
    assert.deepEqual(
      results.map((r) => r.attrs.id),
      aliceArchive.map(([id]) => id),
    );
    const room = doc
      .getChild("host", NS_PIE)
      ?.getChild("muc-service", "urn:natter:pie:0")
      ?.getChild("room", "urn:natter:pie:0");
    assert.equal(room?.attrs.jid, ROOM);
  });

  it("a dry run reports what it would add and writes nothing", async () => {
    const ctx = await migrationContext(target);
    try {
      const changes = await importText(ctx, text, true);
      assert.deepEqual(changes.warnings, []);
      assert.ok(changes.added > 10, `added ${changes.added}`);
      assert.equal(
        await exportText(ctx),
        new Element("server-data", NS_PIE, {}, [
          new Element(
            "host",
            NS_PIE,
            { jid: "localhost" },
            USERS.map((name) => new Element("user", NS_PIE, { name })),
          ),
        ]).toString(),
      );
    } finally {
      await ctx.close();
    }
  });

  it("imports; a second import finds everything unchanged", async () => {
    const ctx = await migrationContext(target);
    try {
      const first = await importText(ctx, text, false);
      assert.deepEqual(first.warnings, []);
      assert.equal(first.changed, 0);
      assert.equal(first.unchanged, 0);
      const second = await importText(ctx, text, false);
      assert.deepEqual(second, { added: 0, changed: 0, unchanged: first.added, warnings: [] });
      assert.equal(await exportText(ctx), text, "the target exports what the source did");
      // Ids, times and the `with` column MAM filters on are the source's, in both user archives.
      const src = await migrationContext(source);
      try {
        for (const user of USERS) {
          const rows = async (c: MigrationContext) =>
            (await c.storage.open("localhost", "mam", "archive").find(user)).map((i) => [i.id, i.when, i.with]);
          assert.deepEqual(await rows(ctx), await rows(src), user);
        }
      } finally {
        await src.close();
      }
    } finally {
      await ctx.close();
    }
    target.server = await NatterServer.start(configOf(target), { log: silent });
  });

  it("the user sees the same bookmark, avatar and OMEMO device list", async () => {
    const alice = await login(target, "alice");
    const bookmarks = await items(alice, "alice@localhost", NS_BOOKMARKS);
    assert.equal(bookmarks.length, 1);
    assert.equal(bookmarks[0]?.attrs.id, ROOM);
    assert.equal(bookmarks[0]?.getChild("conference", NS_BOOKMARKS)?.attrs.name, "The Lobby");
    assert.equal(bookmarks[0]?.getChild("conference", NS_BOOKMARKS)?.getChildText("nick"), "Al");
    const avatar = await items(alice, "alice@localhost", NS_AVATAR_DATA);
    assert.equal(avatar[0]?.getChildText("data"), AVATAR);
    const bob = await login(target, "bob");
    const devices = await items(bob, "alice@localhost", NS_OMEMO_DEVICES);
    assert.equal(devices[0]?.getChild("list", NS_OMEMO)?.getChild("device")?.attrs.id, "31415");
    // The bookmark node kept its whitelist access model: bob may not read it.
    const denied = await iq(
      bob,
      "get",
      "alice@localhost",
      xml("pubsub", { xmlns: NS_PUBSUB }, xml("items", { node: NS_BOOKMARKS })),
    );
    assert.equal(denied.attrs.type, "error", denied.toString());
  });

  it("MAM returns the same stanza ids and bodies", async () => {
    const alice = clients.find((c) => c.jid.startsWith("alice@")) ?? (await login(target, "alice"));
    assert.deepEqual(await archived(alice, undefined), aliceArchive);
  });

  it("the room is there with its subject, configuration, member and history", async () => {
    const bob = clients.find((c) => c.jid.startsWith("bob@")) ?? (await login(target, "bob"));
    // Members-only: bob enters because his membership came along.
    const self = await joinRoom(bob, "Bob");
    assert.equal(self.getChild("x", NS_MUC_USER)?.getChild("item")?.attrs.affiliation, "member");
    const subject = await bob.waitFor(
      (s) => s.is("message") && s.attrs.from?.startsWith(ROOM) === true && s.getChild("subject") !== undefined,
    );
    assert.equal(subject.getChildText("subject"), "Moving day");
    const history = bob.received.filter(
      (s) => s.is("message") && s.attrs.from?.startsWith(ROOM) === true && s.getChild("body"),
    );
    assert.deepEqual(
      history.map((m) => m.getChildText("body")),
      ["first in the room", "second in the room"],
    );
    const info = await iq(bob, "get", ROOM, xml("query", { xmlns: "http://jabber.org/protocol/disco#info" }));
    assert.equal(info.getChild("query")?.getChild("identity")?.attrs.name, "The Lobby");
    const features =
      info
        .getChild("query")
        ?.getChildren("feature")
        .map((f) => f.attrs.var) ?? [];
    assert.ok(features.includes("muc_persistent") && features.includes("muc_membersonly"), features.join(" "));
    assert.deepEqual(await archived(bob, ROOM), roomArchive);
  });
});
