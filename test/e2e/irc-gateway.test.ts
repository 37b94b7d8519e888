// The IRC gateway as users on both sides see it: a real ngircd on a free port, a raw IRC client, and an XMPP user
// (@xmpp/client) in #test%127.0.0.1@irc.localhost: occupants with roles from channel modes, talk both ways,
// /me, topic as subject, nick change (303), voice (+v), private messages both ways, a part, a kick (307), the IRC
// server restarted (the gateway reconnects and rejoins), servers off the allow-list refused, and a hostile server.
import assert from "node:assert/strict";
import { createServer, type Server, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { iq } from "../helpers/adhoc.js";
import { ircClient, type Ngircd, type RawIrcClient, startNgircd } from "../helpers/ngircd.js";
import { freePort, startTestServer, type TestServer } from "../helpers/test-server.js";
import { type ConnectedClient, connect, type XmlElement, xml } from "../helpers/xmpp-client.js";

const NS_MUC = "http://jabber.org/protocol/muc";
const NS_MUC_USER = "http://jabber.org/protocol/muc#user";
const NS_DISCO_INFO = "http://jabber.org/protocol/disco#info";
const GW = "irc.localhost";
const ROOM = `#test%127.0.0.1@${GW}`;

/** Waits for a stanza received after `mark` (an index into c.received). */
const after_ = (c: ConnectedClient, mark: number, pred: (s: XmlElement) => boolean, ms = 15_000) =>
  c
    .waitFor((s) => c.received.indexOf(s) >= mark && pred(s), ms)
    .catch((err: Error) => {
      throw new Error(`${err.message}; received since: ${c.received.slice(mark).map(String).join("\n")}`);
    });

const statuses = (p: XmlElement) =>
  (p.getChild("x", NS_MUC_USER)?.getChildren("status") ?? []).map((s) => Number(s.attrs.code));
const itemOf = (p: XmlElement) => p.getChild("x", NS_MUC_USER)?.getChild("item")?.attrs ?? {};
const isPresence = (from: string, type?: string) => (s: XmlElement) =>
  s.is("presence") && s.attrs.from === from && s.attrs.type === type;

describe("irc-gateway against ngircd", { timeout: 180_000 }, () => {
  let irc: Ngircd;
  let ts: TestServer;
  let alice: ConnectedClient;
  let bob: RawIrcClient;
  let hostile: Server;
  let hostilePort: number;
  const hostileSockets: Socket[] = [];
  const hostileHeard = new Map<Socket, string>();

  before(async () => {
    irc = await startNgircd();
    hostilePort = await freePort();
    // A server that answers registration and a JOIN, then sends garbage (see the last test).
    hostile = createServer((socket) => {
      hostileSockets.push(socket);
      socket.on("error", () => {});
      socket.on("data", (d) => {
        const text = d.toString("latin1");
        hostileHeard.set(socket, (hostileHeard.get(socket) ?? "") + text);
        if (text.includes("USER ")) socket.write(":evil 001 alice :Welcome\r\n");
        if (text.includes("JOIN #x")) {
          socket.write(":alice!a@h JOIN #x\r\n:evil 353 alice = #x :alice @eve\r\n:evil 366 alice #x :End\r\n");
        }
      });
    });
    await new Promise<void>((r) => hostile.listen(hostilePort, "127.0.0.1", r));
    bob = await ircClient(irc.port, "bob");
    bob.send("JOIN #test");
    await bob.waitFor((l) => l.command === "366");
    ts = await startTestServer({
      yaml: [
        "modules:",
        "  irc-gateway:",
        "    servers:",
        `      - { host: "127.0.0.1", port: ${irc.port}, tls: false }`,
        `      - { host: "localhost", port: ${hostilePort}, tls: false }`,
        "    reconnect_min_seconds: 0.2",
        "    reconnect_max_seconds: 1",
        "    max_channels_per_user: 3",
        "    ping_interval_seconds: 1",
        "    join_timeout_seconds: 2",
      ].join("\n"),
    });
    await ts.addUser("alice", "pw");
    alice = await connect(ts, "alice", "pw", { resource: "laptop" });
    await alice.xmpp.send(xml("presence")); // available: private chats go to available resources (RFC 6121 §8.5.2)
  });

  after(async () => {
    await alice?.stop();
    bob?.close();
    for (const s of hostileSockets) s.destroy();
    hostile?.close();
    await ts?.stop();
    await irc?.stop();
  });

  it("disco#info: the gateway is a conference service and an IRC gateway", async () => {
    const r = await iq(alice, "get", xml("query", NS_DISCO_INFO), GW);
    assert.equal(r.attrs.type, "result", r.toString());
    const q = r.getChild("query", NS_DISCO_INFO) as XmlElement;
    const ids = q.getChildren("identity").map((i) => `${i.attrs.category}/${i.attrs.type}`);
    assert.ok(ids.includes("conference/irc") && ids.includes("gateway/irc"), ids.join());
    assert.ok(q.getChildren("feature").some((f) => f.attrs.var === NS_MUC));
    const room = await iq(alice, "get", xml("query", NS_DISCO_INFO), ROOM);
    assert.equal(room.attrs.type, "result", room.toString());
    assert.ok(
      (room.getChild("query", NS_DISCO_INFO) as XmlElement).getChildren("feature").some((f) => f.attrs.var === NS_MUC),
    );
  });

  it("joins a channel: the IRC user is an occupant (op = moderator), self-presence 110, subject", async () => {
    const mark = alice.received.length;
    await alice.xmpp.send(xml("presence", { to: `${ROOM}/alice` }, xml("x", { xmlns: NS_MUC })));
    const bobP = await after_(alice, mark, isPresence(`${ROOM}/bob`));
    assert.deepEqual([itemOf(bobP).role, itemOf(bobP).affiliation], ["moderator", "admin"]);
    const self = await after_(alice, mark, isPresence(`${ROOM}/alice`));
    assert.ok(statuses(self).includes(110), self.toString());
    assert.ok(alice.received.indexOf(bobP) < alice.received.indexOf(self), "others' presence comes first (§7.2.3)");
    await after_(alice, mark, (s) => s.is("message") && s.attrs.from === ROOM && s.getChild("subject") !== undefined);
    await bob.waitFor((l) => l.command === "JOIN" && l.prefix.startsWith("alice!"));
  });

  it("a second resource shares the connection: joining as another nick gets the IRC nick with status 210", async () => {
    const phone = await connect(ts, "alice", "pw", { resource: "phone" });
    try {
      await phone.xmpp.send(xml("presence", { to: `${ROOM}/ally` }, xml("x", { xmlns: NS_MUC })));
      const self = await phone.waitFor((s) => isPresence(`${ROOM}/alice`)(s) && statuses(s).includes(110), 15_000);
      assert.ok(statuses(self).includes(210), self.toString());
      await phone.waitFor(isPresence(`${ROOM}/bob`));
      await new Promise((r) => setTimeout(r, 300));
      assert.ok(
        !bob.lines.some((l) => l.command === "JOIN" && l.prefix.startsWith("ally")),
        "no second IRC connection",
      );
    } finally {
      await phone.stop();
    }
  });

  it("talks both ways: groupchat to PRIVMSG (reflected), PRIVMSG to groupchat with formatting stripped, ACTION as /me", async () => {
    let mark = alice.received.length;
    await alice.xmpp.send(xml("message", { to: ROOM, type: "groupchat" }, xml("body", {}, "hello irc")));
    const got = await bob.waitFor((l) => l.command === "PRIVMSG" && l.params[0] === "#test");
    assert.equal(got.params[1], "hello irc");
    assert.ok(got.prefix.startsWith("alice!"));
    await after_(
      alice,
      mark,
      (s) => s.is("message") && s.attrs.from === `${ROOM}/alice` && s.getChildText("body") === "hello irc",
    );
    mark = alice.received.length;
    bob.send("PRIVMSG #test :hi \x02xmpp\x02 \x0304,01friend\x03");
    const m = await after_(alice, mark, (s) => s.is("message") && s.attrs.from === `${ROOM}/bob`);
    assert.equal(m.attrs.type, "groupchat");
    assert.equal(m.getChildText("body"), "hi xmpp friend");
    bob.send("PRIVMSG #test :\x01ACTION waves\x01");
    bob.send("PRIVMSG #test :\x01VERSION\x01");
    bob.send("PRIVMSG #test :after ctcp");
    await after_(alice, mark, (s) => s.is("message") && s.getChildText("body") === "after ctcp");
    const bodies = alice.received
      .slice(mark)
      .filter((s) => s.is("message"))
      .map((s) => s.getChildText("body"));
    assert.deepEqual(bodies, ["hi xmpp friend", "/me waves", "after ctcp"], "CTCP VERSION is not passed on");
    await alice.xmpp.send(xml("message", { to: ROOM, type: "groupchat" }, xml("body", {}, "/me nods")));
    const action = await bob.waitFor((l) => l.command === "PRIVMSG" && l.params[1]?.includes("nods") === true);
    assert.equal(action.params[1], "\x01ACTION nods\x01");
  });

  it("a topic change is the room subject; a subject change from XMPP is the topic", async () => {
    const mark = alice.received.length;
    bob.send("TOPIC #test :all about tests");
    const s = await after_(alice, mark, (x) => x.is("message") && x.getChild("subject") !== undefined);
    assert.equal(s.attrs.from, `${ROOM}/bob`);
    assert.equal(s.getChildText("subject"), "all about tests");
    await alice.xmpp.send(xml("message", { to: ROOM, type: "groupchat" }, xml("subject", {}, "from xmpp")));
    const topic = await bob.waitFor((l) => l.command === "TOPIC" && l.prefix.startsWith("alice!"));
    assert.equal(topic.params[1], "from xmpp");
  });

  it("voice (+v) makes the XMPP user a member; a nick change is 303 then the new nick", async () => {
    let mark = alice.received.length;
    bob.send("MODE #test +v alice");
    const voiced = await after_(alice, mark, isPresence(`${ROOM}/alice`));
    assert.deepEqual([itemOf(voiced).role, itemOf(voiced).affiliation], ["participant", "member"]);
    assert.ok(statuses(voiced).includes(110));
    mark = alice.received.length;
    bob.send("NICK robert");
    const gone = await after_(alice, mark, isPresence(`${ROOM}/bob`, "unavailable"));
    assert.ok(statuses(gone).includes(303), gone.toString());
    assert.equal(itemOf(gone).nick, "robert");
    const back = await after_(alice, mark, isPresence(`${ROOM}/robert`));
    assert.equal(itemOf(back).role, "moderator");
    bob.nick = "robert";
  });

  it("private messages both ways through nick%server addresses (biboumi's; nick!server accepted too)", async () => {
    const mark = alice.received.length;
    bob.send("PRIVMSG alice :psst");
    const pm = await after_(alice, mark, (s) => s.is("message") && s.attrs.type === "chat");
    assert.equal(pm.attrs.from, `robert%127.0.0.1@${GW}`);
    assert.equal(pm.getChildText("body"), "psst");
    await alice.xmpp.send(xml("message", { to: pm.attrs.from, type: "chat" }, xml("body", {}, "reply")));
    const got = await bob.waitFor((l) => l.command === "PRIVMSG" && l.params[0] === "robert");
    assert.equal(got.params[1], "reply");
    await alice.xmpp.send(xml("message", { to: `robert!127.0.0.1@${GW}`, type: "chat" }, xml("body", {}, "old style")));
    assert.equal(
      (await bob.waitFor((l) => l.command === "PRIVMSG" && l.params[0] === "robert")).params[1],
      "old style",
    );
  });

  it("an IRC user's join, part and quit are presence and unavailable presence", async () => {
    let mark = alice.received.length;
    bob.send("PART #test :bye");
    await after_(alice, mark, isPresence(`${ROOM}/robert`, "unavailable"));
    mark = alice.received.length;
    const dave = await ircClient(irc.port, "dave");
    dave.send("JOIN #test");
    const joined = await after_(alice, mark, isPresence(`${ROOM}/dave`));
    assert.deepEqual([itemOf(joined).role, itemOf(joined).affiliation], ["participant", "none"]);
    dave.send("QUIT :gone");
    await after_(alice, mark, isPresence(`${ROOM}/dave`, "unavailable"));
    dave.close();
  });

  it("the IRC server restarts: the gateway reconnects, rejoins, and the user can talk again; a kick is 307", async () => {
    bob.close();
    await irc.restart();
    const carol = await ircClient(irc.port, "carol");
    try {
      // The gateway comes back by itself (backoff 0.2–1 s) and joins #test again (before or after carol).
      carol.send("JOIN #test");
      const names = await carol.waitFor((l) => l.command === "353");
      if (!/(^| )[~&@%+]*alice( |$)/.test(names.params.at(-1) ?? ""))
        await carol.waitFor((l) => l.command === "JOIN" && l.prefix.startsWith("alice!"), 30_000);
      let mark = alice.received.length;
      carol.send("PRIVMSG #test :welcome back");
      await after_(
        alice,
        mark,
        (s) => s.is("message") && s.attrs.from === `${ROOM}/carol` && s.getChildText("body") === "welcome back",
      );
      await alice.xmpp.send(xml("message", { to: ROOM, type: "groupchat" }, xml("body", {}, "still here")));
      assert.equal((await carol.waitFor((l) => l.command === "PRIVMSG")).params[1], "still here");
      carol.send("OPER admin secret");
      await carol.waitFor((l) => l.command === "381");
      carol.send("MODE #test +o carol");
      await carol.waitFor((l) => l.command === "MODE");
      mark = alice.received.length;
      carol.send("KICK #test alice :out");
      const kicked = await after_(alice, mark, isPresence(`${ROOM}/alice`, "unavailable"));
      assert.ok(statuses(kicked).includes(307) && statuses(kicked).includes(110), kicked.toString());
      // Join again and leave: the channel is parted on IRC.
      mark = alice.received.length;
      await alice.xmpp.send(xml("presence", { to: `${ROOM}/alice` }, xml("x", { xmlns: NS_MUC })));
      await after_(alice, mark, (s) => isPresence(`${ROOM}/alice`)(s) && statuses(s).includes(110));
      mark = alice.received.length;
      await alice.xmpp.send(xml("presence", { to: `${ROOM}/alice`, type: "unavailable" }));
      const left = await after_(alice, mark, isPresence(`${ROOM}/alice`, "unavailable"));
      assert.ok(statuses(left).includes(110));
      await carol.waitFor((l) => l.command === "PART" && l.prefix.startsWith("alice!"));
    } finally {
      carol.close();
    }
  });

  it("servers not on the allow-list are refused", async () => {
    const mark = alice.received.length;
    const room = `#test%irc.evil.example@${GW}`;
    await alice.xmpp.send(xml("presence", { to: `${room}/alice` }, xml("x", { xmlns: NS_MUC })));
    const err = await after_(alice, mark, (s) => s.is("presence") && s.attrs.type === "error");
    assert.equal(err.attrs.from, `${room}/alice`);
    assert.ok(err.getChild("error")?.getChild("not-allowed"), err.toString());
    await alice.xmpp.send(
      xml("message", { to: `x%irc.evil.example@${GW}`, type: "chat", id: "pm1" }, xml("body", {}, "hi")),
    );
    const bounced = await after_(alice, mark, (s) => s.is("message") && s.attrs.type === "error");
    assert.ok(bounced.getChild("error")?.getChild("item-not-found"), bounced.toString());
    const info = await iq(alice, "get", xml("query", NS_DISCO_INFO), room);
    assert.equal(info.attrs.type, "error");
    assert.ok(info.getChild("error")?.getChild("item-not-found"), info.toString());
  });

  it("a hostile IRC server: over-long lines, invalid UTF-8, NUL and control bytes do not hurt", async () => {
    const room = `#x%localhost@${GW}`;
    let mark = alice.received.length;
    await alice.xmpp.send(xml("presence", { to: `${room}/alice` }, xml("x", { xmlns: NS_MUC })));
    await after_(alice, mark, (s) => isPresence(`${room}/alice`)(s) && statuses(s).includes(110));
    const socket = hostileSockets.at(-1) as Socket;
    mark = alice.received.length;
    socket.write(`:eve!e@h PRIVMSG #x :${"A".repeat(20_000)}\r\n`);
    socket.write(
      Buffer.concat([
        Buffer.from(":eve!e@h PRIVMSG #x :bad "),
        Buffer.from([0xff, 0xfe, 0x00, 0x07, 0x1b]),
        Buffer.from(" bytes\r\n"),
      ]),
    );
    socket.write("garbage without a command\r\n:\r\n@tags\r\n:eve!e@h MODE #x +o\r\n:eve!e@h KICK\r\n");
    // Nicks no JID resource can hold: dropped with their line.
    socket.write(":ev\x01il!e@h PRIVMSG #x :hidden\r\n:eve!e@h NICK :a/b\r\n:ev il!e@h JOIN #x\r\n");
    socket.write(":eve!e@h PRIVMSG #x :still fine\r\n");
    await after_(alice, mark, (s) => s.is("message") && s.getChildText("body") === "still fine");
    const bodies = alice.received
      .slice(mark)
      .filter((s) => s.is("message"))
      .map((s) => s.getChildText("body"));
    assert.deepEqual(
      bodies,
      ["bad \ufffd\ufffd bytes", "still fine"],
      "the over-long line is dropped, bad bytes replaced",
    );
    // The server is still up for the user.
    const r = await iq(alice, "get", xml("query", NS_DISCO_INFO), GW);
    assert.equal(r.attrs.type, "result");
  });

  it("a server gone silent is PINGed, then dropped and reconnected, and the channel joined again", async () => {
    const first = hostileSockets.at(-1) as Socket;
    const count = hostileSockets.length;
    const until = async (cond: () => boolean, what: string) => {
      for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 50));
      assert.ok(cond(), what);
    };
    await until(() => /^PING /m.test(hostileHeard.get(first) ?? ""), "a PING after a quiet second");
    await until(() => first.destroyed || first.readableEnded, "dropped after two quiet seconds");
    await until(
      () => hostileSockets.length > count && /JOIN #x/.test(hostileHeard.get(hostileSockets.at(-1) as Socket) ?? ""),
      "reconnected and joined #x again",
    );
  });

  it("a join the server never answers ends in remote-server-timeout", async () => {
    const room = `#silent%localhost@${GW}`;
    const mark = alice.received.length;
    await alice.xmpp.send(xml("presence", { to: `${room}/alice` }, xml("x", { xmlns: NS_MUC })));
    const err = await after_(alice, mark, (s) => s.is("presence") && s.attrs.type === "error");
    assert.equal(err.attrs.from?.startsWith(room), true, err.toString());
    assert.ok(err.getChild("error")?.getChild("remote-server-timeout"), err.toString());
  });

  it("per-user channel limit: one channel more than max_channels_per_user is resource-constraint", async () => {
    // alice is in #x (the hostile server); two more fit, the third does not.
    for (const ch of ["#l1", "#l2"]) {
      const mark = alice.received.length;
      await alice.xmpp.send(xml("presence", { to: `${ch}%127.0.0.1@${GW}/alice` }, xml("x", { xmlns: NS_MUC })));
      await after_(alice, mark, (s) => isPresence(`${ch}%127.0.0.1@${GW}/alice`)(s) && statuses(s).includes(110));
    }
    const mark = alice.received.length;
    await alice.xmpp.send(xml("presence", { to: `#l3%127.0.0.1@${GW}/alice` }, xml("x", { xmlns: NS_MUC })));
    const err = await after_(alice, mark, (s) => s.is("presence") && s.attrs.type === "error");
    assert.ok(err.getChild("error")?.getChild("resource-constraint"), err.toString());
  });

  it("the user's last resource goes offline: the gateway leaves IRC (QUIT)", async () => {
    const erin = await ircClient(irc.port, "erin");
    try {
      erin.send("JOIN #l1");
      await erin.waitFor((l) => l.command === "366");
      await alice.stop();
      const gone = await erin.waitFor(
        (l) => (l.command === "QUIT" || l.command === "PART") && l.prefix.startsWith("alice!"),
      );
      assert.ok(gone);
    } finally {
      erin.close();
    }
  });
});
