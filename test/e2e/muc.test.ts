// XEP-0045 multi-user chat as @xmpp/client users see it: several independent clients in one room on
// conference.localhost — creation, join order and self-presence (110), groupchat with stanza-id and
// occupant-id, history on join with XEP-0203 delay, subject, private messages, anonymity, kick and ban,
// members-only, passwords, invitations, self-ping, disco, and a persistent room across a restart.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { type ConnectedClient, connect, type XmlElement, xml } from "../helpers/xmpp-client.js";

const MUC = "conference.localhost";
const NS_MUC = "http://jabber.org/protocol/muc";
const NS_USER = "http://jabber.org/protocol/muc#user";
const NS_ADMIN = "http://jabber.org/protocol/muc#admin";
const NS_OWNER = "http://jabber.org/protocol/muc#owner";
const NS_XDATA = "jabber:x:data";
const NS_DELAY = "urn:xmpp:delay";
const NS_SID = "urn:xmpp:sid:0";
const NS_OID = "urn:xmpp:occupant-id:0";
const NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas";
const NS_INFO = "http://jabber.org/protocol/disco#info";
const NS_ITEMS = "http://jabber.org/protocol/disco#items";

let seq = 0;
const nextId = (p = "m") => `${p}${++seq}`;

const codes = (s: XmlElement): number[] =>
  (s.getChild("x", NS_USER)?.getChildren("status") ?? []).map((c) => Number(c.attrs.code)).sort((a, b) => a - b);
const itemOf = (s: XmlElement) => s.getChild("x", NS_USER)?.getChild("item");
const errorCondition = (s: XmlElement): string | undefined =>
  s.getChild("error")?.children.find((c): c is XmlElement => typeof c !== "string" && c.attrs.xmlns === NS_STANZAS)?.name;
const isFrom = (from: string, pred: (s: XmlElement) => boolean = () => true) => (s: XmlElement) => s.attrs.from === from && pred(s);

/** Sends an IQ and resolves with its reply (result or error). */
async function iq(c: ConnectedClient, type: "get" | "set", to: string, child: XmlElement): Promise<XmlElement> {
  const id = nextId("iq");
  await c.xmpp.send(xml("iq", { type, to, id }, child));
  return c.waitFor((s) => s.is("iq") && s.attrs.id === id && (s.attrs.type === "result" || s.attrs.type === "error"));
}

/** Presence to room/nick; resolves with the self-presence (110) or the error presence. */
async function join(
  c: ConnectedClient,
  room: string,
  nick: string,
  opts: { password?: string; history?: Record<string, string> } = {},
): Promise<XmlElement> {
  const children: XmlElement[] = [];
  if (opts.password !== undefined) children.push(xml("password", {}, opts.password));
  if (opts.history) children.push(xml("history", opts.history));
  const id = nextId("join");
  const occupant = `${room}@${MUC}/${nick}`;
  await c.xmpp.send(xml("presence", { to: occupant, id }, xml("x", { xmlns: NS_MUC }, ...children)));
  return c.waitFor(
    (s) =>
      s.is("presence") &&
      ((s.attrs.type === "error" && s.attrs.id === id) ||
        (s.attrs.from === occupant && s.attrs.type === undefined && codes(s).includes(110))),
  );
}

function submitForm(fields: Record<string, string>): XmlElement {
  return xml(
    "query",
    { xmlns: NS_OWNER },
    xml(
      "x",
      { xmlns: NS_XDATA, type: "submit" },
      xml("field", { var: "FORM_TYPE" }, xml("value", {}, "http://jabber.org/protocol/muc#roomconfig")),
      ...Object.entries(fields).map(([k, v]) => xml("field", { var: k }, xml("value", {}, v))),
    ),
  );
}

async function createRoom(c: ConnectedClient, room: string, nick: string, fields: Record<string, string> = {}): Promise<void> {
  const self = await join(c, room, nick);
  assert.deepEqual(codes(self), [110, 170, 201], "a new room: 110 and 201 (and 170: it is logged)");
  const res = await iq(c, "set", `${room}@${MUC}`, submitForm(fields));
  assert.equal(res.attrs.type, "result", `configuring ${room}: ${res.toString()}`);
}

function groupchat(room: string, body: string, id = nextId()): XmlElement {
  return xml("message", { to: `${room}@${MUC}`, type: "groupchat", id }, xml("body", {}, body));
}

describe("multi-user chat (XEP-0045)", { timeout: 120_000 }, () => {
  let ts: TestServer;
  const clients: ConnectedClient[] = [];
  let alice: ConnectedClient;
  let bob: ConnectedClient;
  let carol: ConnectedClient;
  let dave: ConnectedClient;
  let eve: ConnectedClient;

  async function login(user: string, resource = "res"): Promise<ConnectedClient> {
    const c = await connect(ts, user, `${user}-secret`, { resource });
    clients.push(c);
    await c.xmpp.send(xml("presence"));
    return c;
  }

  before(async () => {
    ts = await startTestServer({ yaml: "admins: [boss@localhost]\nmodules:\n  muc:\n    history_length: 5" });
    for (const u of ["alice", "bob", "carol", "dave", "eve", "boss"]) await ts.addUser(u, `${u}-secret`);
    alice = await login("alice");
    bob = await login("bob");
    carol = await login("carol");
    dave = await login("dave");
    eve = await login("eve");
  });

  after(async () => {
    for (const c of clients) await c.stop();
    await ts?.stop();
  });

  it("the host lists the service, which is a text conference service", async () => {
    const items = await iq(alice, "get", "localhost", xml("query", { xmlns: NS_ITEMS }));
    assert.ok(items.getChild("query")?.getChildren("item").some((i) => i.attrs.jid === MUC), items.toString());
    const info = await iq(alice, "get", MUC, xml("query", { xmlns: NS_INFO }));
    const q = info.getChild("query");
    assert.ok(q?.getChildren("identity").some((i) => i.attrs.category === "conference" && i.attrs.type === "text"));
    assert.ok(q?.getChildren("feature").some((f) => f.attrs.var === NS_MUC));
  });

  it("a new room is locked until its owner accepts the instant configuration", async () => {
    const self = await join(alice, "lobby", "Alice");
    assert.deepEqual(codes(self), [110, 170, 201]);
    assert.equal(itemOf(self)?.attrs.affiliation, "owner");
    assert.equal(itemOf(self)?.attrs.role, "moderator");
    const refused = await join(bob, "lobby", "Bob");
    assert.equal(refused.attrs.type, "error");
    assert.equal(errorCondition(refused), "item-not-found");
    const res = await iq(alice, "set", `lobby@${MUC}`, xml("query", { xmlns: NS_OWNER }, xml("x", { xmlns: NS_XDATA, type: "submit" })));
    assert.equal(res.attrs.type, "result");
  });

  it("occupants get the others' presence first, their own with 110 last; only moderators see real JIDs", async () => {
    const bobSelf = await join(bob, "lobby", "Bob");
    assert.deepEqual(codes(bobSelf), [110, 170]);
    const bobPresences = bob.received.filter((s) => s.is("presence") && s.attrs.type !== "error" && s.attrs.from?.startsWith(`lobby@${MUC}/`));
    assert.deepEqual(
      bobPresences.map((s) => s.attrs.from),
      [`lobby@${MUC}/Alice`, `lobby@${MUC}/Bob`],
      "Alice's presence before Bob's own",
    );
    // Semi-anonymous: a participant does not see the owner's real JID; everyone's presence has an occupant-id.
    assert.equal(itemOf(bobPresences[0] as XmlElement)?.attrs.jid, undefined);
    assert.ok(bobPresences[0]?.getChild("occupant-id", NS_OID)?.attrs.id);
    assert.equal(itemOf(bobSelf)?.attrs.jid, bob.jid, "one's own presence shows one's JID");

    await join(carol, "lobby", "Carol");
    const carolSeenByAlice = await alice.waitFor(isFrom(`lobby@${MUC}/Carol`));
    assert.equal(itemOf(carolSeenByAlice)?.attrs.jid, carol.jid, "a moderator sees real JIDs");
    const carolSeenByBob = await bob.waitFor(isFrom(`lobby@${MUC}/Carol`));
    assert.equal(itemOf(carolSeenByBob)?.attrs.jid, undefined, "a participant does not");
    assert.equal(itemOf(carolSeenByBob)?.attrs.role, "participant");
    assert.deepEqual(codes(carolSeenByBob), []);
  });

  it("groupchat goes to every occupant from room/nick with the same id, a stanza-id and an occupant-id", async () => {
    const id = nextId();
    await bob.xmpp.send(groupchat("lobby", "hello everyone", id));
    for (const c of [alice, bob, carol]) {
      const m = await c.waitFor((s) => s.is("message") && s.attrs.id === id);
      assert.equal(m.attrs.from, `lobby@${MUC}/Bob`);
      assert.equal(m.attrs.type, "groupchat");
      assert.equal(m.getChildText("body"), "hello everyone");
      assert.equal(m.getChild("stanza-id", NS_SID)?.attrs.by, `lobby@${MUC}`);
      assert.ok(m.getChild("occupant-id", NS_OID)?.attrs.id);
    }
    for (const n of [1, 2, 3]) await carol.xmpp.send(groupchat("lobby", `message ${n}`, `hist${n}`));
    await alice.waitFor((s) => s.attrs.id === "hist3");
  });

  it("subject changes need permission; a moderator's reaches everyone", async () => {
    const id = nextId();
    await bob.xmpp.send(xml("message", { to: `lobby@${MUC}`, type: "groupchat", id }, xml("subject", {}, "Bob's topic")));
    const err = await bob.waitFor((s) => s.attrs.id === id && s.attrs.type === "error");
    assert.equal(errorCondition(err), "forbidden");
    await alice.xmpp.send(xml("message", { to: `lobby@${MUC}`, type: "groupchat" }, xml("subject", {}, "Welcome to the lobby")));
    for (const c of [bob, carol]) {
      const m = await c.waitFor((s) => s.is("message") && s.getChildText("subject") === "Welcome to the lobby");
      assert.equal(m.attrs.from, `lobby@${MUC}/Alice`);
    }
  });

  it("a joining occupant gets the recent history with delay, then the subject", async () => {
    await join(dave, "lobby", "Dave");
    const subject = await dave.waitFor((s) => s.is("message") && s.getChild("subject") !== undefined);
    assert.equal(subject.getChildText("subject"), "Welcome to the lobby");
    const history = dave.received.filter((s) => s.is("message") && s.getChild("body"));
    assert.deepEqual(
      history.map((m) => m.getChildText("body")),
      ["hello everyone", "message 1", "message 2", "message 3"],
    );
    for (const m of history) {
      const delay = m.getChild("delay", NS_DELAY);
      assert.equal(delay?.attrs.from, `lobby@${MUC}`);
      assert.match(delay?.attrs.stamp ?? "", /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
      assert.equal(m.getChild("stanza-id", NS_SID)?.attrs.by, `lobby@${MUC}`);
    }
    assert.ok(dave.received.indexOf(subject) > dave.received.indexOf(history.at(-1) as XmlElement), "subject after history");
    // <history maxstanzas='2'/> from another resource of Eve: the last two only.
    const eve2 = await login("eve", "second");
    await join(eve2, "lobby", "Eve", { history: { maxstanzas: "2" } });
    await eve2.waitFor((s) => s.is("message") && s.getChild("subject") !== undefined);
    assert.deepEqual(
      eve2.received.filter((s) => s.is("message") && s.getChild("body")).map((m) => m.getChildText("body")),
      ["message 2", "message 3"],
    );
    await eve2.xmpp.send(xml("presence", { to: `lobby@${MUC}/Eve`, type: "unavailable" }));
    const gone = await eve2.waitFor((s) => s.is("presence") && s.attrs.type === "unavailable" && s.attrs.from === `lobby@${MUC}/Eve`);
    assert.deepEqual(codes(gone), [110]);
    await eve2.stop();
  });

  it("private messages go through the room to one occupant", async () => {
    const id = nextId();
    await bob.xmpp.send(xml("message", { to: `lobby@${MUC}/Carol`, type: "chat", id }, xml("body", {}, "psst")));
    const m = await carol.waitFor((s) => s.is("message") && s.attrs.id === id);
    assert.equal(m.attrs.from, `lobby@${MUC}/Bob`);
    assert.ok(m.getChild("x", NS_USER), "marked as a MUC private message");
    assert.equal(alice.received.some((s) => s.attrs.id === id), false);
    const id2 = nextId();
    await bob.xmpp.send(xml("message", { to: `lobby@${MUC}/Nobody`, type: "chat", id: id2 }, xml("body", {}, "?")));
    assert.equal(errorCondition(await bob.waitFor((s) => s.attrs.id === id2 && s.attrs.type === "error")), "item-not-found");
  });

  it("bad input: forbidden nick characters, a nick in use, groupchat from a non-occupant, configuration by a non-owner", async () => {
    // A nick is a resourcepart (RFC 7622 §3.4 OpaqueString): a control character makes the address malformed.
    const eveBad = await login("eve", "bad-nick");
    const bad = await join(eveBad, "lobby", "bad\u0085nick");
    assert.equal(bad.attrs.type, "error");
    assert.equal(errorCondition(bad), "jid-malformed");
    await eveBad.stop();
    const taken = await join(eve, "lobby", "Bob");
    assert.equal(errorCondition(taken), "conflict");
    const id = nextId();
    await eve.xmpp.send(groupchat("lobby", "let me in", id));
    assert.equal(errorCondition(await eve.waitFor((s) => s.attrs.id === id && s.attrs.type === "error")), "not-acceptable");
    const cfg = await iq(bob, "get", `lobby@${MUC}`, xml("query", { xmlns: NS_OWNER }));
    assert.equal(cfg.attrs.type, "error");
    assert.equal(errorCondition(cfg), "forbidden");
    const owner = await iq(alice, "get", `lobby@${MUC}`, xml("query", { xmlns: NS_OWNER }));
    const form = owner.getChild("query")?.getChild("x", NS_XDATA);
    assert.ok(form?.getChildren("field").some((f) => f.attrs.var === "muc#roomconfig_whois"));
  });

  it("self-ping (XEP-0410): answered for an occupant, not-acceptable for anyone else", async () => {
    const ok = await iq(bob, "get", `lobby@${MUC}/Bob`, xml("ping", { xmlns: "urn:xmpp:ping" }));
    assert.equal(ok.attrs.type, "result");
    const no = await iq(eve, "get", `lobby@${MUC}/Eve`, xml("ping", { xmlns: "urn:xmpp:ping" }));
    assert.equal(errorCondition(no), "not-acceptable");
  });

  it("disco: the service lists public rooms; a room's features and muc#roominfo follow its configuration", async () => {
    const items = await iq(eve, "get", MUC, xml("query", { xmlns: NS_ITEMS }));
    assert.ok(items.getChild("query")?.getChildren("item").some((i) => i.attrs.jid === `lobby@${MUC}`));
    const info = await iq(eve, "get", `lobby@${MUC}`, xml("query", { xmlns: NS_INFO }));
    const features = info.getChild("query")?.getChildren("feature").map((f) => f.attrs.var) ?? [];
    for (const f of [NS_MUC, "muc_public", "muc_temporary", "muc_open", "muc_unmoderated", "muc_semianonymous", "muc_unsecured", NS_OID])
      assert.ok(features.includes(f), `feature ${f}`);
    const form = info.getChild("query")?.getChild("x", NS_XDATA);
    const field = (v: string) => form?.getChildren("field").find((f) => f.attrs.var === v)?.getChildText("value");
    assert.equal(field("FORM_TYPE"), "http://jabber.org/protocol/muc#roominfo");
    assert.equal(field("muc#roominfo_occupants"), "4");
    assert.equal(field("muc#roominfo_subject"), "Welcome to the lobby");
  });

  it("kick (307) and ban (301); a banned user cannot come back", async () => {
    const kick = await iq(alice, "set", `lobby@${MUC}`, xml("query", { xmlns: NS_ADMIN }, xml("item", { nick: "Carol", role: "none" }, xml("reason", {}, "calm down"))));
    assert.equal(kick.attrs.type, "result");
    const kicked = await carol.waitFor((s) => s.is("presence") && s.attrs.type === "unavailable" && s.attrs.from === `lobby@${MUC}/Carol`);
    assert.deepEqual(codes(kicked), [110, 307]);
    assert.equal(itemOf(kicked)?.getChildText("reason"), "calm down");
    const seen = await bob.waitFor((s) => s.is("presence") && s.attrs.type === "unavailable" && s.attrs.from === `lobby@${MUC}/Carol`);
    assert.deepEqual(codes(seen), [307]);
    // A participant may not kick.
    const denied = await iq(bob, "set", `lobby@${MUC}`, xml("query", { xmlns: NS_ADMIN }, xml("item", { nick: "Dave", role: "none" })));
    assert.equal(errorCondition(denied), "forbidden");

    const ban = await iq(alice, "set", `lobby@${MUC}`, xml("query", { xmlns: NS_ADMIN }, xml("item", { jid: "dave@localhost", affiliation: "outcast" })));
    assert.equal(ban.attrs.type, "result");
    const banned = await dave.waitFor((s) => s.is("presence") && s.attrs.type === "unavailable" && s.attrs.from === `lobby@${MUC}/Dave`);
    assert.deepEqual(codes(banned), [110, 301]);
    const again = await join(dave, "lobby", "Dave2");
    assert.equal(errorCondition(again), "forbidden");
    const list = await iq(alice, "get", `lobby@${MUC}`, xml("query", { xmlns: NS_ADMIN }, xml("item", { affiliation: "outcast" })));
    assert.deepEqual(list.getChild("query")?.getChildren("item").map((i) => i.attrs.jid), ["dave@localhost"]);
  });

  it("non-anonymous rooms show everyone's JID and say so with 100 (and 172 to those present)", async () => {
    await iq(alice, "set", `lobby@${MUC}`, submitForm({ "muc#roomconfig_whois": "anyone" }));
    const note = await bob.waitFor((s) => s.is("message") && s.attrs.from === `lobby@${MUC}` && codes(s).includes(172));
    assert.ok(note);
    await join(carol, "lobby", "Carol");
    const self = await carol.waitFor((s) => s.is("presence") && s.attrs.from === `lobby@${MUC}/Carol` && codes(s).includes(100));
    assert.ok(self);
    const aliceSeen = carol.received.findLast((s) => s.is("presence") && s.attrs.from === `lobby@${MUC}/Alice`);
    assert.equal(itemOf(aliceSeen as XmlElement)?.attrs.jid, alice.jid);
  });

  it("members-only rooms refuse non-members with registration-required; a mediated invitation adds membership", async () => {
    await createRoom(alice, "staff", "Alice", { "muc#roomconfig_membersonly": "1", "muc#roomconfig_publicroom": "0" });
    const refused = await join(bob, "staff", "Bob");
    assert.equal(errorCondition(refused), "registration-required");
    await alice.xmpp.send(
      xml("message", { to: `staff@${MUC}` }, xml("x", { xmlns: NS_USER }, xml("invite", { to: "bob@localhost" }, xml("reason", {}, "team meeting")))),
    );
    const invite = await bob.waitFor((s) => s.is("message") && s.attrs.from === `staff@${MUC}` && s.getChild("x", NS_USER)?.getChild("invite") !== undefined);
    assert.equal(invite.getChild("x", NS_USER)?.getChild("invite")?.getChildText("reason"), "team meeting");
    const self = await join(bob, "staff", "Bob");
    assert.equal(self.attrs.type, undefined);
    assert.equal(itemOf(self)?.attrs.affiliation, "member");
    // Not public: the service does not list it.
    const items = await iq(eve, "get", MUC, xml("query", { xmlns: NS_ITEMS }));
    assert.equal(items.getChild("query")?.getChildren("item").some((i) => i.attrs.jid === `staff@${MUC}`), false);
  });

  it("password-protected rooms refuse a missing or wrong password with not-authorized", async () => {
    await createRoom(alice, "vault", "Alice", { "muc#roomconfig_passwordprotectedroom": "1", "muc#roomconfig_roomsecret": "s3cret" });
    assert.equal(errorCondition(await join(bob, "vault", "Bob")), "not-authorized");
    assert.equal(errorCondition(await join(bob, "vault", "Bob", { password: "wrong" })), "not-authorized");
    const ok = await join(bob, "vault", "Bob", { password: "s3cret" });
    assert.equal(ok.attrs.type, undefined);
  });

  it("configured admins own every room", async () => {
    const boss = await login("boss");
    const self = await join(boss, "vault", "Boss");
    assert.equal(itemOf(self)?.attrs.affiliation, "owner");
  });

  it("a temporary room vanishes with its last occupant", async () => {
    await createRoom(eve, "tmp", "Eve");
    await eve.xmpp.send(xml("presence", { to: `tmp@${MUC}/Eve`, type: "unavailable" }));
    await eve.waitFor((s) => s.is("presence") && s.attrs.type === "unavailable" && s.attrs.from === `tmp@${MUC}/Eve`);
    const info = await iq(eve, "get", `tmp@${MUC}`, xml("query", { xmlns: NS_INFO }));
    assert.equal(errorCondition(info), "item-not-found");
  });

  it("a persistent room keeps its configuration, affiliations, subject and archive across a restart", async () => {
    await createRoom(alice, "course", "Alice", { "muc#roomconfig_persistentroom": "1", "muc#roomconfig_roomname": "Course 101" });
    await iq(alice, "set", `course@${MUC}`, xml("query", { xmlns: NS_ADMIN }, xml("item", { jid: "bob@localhost", affiliation: "member" })));
    await alice.xmpp.send(xml("message", { to: `course@${MUC}`, type: "groupchat" }, xml("subject", {}, "Week 1")));
    await alice.xmpp.send(groupchat("course", "read chapter one", "c1"));
    await alice.waitFor((s) => s.attrs.id === "c1");
    for (const c of clients) await c.stop();
    clients.length = 0;
    await ts.restart();
    const bob2 = await login("bob");
    const items = await iq(bob2, "get", MUC, xml("query", { xmlns: NS_ITEMS }));
    const item = items.getChild("query")?.getChildren("item").find((i) => i.attrs.jid === `course@${MUC}`);
    assert.equal(item?.attrs.name, "Course 101");
    const self = await join(bob2, "course", "Bob");
    assert.equal(itemOf(self)?.attrs.affiliation, "member");
    const subject = await bob2.waitFor((s) => s.is("message") && s.getChild("subject") !== undefined);
    assert.equal(subject.getChildText("subject"), "Week 1");
    const history = bob2.received.filter((s) => s.is("message") && s.getChild("body"));
    assert.deepEqual(history.map((m) => m.getChildText("body")), ["read chapter one"]);
    assert.ok(history[0]?.getChild("delay", NS_DELAY));
    const info = await iq(bob2, "get", `course@${MUC}`, xml("query", { xmlns: NS_INFO }));
    assert.ok(info.getChild("query")?.getChildren("feature").some((f) => f.attrs.var === "muc_persistent"));
    // The room archive answers MAM (XEP-0313) queries on the room JID.
    const fin = await iq(bob2, "set", `course@${MUC}`, xml("query", { xmlns: "urn:xmpp:mam:2", queryid: "q1" }));
    assert.equal(fin.attrs.type, "result", fin.toString());
    const result = bob2.received.find((s) => s.is("message") && s.getChild("result", "urn:xmpp:mam:2")?.attrs.queryid === "q1");
    const forwarded = result?.getChild("result", "urn:xmpp:mam:2")?.getChild("forwarded", "urn:xmpp:forward:0");
    assert.equal(forwarded?.getChild("message")?.getChildText("body"), "read chapter one");
    assert.equal(result?.attrs.from, `course@${MUC}`);
  });
});

describe("multi-user chat limits", { timeout: 60_000 }, () => {
  let ts: TestServer;
  const clients: ConnectedClient[] = [];

  async function login(user: string): Promise<ConnectedClient> {
    const c = await connect(ts, user, `${user}-secret`, { resource: "res" });
    clients.push(c);
    await c.xmpp.send(xml("presence"));
    return c;
  }

  before(async () => {
    ts = await startTestServer({
      yaml: [
        "admins: [boss@localhost]",
        "modules:",
        "  muc:",
        "    max_occupants: 2",
        "    max_rooms_per_user: 2",
        "    room_creation: admins",
        "    message_rate: { per_second: 0.1, burst: 3 }",
      ].join("\n"),
    });
    for (const u of ["boss", "amy", "ben", "cat"]) await ts.addUser(u, `${u}-secret`);
  });

  after(async () => {
    for (const c of clients) await c.stop();
    await ts?.stop();
  });

  it("refuses room creation to non-admins, a full room with service-unavailable, fast talkers with resource-constraint, too many rooms", async () => {
    const [boss, amy, ben, cat] = [await login("boss"), await login("amy"), await login("ben"), await login("cat")];
    const notAllowed = await join(amy, "amys", "Amy");
    assert.equal(errorCondition(notAllowed), "not-allowed");
    await createRoom(boss, "hall", "Boss");
    await createRoom(boss, "annex", "Boss");
    assert.equal((await join(amy, "hall", "Amy")).attrs.type, undefined);
    const full = await join(ben, "hall", "Ben");
    assert.equal(errorCondition(full), "service-unavailable");
    assert.equal(full.getChild("error")?.attrs.type, "wait");
    // Three messages pass (the burst), the fourth is refused.
    for (const n of [1, 2, 3]) await amy.xmpp.send(groupchat("hall", `burst ${n}`, `b${n}`));
    await amy.waitFor((s) => s.attrs.id === "b3" && s.attrs.type === "groupchat");
    await amy.xmpp.send(groupchat("hall", "one too many", "b4"));
    const slow = await amy.waitFor((s) => s.attrs.id === "b4" && s.attrs.type === "error");
    assert.equal(errorCondition(slow), "resource-constraint");
    // Cat may be in two rooms at once, not three.
    assert.equal((await join(cat, "annex", "Cat")).attrs.type, undefined);
    await iq(boss, "set", `hall@${MUC}`, xml("query", { xmlns: NS_ADMIN }, xml("item", { nick: "Amy", role: "none" })));
    assert.equal((await join(cat, "hall", "Cat")).attrs.type, undefined);
    const again = await join(cat, "annex", "Cat2");
    assert.equal(again.attrs.type, undefined, "a second nick in the same room is no new room");
    await createRoom(boss, "third", "Boss");
    const tooMany = await join(cat, "third", "Cat");
    assert.equal(errorCondition(tooMany), "resource-constraint");
  });
});
