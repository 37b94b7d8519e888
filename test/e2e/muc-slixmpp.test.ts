// XEP-0045 interop: slixmpp's xep_0045 plugin (a second, independent client implementation) in a room an
// @xmpp/client user created — join with self-presence 110, groupchat echo with stanza-id, subject, history on
// join with the room's delay, a private message through the room, forbidden configuration and a kick —
// while the @xmpp/client owner watches the same room.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { runSlixmpp, useSlixmpp } from "../helpers/slixmpp.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { type ConnectedClient, connect, xml } from "../helpers/xmpp-client.js";

const MUC = "conference.localhost";
const ROOM = `mixed@${MUC}`;
const NS_USER = "http://jabber.org/protocol/muc#user";

interface MucResult {
  ok: boolean;
  error?: string;
  a_self: { codes: number[]; item: Record<string, string>; occupants: string[] };
  a_echo: { from: string; id: string; stanza_id: boolean };
  b_join: { codes: number[]; item: Record<string, string>; subject: string; occupants: string[]; history: string[]; history_delay_from: string[] };
  a_private: { from: string; body: string; muc_user: boolean };
  b_config_error: string | null;
  b_kicked: { codes: number[] };
}

const runScript = (args: Record<string, unknown>) => runSlixmpp<MucResult>("muc_room.py", args, { timeoutMs: 60_000 });

describe("slixmpp interop: multi-user chat (XEP-0045)", { timeout: 90_000 }, () => {
  useSlixmpp();

  let ts: TestServer;
  let carol: ConnectedClient;

  before(async () => {
    ts = await startTestServer();
    for (const u of ["carol", "slixa", "slixb"]) await ts.addUser(u, `${u}-secret`);
    carol = await connect(ts, "carol", "carol-secret", { resource: "xmppjs" });
    await carol.xmpp.send(xml("presence"));
    // Carol creates the room as an instant room and makes slixa an admin.
    await carol.xmpp.send(xml("presence", { to: `${ROOM}/Carol` }, xml("x", { xmlns: "http://jabber.org/protocol/muc" })));
    await carol.waitFor((s) => s.is("presence") && s.attrs.from === `${ROOM}/Carol`);
    await carol.xmpp.iqCaller.request(
      xml("iq", { type: "set", to: ROOM }, xml("query", { xmlns: "http://jabber.org/protocol/muc#owner" }, xml("x", { xmlns: "jabber:x:data", type: "submit" }))),
    );
    await carol.xmpp.iqCaller.request(
      xml("iq", { type: "set", to: ROOM }, xml("query", { xmlns: "http://jabber.org/protocol/muc#admin" }, xml("item", { jid: "slixa@localhost", affiliation: "admin" }))),
    );
  });

  after(async () => {
    await carol?.stop();
    await ts?.stop();
  });

  it("two slixmpp clients and an @xmpp/client owner share a room", async () => {
    const r = await runScript({
      host: "127.0.0.1",
      port: ts.port,
      room: ROOM,
      a: { jid: "slixa@localhost", password: "slixa-secret", nick: "Anna" },
      b: { jid: "slixb@localhost", password: "slixb-secret", nick: "Ben" },
    });
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.ok(r.a_self.codes.includes(110));
    assert.equal(r.a_self.item.affiliation, "admin");
    assert.equal(r.a_self.item.role, "moderator");
    assert.deepEqual(r.a_self.occupants, ["Anna", "Carol"]);
    assert.equal(r.a_echo.from, `${ROOM}/Anna`);
    assert.equal(r.a_echo.stanza_id, true);
    assert.ok(r.b_join.codes.includes(110));
    assert.equal(r.b_join.item.role, "participant");
    assert.equal(r.b_join.item.jid, "slixb@localhost/slix-b", "one's own presence carries one's real JID");
    assert.equal(r.b_join.subject, "Interop topic");
    assert.deepEqual(r.b_join.history, ["first", "second"]);
    assert.deepEqual(r.b_join.history_delay_from, [ROOM, ROOM]);
    assert.deepEqual(r.b_join.occupants, ["Anna", "Ben", "Carol"]);
    assert.deepEqual(r.a_private, { from: `${ROOM}/Ben`, body: "private hello", muc_user: true });
    assert.equal(r.b_config_error, "forbidden");
    assert.deepEqual(r.b_kicked.codes, [110, 307]);
    // The @xmpp/client owner saw it all: Anna's messages and Ben's kick.
    const first = await carol.waitFor((s) => s.is("message") && s.getChildText("body") === "first");
    assert.equal(first.attrs.from, `${ROOM}/Anna`);
    const kicked = await carol.waitFor((s) => s.is("presence") && s.attrs.from === `${ROOM}/Ben` && s.attrs.type === "unavailable");
    const codes = kicked.getChild("x", NS_USER)?.getChildren("status").map((c) => c.attrs.code);
    assert.deepEqual(codes, ["307"]);
  });
});
