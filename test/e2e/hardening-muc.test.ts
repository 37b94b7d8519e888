// Issue 11 "Safe on the open Internet", MUC slice: every piece of state a stranger can grow in the XEP-0045
// service, and every fan-out a stranger can trigger, has a limit. Each test drives a real Natter over real
// sockets to the edge of one limit (N accepted, N+1 refused with the XEP-0045 / RFC 6120 error) and checks
// the log line. Users of another server are played by an XEP-0114 component (JIDs of a domain that is not
// one of the server's hosts), which is what "remote" means to the service.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type Component, component } from "@xmpp/component";
import { stanzaInbox } from "../helpers/stanza-inbox.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { type ConnectedClient, connect, type XmlElement, xml } from "../helpers/xmpp-client.js";

const MUC = "conference.localhost";
const NS_MUC = "http://jabber.org/protocol/muc";
const NS_USER = "http://jabber.org/protocol/muc#user";
const NS_ADMIN = "http://jabber.org/protocol/muc#admin";
const NS_OWNER = "http://jabber.org/protocol/muc#owner";
const NS_REQUEST = "http://jabber.org/protocol/muc#request";
const NS_XDATA = "jabber:x:data";
const NS_DELAY = "urn:xmpp:delay";
const NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas";

let seq = 0;
const nextId = (p = "m") => `${p}${++seq}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const codes = (s: XmlElement): number[] =>
  (s.getChild("x", NS_USER)?.getChildren("status") ?? []).map((c) => Number(c.attrs.code)).sort((a, b) => a - b);
const errorCondition = (s: XmlElement): string | undefined =>
  s.getChild("error")?.children.find((c): c is XmlElement => typeof c !== "string" && c.attrs.xmlns === NS_STANZAS && c.name !== "text")?.name;

/** Something that sends stanzas and collects what it receives: a user's client or a component. */
interface Peer {
  send(s: XmlElement): Promise<void>;
  received: XmlElement[];
  waitFor(pred: (s: XmlElement) => boolean, timeoutMs?: number): Promise<XmlElement>;
}

const peerOf = (c: ConnectedClient): Peer => ({ send: (s) => c.xmpp.send(s), received: c.received, waitFor: (p, t) => c.waitFor(p, t) });

async function iq(c: Peer, type: "get" | "set", to: string, child: XmlElement, from?: string): Promise<XmlElement> {
  const id = nextId("iq");
  await c.send(xml("iq", { type, to, id, ...(from ? { from } : {}) }, child));
  return c.waitFor((s) => s.is("iq") && s.attrs.id === id && (s.attrs.type === "result" || s.attrs.type === "error"));
}

/** Presence to room/nick; resolves with the self-presence (110) or the error presence. */
async function join(
  c: Peer,
  room: string,
  nick: string,
  opts: { from?: string; history?: Record<string, string> } = {},
): Promise<XmlElement> {
  const id = nextId("join");
  const occupant = `${room}@${MUC}/${nick}`;
  const children = opts.history ? [xml("history", opts.history)] : [];
  const start = c.received.length; // an earlier visit's self-presence is no answer to this one
  await c.send(xml("presence", { to: occupant, id, ...(opts.from ? { from: opts.from } : {}) }, xml("x", { xmlns: NS_MUC }, ...children)));
  return c.waitFor(
    (s) =>
      s.is("presence") &&
      c.received.indexOf(s) >= start &&
      (opts.from === undefined || s.attrs.to === opts.from) &&
      ((s.attrs.type === "error" && s.attrs.id === id) || (s.attrs.from === occupant && s.attrs.type === undefined && codes(s).includes(110))),
  );
}

async function leave(c: ConnectedClient, room: string, nick: string): Promise<void> {
  const occupant = `${room}@${MUC}/${nick}`;
  const before = c.received.length;
  await c.xmpp.send(xml("presence", { to: occupant, type: "unavailable" }));
  await c.waitFor((s) => c.received.indexOf(s) >= before && s.is("presence") && s.attrs.from === occupant && s.attrs.type === "unavailable");
}

function form(fields: Record<string, string>): XmlElement {
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

/** Creates and configures a room (instant unless `fields` say otherwise); resolves with the form's answer. */
async function createRoom(c: Peer, room: string, nick: string, fields: Record<string, string> = {}, from?: string): Promise<XmlElement> {
  const self = await join(c, room, nick, from ? { from } : {});
  assert.ok(codes(self).includes(201), `${room} should be new: ${self.toString()}`);
  const res = await iq(c, "set", `${room}@${MUC}`, form(fields), from);
  assert.equal(res.attrs.type, "result", `configuring ${room}: ${res.toString()}`);
  return res;
}

async function sendAndWaitError(c: Peer, stanza: XmlElement): Promise<XmlElement> {
  await c.send(stanza);
  return c.waitFor((s) => s.attrs.id === stanza.attrs.id && s.attrs.type === "error");
}

/** The log says which limit was reached (one line per refusal). */
function assertLogged(ts: TestServer, limit: string): void {
  assert.ok(
    ts.logs.some((l) => l.msg === "muc limit reached" && l.limit === limit),
    `a "muc limit reached" log line for ${limit}`,
  );
}

/** Nothing matching arrives within `ms`. */
async function assertNothing(c: Peer, pred: (s: XmlElement) => boolean, ms = 400, what = "nothing"): Promise<void> {
  await sleep(ms);
  assert.equal(c.received.filter(pred).length, 0, `expected ${what}`);
}

function groupchat(room: string, body: string, id = nextId()): XmlElement {
  return xml("message", { to: `${room}@${MUC}`, type: "groupchat", id }, xml("body", {}, body));
}

/** Starts a server and logs users in; returns a login function and cleanup. */
function serverFixture(yaml: string, users: string[], extra: { components?: string } = {}) {
  const state: { ts: TestServer; clients: ConnectedClient[]; components: Component[] } = {
    ts: undefined as unknown as TestServer,
    clients: [],
    components: [],
  };
  before(async () => {
    state.ts = await startTestServer({ yaml: `${extra.components ?? ""}\nadmins: [boss@localhost]\nmodules:\n  muc:\n${yaml}` });
    for (const u of users) await state.ts.addUser(u, `${u}-secret`);
    // The first TLS login of a fresh server can take most of @xmpp/client's 2 s open timeout on a busy
    // machine: warm up once here, so that the tests measure the limits, not the cold start.
    await (await login(users[0] as string, "warmup")).stop();
  });
  after(async () => {
    for (const c of state.clients) await c.stop();
    for (const c of state.components) {
      try {
        await c.stop();
      } catch {}
    }
    await state.ts?.stop();
  });
  // One session per user and resource for the whole describe (each test uses rooms of its own): fewer TLS
  // logins on a machine shared by many test runs, where each can take most of @xmpp/client's 2 s timeout.
  const sessions = new Map<string, Promise<ConnectedClient>>();
  const login = (user: string, resource = "res"): Promise<ConnectedClient> => {
    const key = `${user}/${resource}`;
    let c = sessions.get(key);
    if (!c) {
      c = (async () => {
        for (let attempt = 0; ; attempt++) {
          try {
            const client = await connect(state.ts, user, `${user}-secret`, { resource });
            state.clients.push(client);
            await client.xmpp.send(xml("presence"));
            return client;
          } catch (err) {
            if (attempt === 4) throw err;
            await sleep(200 * (attempt + 1));
          }
        }
      })();
      sessions.set(key, c);
    }
    return c;
  };
  /** A component playing users of another server. */
  const remote = async (domain: string, secret: string): Promise<Peer> => {
    const xmpp = component({ service: `xmpp://127.0.0.1:${state.ts.componentPort}`, domain, password: secret });
    xmpp.reconnect.stop();
    xmpp.on("error", () => {});
    const inbox = stanzaInbox(xmpp, "the component");
    await xmpp.start();
    state.components.push(xmpp);
    return {
      send: (s) => xmpp.send(s),
      received: inbox.received,
      waitFor: inbox.waitFor,
    };
  };
  return { state, login, remote };
}

describe("muc hardening: room creation", { timeout: 60_000 }, () => {
  const { state, login } = serverFixture(["    max_owned_rooms: 2", "    max_rooms: 3"].join("\n"), ["amy", "ben", "cat", "boss"]);

  it("max_owned_rooms: a user owns at most N rooms (persistent ones count after leaving); N+1 gets not-allowed", async () => {
    const amy = await login("amy");
    await createRoom(peerOf(amy), "amy1", "Amy", { "muc#roomconfig_persistentroom": "1" });
    await leave(amy, "amy1", "Amy"); // the persistent room stays, and stays hers
    await createRoom(peerOf(amy), "amy2", "Amy");
    const third = await join(peerOf(amy), "amy3", "Amy");
    assert.equal(third.attrs.type, "error");
    assert.equal(errorCondition(third), "not-allowed");
    assertLogged(state.ts, "max_owned_rooms");
    // Destroying one frees its place.
    const destroyed = await iq(peerOf(amy), "set", `amy1@${MUC}`, xml("query", { xmlns: NS_OWNER }, xml("destroy")));
    assert.equal(destroyed.attrs.type, "result");
    const again = await join(peerOf(amy), "amy3", "Amy");
    assert.ok(codes(again).includes(201), again.toString());
  });

  it("max_rooms: the service holds at most N rooms; N+1 gets resource-constraint (wait)", async () => {
    // amy2 and amy3 exist: one more room is the third.
    const ben = await login("ben");
    await createRoom(peerOf(ben), "ben1", "Ben");
    const cat = await login("cat");
    const refused = await join(peerOf(cat), "cat1", "Cat");
    assert.equal(errorCondition(refused), "resource-constraint");
    assert.equal(refused.getChild("error")?.attrs.type, "wait");
    assertLogged(state.ts, "max_rooms");
    // Existing rooms still take new occupants.
    assert.equal((await join(peerOf(cat), "ben1", "Cat")).attrs.type, undefined);
  });
});

describe("muc hardening: rooms created by users of other servers", { timeout: 60_000 }, () => {
  const comps = "components:\n  - { domain: far.example, secret: far-secret }\n  - { domain: away.example, secret: away-secret }";
  const { state, login, remote } = serverFixture("    max_remote_rooms: 1", ["amy"], { components: comps });

  it("max_remote_rooms: N rooms created remotely exist at once; N+1 gets resource-constraint; local users are not counted", async () => {
    const far = await remote("far.example", "far-secret");
    const away = await remote("away.example", "away-secret");
    await createRoom(far, "farroom", "Rem", {}, "rem@far.example/x");
    const refused = await join(away, "awayroom", "Out", { from: "out@away.example/y" });
    assert.equal(errorCondition(refused), "resource-constraint");
    assertLogged(state.ts, "max_remote_rooms");
    // A local user still creates rooms, and the remote user still joins existing ones.
    const amy = await login("amy");
    await createRoom(peerOf(amy), "local", "Amy");
    assert.equal((await join(away, "local", "Out", { from: "out@away.example/y" })).attrs.type, undefined);
  });
});

describe("muc hardening: remote room creation switched off", { timeout: 60_000 }, () => {
  const comps = "components:\n  - { domain: far.example, secret: far-secret }";
  const { state, login, remote } = serverFixture("    remote_room_creation: false", ["amy"], { components: comps });

  it("remote_room_creation false: a remote user's new room gets not-allowed; joining a local room still works", async () => {
    const far = await remote("far.example", "far-secret");
    const refused = await join(far, "theirs", "Rem", { from: "rem@far.example/x" });
    assert.equal(errorCondition(refused), "not-allowed");
    assertLogged(state.ts, "remote_room_creation");
    const amy = await login("amy");
    await createRoom(peerOf(amy), "ours", "Amy");
    assert.equal((await join(far, "ours", "Rem", { from: "rem@far.example/x" })).attrs.type, undefined);
  });
});

describe("muc hardening: rates per sender", { timeout: 60_000 }, () => {
  const { state, login } = serverFixture(
    [
      "    presence_rate: { per_second: 0.5, burst: 2 }",
      "    message_rate: { per_second: 0.01, burst: 3 }",
      "    invite_rate: { per_second: 0.001, burst: 3 }",
      "    room_invite_rate: { per_second: 0.001, burst: 4 }",
      "    max_pending_invites: 2",
      "    voice_request_interval: 60",
      "    max_subject_length: 10",
    ].join("\n"),
    ["amy", "ben", "cat", "dan", "eve", "mal"],
  );

  it("presence_rate: a flood of presence updates is coalesced; others see few broadcasts and the last state wins", async () => {
    const [amy, ben, cat] = [await login("amy"), await login("ben"), await login("cat")];
    await createRoom(peerOf(amy), "pres", "Amy");
    assert.equal((await join(peerOf(ben), "pres", "Ben")).attrs.type, undefined); // one token
    assert.equal((await join(peerOf(cat), "pres", "Cat")).attrs.type, undefined);
    const benAt = `pres@${MUC}/Ben`;
    const fromBen = (s: XmlElement) => s.is("presence") && s.attrs.from === benAt && s.getChildText("status")?.startsWith("flood") === true;
    for (let i = 1; i <= 10; i++) await ben.xmpp.send(xml("presence", { to: benAt }, xml("status", {}, `flood ${i}`)));
    // Another occupant's update is not held up by Ben's flood.
    await cat.xmpp.send(xml("presence", { to: `pres@${MUC}/Cat` }, xml("status", {}, "cat here")));
    await amy.waitFor((s) => s.is("presence") && s.attrs.from === `pres@${MUC}/Cat` && s.getChildText("status") === "cat here", 1000);
    // The final state arrives (after about two seconds), and Amy saw far fewer than ten broadcasts.
    await amy.waitFor((s) => fromBen(s) && s.getChildText("status") === "flood 10", 5000);
    await sleep(2500);
    const seen = amy.received.filter(fromBen).map((s) => s.getChildText("status"));
    assert.ok(seen.length <= 3, `coalesced: ${seen.join(", ")}`);
    assert.equal(seen.at(-1), "flood 10", "the last presence wins");
  });

  it("presence_rate: joining again and again is refused with resource-constraint once the bucket is empty", async () => {
    const [amy, dan] = [await login("amy"), await login("dan")];
    await createRoom(peerOf(amy), "churn", "Amy");
    // burst 2: two joins pass at once; the third within two seconds is refused (and so is a rename).
    assert.equal((await join(peerOf(dan), "churn", "Dan")).attrs.type, undefined);
    await leave(dan, "churn", "Dan");
    assert.equal((await join(peerOf(dan), "churn", "Dan")).attrs.type, undefined);
    const rename = await join(peerOf(dan), "churn", "Danny");
    assert.equal(errorCondition(rename), "resource-constraint");
    await leave(dan, "churn", "Dan");
    const third = await join(peerOf(dan), "churn", "Dan");
    assert.equal(errorCondition(third), "resource-constraint");
    assertLogged(state.ts, "presence_rate");
  });

  it("message_rate survives leaving and joining again; subject changes count too; max_subject_length", async () => {
    const [amy, eve] = [await login("amy"), await login("eve")];
    await createRoom(peerOf(amy), "talk", "Amy");
    assert.equal((await join(peerOf(eve), "talk", "Eve")).attrs.type, undefined);
    for (const n of [1, 2]) await eve.xmpp.send(groupchat("talk", `m${n}`, `talk-${n}`));
    await eve.waitFor((s) => s.attrs.id === "talk-2" && s.attrs.type === "groupchat");
    await leave(eve, "talk", "Eve");
    assert.equal((await join(peerOf(eve), "talk", "Eve")).attrs.type, undefined);
    await eve.xmpp.send(groupchat("talk", "m3", "talk-3"));
    await eve.waitFor((s) => s.attrs.id === "talk-3" && s.attrs.type === "groupchat");
    const refused = await sendAndWaitError(peerOf(eve), groupchat("talk", "m4", "talk-4"));
    assert.equal(errorCondition(refused), "resource-constraint");
    assertLogged(state.ts, "message_rate");

    // Subjects: 10 characters pass, 11 do not; the owner's fourth change within the burst is refused.
    const subject = (text: string, id = nextId("subj")) => xml("message", { to: `talk@${MUC}`, type: "groupchat", id }, xml("subject", {}, text));
    const long = await sendAndWaitError(peerOf(amy), subject("abcdefghijk"));
    assert.equal(errorCondition(long), "not-acceptable");
    assertLogged(state.ts, "max_subject_length");
    for (const t of ["abcdefghij", "two", "three"]) {
      const s = subject(t);
      await amy.xmpp.send(s);
      await amy.waitFor((m) => m.attrs.id === s.attrs.id && m.attrs.type === "groupchat");
    }
    const tooFast = await sendAndWaitError(peerOf(amy), subject("four"));
    assert.equal(errorCondition(tooFast), "resource-constraint");
  });

  it("IQs between occupants: relayed within message_rate, answers only to requests the room relayed", async () => {
    const [amy, ben] = [await login("amy"), await login("ben")];
    // @xmpp/client answers IQs through iqCallee (absent from the repository's minimal typings).
    const callee = (amy.xmpp as unknown as { iqCallee: { get(ns: string, name: string, h: () => XmlElement): void } }).iqCallee;
    callee.get("urn:xmpp:time", "time", () => xml("time", { xmlns: "urn:xmpp:time" }, xml("tzo", {}, "Z")));
    await createRoom(peerOf(amy), "iqs", "Amy");
    assert.equal((await join(peerOf(ben), "iqs", "Ben")).attrs.type, undefined);
    const timeReq = (id = nextId("time")) => xml("iq", { type: "get", to: `iqs@${MUC}/Amy`, id }, xml("time", { xmlns: "urn:xmpp:time" }));
    // The answer to a relayed request comes back from Amy's occupant JID.
    const answer = await iq(peerOf(ben), "get", `iqs@${MUC}/Amy`, xml("time", { xmlns: "urn:xmpp:time" }));
    assert.equal(answer.attrs.type, "result");
    assert.equal(answer.attrs.from, `iqs@${MUC}/Amy`);
    for (let i = 0; i < 2; i++) assert.equal((await iq(peerOf(ben), "get", `iqs@${MUC}/Amy`, xml("time", { xmlns: "urn:xmpp:time" }))).attrs.type, "result");
    // message_rate burst 3: the fourth request is refused by the room, and Amy never sees it.
    const fourth = timeReq();
    const refused = await sendAndWaitError(peerOf(ben), fourth);
    assert.equal(errorCondition(refused), "resource-constraint");
    assert.equal(refused.attrs.from, `iqs@${MUC}/Amy`);
    assert.equal(amy.received.filter((s) => s.attrs.id === fourth.attrs.id).length, 0);
    // A "result" nobody asked for is not relayed: the room is no way to push stanzas at an occupant.
    await ben.xmpp.send(xml("iq", { type: "result", to: `iqs@${MUC}/Amy`, id: "forged" }, xml("query", { xmlns: "jabber:iq:version" }, xml("name", {}, "spam"))));
    await assertNothing(peerOf(amy), (s) => s.attrs.id === "forged", 400, "no unsolicited result at Amy");
  });

  it("invitations: invite_rate per sender, room_invite_rate per room; declines only from invitees, only to their inviter", async () => {
    const [amy, ben, cat, dan, mal] = [await login("amy"), await login("ben"), await login("cat"), await login("dan"), await login("mal")];
    await createRoom(peerOf(amy), "inv", "Amy");
    for (const [c, n] of [[ben, "Ben"], [cat, "Cat"]] as const) assert.equal((await join(peerOf(c), "inv", n)).attrs.type, undefined);
    const invite = (to: string, id = nextId("inv")) => xml("message", { to: `inv@${MUC}`, id }, xml("x", { xmlns: NS_USER }, xml("invite", { to })));
    const invitedFromInv = (c: ConnectedClient) => (s: XmlElement) => s.is("message") && s.attrs.from === `inv@${MUC}` && s.getChild("x", NS_USER)?.getChild("invite") !== undefined;
    // Amy: three pass (her burst), the fourth is refused.
    for (const to of ["dan@localhost", "ghost1@localhost", "ghost2@localhost"]) await amy.xmpp.send(invite(to));
    await dan.waitFor(invitedFromInv(dan));
    const amyFourth = await sendAndWaitError(peerOf(amy), invite("ghost3@localhost"));
    assert.equal(errorCondition(amyFourth), "resource-constraint");
    assertLogged(state.ts, "invite_rate");
    // Ben has his own budget, but the room has one invitation left: Ben's passes, Cat's does not.
    await ben.xmpp.send(invite("mal@localhost"));
    await mal.waitFor(invitedFromInv(mal));
    const catsFirst = await sendAndWaitError(peerOf(cat), invite("ghost4@localhost"));
    assert.equal(errorCondition(catsFirst), "resource-constraint");
    assertLogged(state.ts, "room_invite_rate");

    const decline = (to: string, id = nextId("dec")) =>
      xml("message", { to: `inv@${MUC}`, id }, xml("x", { xmlns: NS_USER }, xml("decline", { to }, xml("reason", {}, "no"))));
    const declineAt = (s: XmlElement) => s.is("message") && s.getChild("x", NS_USER)?.getChild("decline") !== undefined;
    // Eve was never invited: her "decline" aimed at Cat is refused and Cat gets nothing (no relay for strangers).
    const eve = await login("eve");
    const stranger = await sendAndWaitError(peerOf(eve), decline(`${cat.jid}`));
    assert.equal(errorCondition(stranger), "not-acceptable");
    // max_pending_invites 2: Dan's invitation (the oldest of five) is forgotten, Mal's (the newest) is not.
    const forgotten = await sendAndWaitError(peerOf(dan), decline(amy.jid));
    assert.equal(errorCondition(forgotten), "not-acceptable");
    // Mal names Cat as the inviter, but the decline goes to Ben, who invited him.
    await mal.xmpp.send(decline(cat.jid));
    const toBen = await ben.waitFor(declineAt);
    assert.equal(toBen.getChild("x", NS_USER)?.getChild("decline")?.attrs.from, "mal@localhost");
    await assertNothing(peerOf(cat), declineAt, 300, "no decline reaches Cat");
    assert.equal(amy.received.filter(declineAt).length, 0, "no decline reaches Amy");
  });

  it("voice_request_interval: one voice request per interval reaches the moderators; the next gets resource-constraint", async () => {
    const [amy, ben] = [await login("amy"), await login("ben")];
    await createRoom(peerOf(amy), "stage", "Amy", { "muc#roomconfig_moderatedroom": "1" });
    const self = await join(peerOf(ben), "stage", "Ben");
    assert.equal(self.getChild("x", NS_USER)?.getChild("item")?.attrs.role, "visitor");
    const request = (id = nextId("voice")) =>
      xml(
        "message",
        { to: `stage@${MUC}`, id },
        xml(
          "x",
          { xmlns: NS_XDATA, type: "submit" },
          xml("field", { var: "FORM_TYPE" }, xml("value", {}, NS_REQUEST)),
          xml("field", { var: "muc#role", type: "list-single" }, xml("value", {}, "participant")),
        ),
      );
    const isRequest = (s: XmlElement) => s.is("message") && s.attrs.from === `stage@${MUC}` && s.getChild("x", NS_XDATA) !== undefined;
    await ben.xmpp.send(request());
    await amy.waitFor(isRequest);
    const again = await sendAndWaitError(peerOf(ben), request());
    assert.equal(errorCondition(again), "resource-constraint");
    assertLogged(state.ts, "voice_request_interval");
    await sleep(300);
    assert.equal(amy.received.filter(isRequest).length, 1, "one voice request reached the moderator");
  });
});

describe("muc hardening: sizes", { timeout: 60_000 }, () => {
  const { state, login } = serverFixture(
    [
      "    max_sessions_per_occupant: 2",
      "    max_affiliations: 3",
      "    max_nick_length: 8",
      "    max_room_name_length: 10",
      "    max_room_description_length: 12",
      "    max_password_length: 6",
      "    max_history_fetch: 3",
      "    max_disco_items: 2",
      "    max_stanza_size: 1000",
    ].join("\n"),
    ["amy", "ben"],
  );

  it("max_nick_length: 8 characters enter, 9 get not-acceptable (on joining and on renaming)", async () => {
    const amy = await login("amy");
    await createRoom(peerOf(amy), "nicks", "Amy");
    const ben = await login("ben");
    const long = await join(peerOf(ben), "nicks", "Ninechars");
    assert.equal(errorCondition(long), "not-acceptable");
    assertLogged(state.ts, "max_nick_length");
    // Eight characters, counted as characters (not bytes): "Zoë" letters are one each.
    assert.equal((await join(peerOf(ben), "nicks", "Zoëeight")).attrs.type, undefined);
    const rename = await join(peerOf(ben), "nicks", "Zoëeights");
    assert.equal(errorCondition(rename), "not-acceptable");
  });

  it("max_sessions_per_occupant: a user joins one nick from 2 resources, the 3rd gets resource-constraint", async () => {
    const owner = await login("amy");
    await createRoom(peerOf(owner), "multi", "Owner");
    const [r1, r2, r3] = [await login("ben", "r1"), await login("ben", "r2"), await login("ben", "r3")];
    assert.equal((await join(peerOf(r1), "multi", "Ben")).attrs.type, undefined);
    assert.equal((await join(peerOf(r2), "multi", "Ben")).attrs.type, undefined);
    const third = await join(peerOf(r3), "multi", "Ben");
    assert.equal(errorCondition(third), "resource-constraint");
    assertLogged(state.ts, "max_sessions_per_occupant");
  });

  it("max_affiliations: a room keeps 3 affiliations (its owner and 2 more); the 4th gets resource-constraint", async () => {
    const amy = await login("amy");
    await createRoom(peerOf(amy), "aff", "Amy");
    const set = (jid: string, affiliation: string) => iq(peerOf(amy), "set", `aff@${MUC}`, xml("query", { xmlns: NS_ADMIN }, xml("item", { jid, affiliation })));
    assert.equal((await set("m1@localhost", "member")).attrs.type, "result");
    assert.equal((await set("spam@elsewhere.example", "outcast")).attrs.type, "result");
    const fourth = await set("m2@localhost", "member");
    assert.equal(fourth.attrs.type, "error");
    assert.equal(errorCondition(fourth), "resource-constraint");
    assertLogged(state.ts, "max_affiliations");
    // Changing an existing entry is no growth.
    assert.equal((await set("m1@localhost", "admin")).attrs.type, "result");
  });

  it("room configuration: name, description and password longer than their limits get not-acceptable", async () => {
    const amy = await login("amy");
    await createRoom(peerOf(amy), "cfg", "Amy", {
      "muc#roomconfig_roomname": "0123456789",
      "muc#roomconfig_roomdesc": "0123456789ab",
      "muc#roomconfig_passwordprotectedroom": "1",
      "muc#roomconfig_roomsecret": "secret",
    });
    for (const [field, value] of [
      ["muc#roomconfig_roomname", "0123456789x"],
      ["muc#roomconfig_roomdesc", "0123456789abc"],
      ["muc#roomconfig_roomsecret", "secret7"],
    ] as const) {
      const res = await iq(peerOf(amy), "set", `cfg@${MUC}`, form({ [field]: value }));
      assert.equal(res.attrs.type, "error", `${field} of ${value.length}`);
      assert.equal(errorCondition(res), "not-acceptable");
    }
    assert.ok(state.ts.logs.some((l) => l.msg === "muc configuration refused"), "a log line for the refused form");
  });

  it("max_disco_items: the service lists 2 rooms per answer and pages the rest with RSM (XEP-0059)", async () => {
    const amy = await login("amy");
    for (const r of ["da", "db", "dc"]) await createRoom(peerOf(amy), r, "Amy");
    const NS_ITEMS = "http://jabber.org/protocol/disco#items";
    const NS_RSM = "http://jabber.org/protocol/rsm";
    const page = async (after?: string) => {
      const set = after === undefined ? [] : [xml("set", { xmlns: NS_RSM }, xml("after", {}, after))];
      const res = await iq(peerOf(amy), "get", MUC, xml("query", { xmlns: NS_ITEMS }, ...set));
      assert.equal(res.attrs.type, "result", res.toString());
      const q = res.getChild("query");
      return { jids: (q?.getChildren("item") ?? []).map((i) => i.attrs.jid as string), set: q?.getChild("set", NS_RSM) };
    };
    const first = await page();
    assert.equal(first.jids.length, 2, `one answer holds max_disco_items rooms: ${first.jids.join(", ")}`);
    const count = Number(first.set?.getChildText("count"));
    assert.ok(count >= 3, `the <set/> counts every public room: ${first.set?.toString()}`);
    const seen = [...first.jids];
    let last = first.set?.getChildText("last");
    while (last && seen.length < count) {
      const next = await page(last);
      assert.ok(next.jids.length <= 2);
      seen.push(...next.jids);
      last = next.set?.getChildText("last");
    }
    assert.equal(new Set(seen).size, count, "paging walks every room once");
    for (const r of ["da", "db", "dc"]) assert.ok(seen.includes(`${r}@${MUC}`));
  });

  it("max_stanza_size: a message or presence too large to copy to everyone gets policy-violation; leaving still works", async () => {
    const [amy, ben] = [await login("amy"), await login("ben")];
    await createRoom(peerOf(amy), "big", "Amy");
    assert.equal((await join(peerOf(ben), "big", "Ben")).attrs.type, undefined);
    const fromBenBig = (s: XmlElement) => s.attrs.from === `big@${MUC}/Ben`;
    await ben.xmpp.send(groupchat("big", "a".repeat(900), "big-ok"));
    await amy.waitFor((s) => s.attrs.id === "big-ok" && fromBenBig(s));
    const tooBig = await sendAndWaitError(peerOf(ben), groupchat("big", "a".repeat(1100), "big-no"));
    assert.equal(errorCondition(tooBig), "policy-violation");
    assertLogged(state.ts, "max_stanza_size");
    const presence = xml("presence", { to: `big@${MUC}/Ben`, id: nextId("bigp") }, xml("status", {}, "s".repeat(1100)));
    assert.equal(errorCondition(await sendAndWaitError(peerOf(ben), presence)), "policy-violation");
    await sleep(300);
    assert.equal(amy.received.filter((s) => fromBenBig(s) && (s.attrs.id === "big-no" || (s.getChildText("status")?.length ?? 0) > 1000)).length, 0);
    // An oversized goodbye still takes Ben out (without its status text).
    await ben.xmpp.send(xml("presence", { to: `big@${MUC}/Ben`, type: "unavailable" }, xml("status", {}, "s".repeat(1100))));
    const gone = await amy.waitFor((s) => s.is("presence") && fromBenBig(s) && s.attrs.type === "unavailable");
    assert.ok(!gone.getChild("status"), gone.toString());
  });

  it("max_history_fetch: a join gets at most 3 history messages whatever it asks; a room may not promise more", async () => {
    const amy = await login("amy");
    await createRoom(peerOf(amy), "hist", "Amy");
    for (let i = 1; i <= 5; i++) {
      await amy.xmpp.send(groupchat("hist", `h${i}`, `hist-${i}`));
      await amy.waitFor((s) => s.attrs.id === `hist-${i}` && s.attrs.type === "groupchat");
    }
    const ben = await login("ben");
    await join(peerOf(ben), "hist", "Ben", { history: { maxstanzas: "100" } });
    await ben.waitFor((s) => s.is("message") && s.attrs.from === `hist@${MUC}` && s.getChild("subject") !== undefined);
    const history = ben.received
      .filter((s) => s.is("message") && s.attrs.from?.startsWith(`hist@${MUC}/`) && s.getChild("delay", NS_DELAY) !== undefined)
      .map((s) => s.getChildText("body"));
    assert.deepEqual(history, ["h3", "h4", "h5"]);
    const more = await iq(peerOf(amy), "set", `hist@${MUC}`, form({ "muc#maxhistoryfetch": "4" }));
    assert.equal(errorCondition(more), "not-acceptable");
    assert.equal((await iq(peerOf(amy), "set", `hist@${MUC}`, form({ "muc#maxhistoryfetch": "3" }))).attrs.type, "result");
  });
});
