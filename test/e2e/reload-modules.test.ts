// Live reload (issue 14) of modules that keep state in memory: their option changes apply in place, the state
// stays. MUC occupants stay in their room and keep talking while a lower room limit, history fetch and message
// rate take effect; offline storage and push registrations follow their new limits with what they hold kept; a
// change MUC cannot make in place (its domain) waits for a restart and says so, while the rest applies.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { type ConnectedClient, connect, type XmlElement, xml } from "../helpers/xmpp-client.js";

const MUC = "conference.localhost";
const NS_MUC = "http://jabber.org/protocol/muc";
const NS_USER = "http://jabber.org/protocol/muc#user";
const NS_OWNER = "http://jabber.org/protocol/muc#owner";
const NS_DELAY = "urn:xmpp:delay";
const NS_PUSH = "urn:xmpp:push:0";
const NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas";
const BASE_MODULES = "modules:\n  muc: {}\n  offline-messages: {}\n  push: {}\n";

let seq = 0;
const nextId = (p: string) => `${p}${++seq}`;
const errorCondition = (s: XmlElement): string | undefined =>
  s.getChild("error")?.children.find((c): c is XmlElement => typeof c !== "string" && c.attrs.xmlns === NS_STANZAS)?.name;
const isSelfPresence = (s: XmlElement) =>
  (s.getChild("x", NS_USER)?.getChildren("status") ?? []).some((c: XmlElement) => c.attrs.code === "110");

describe("live reload of modules with live state", { timeout: 120_000 }, () => {
  let ts: TestServer;
  const clients: ConnectedClient[] = [];
  let alice: ConnectedClient;
  let bob: ConnectedClient;

  /** Rewrites the modules section of the config file and reloads. */
  async function reloadWith(modules: Record<string, string>): Promise<string[]> {
    const lines = Object.entries({ muc: "{}", "offline-messages": "{}", push: "{}", ...modules }).map(([k, v]) => `  ${k}: ${v}`);
    writeFileSync(ts.configPath, ts.configYaml.replace(BASE_MODULES, `modules:\n${lines.join("\n")}\n`));
    const result = await ts.server.reload();
    assert.ok(result.ok, JSON.stringify(result));
    return result.changes;
  }

  async function login(user: string, { registered = false } = {}): Promise<ConnectedClient> {
    if (!registered) await ts.addUser(user, `${user}-pw`);
    const c = await connect(ts, user, `${user}-pw`);
    clients.push(c);
    await c.xmpp.send(xml("presence"));
    return c;
  }

  /** Presence to room/nick; the self-presence or the error. */
  async function join(c: ConnectedClient, room: string, nick: string): Promise<XmlElement> {
    const id = nextId("join");
    await c.xmpp.send(xml("presence", { to: `${room}@${MUC}/${nick}`, id }, xml("x", { xmlns: NS_MUC })));
    return c.waitFor(
      (s) => s.is("presence") && ((s.attrs.type === "error" && s.attrs.id === id) || (s.attrs.from === `${room}@${MUC}/${nick}` && isSelfPresence(s))),
    );
  }

  /** `from` says `body` in the lobby; resolves once `to` got it, or with the error `from` got. */
  async function say(from: ConnectedClient, to: ConnectedClient, body: string): Promise<XmlElement> {
    const id = nextId("m");
    await from.xmpp.send(xml("message", { to: `lobby@${MUC}`, type: "groupchat", id }, xml("body", {}, body)));
    return Promise.race([
      to.waitFor((s) => s.is("message") && s.attrs.type === "groupchat" && s.getChildText("body") === body, 10_000),
      from.waitFor((s) => s.is("message") && s.attrs.id === id && s.attrs.type === "error", 10_000),
    ]);
  }

  before(async () => {
    ts = await startTestServer({ yaml: BASE_MODULES });
    alice = await login("alice");
    bob = await login("bob");
    // An instant room (XEP-0045 §10.1.2), unlocked by an empty submit, with Bob in it and some talk.
    await join(alice, "lobby", "Alice");
    await alice.xmpp.iqCaller.request(
      xml("iq", { type: "set", to: `lobby@${MUC}` }, xml("query", { xmlns: NS_OWNER }, xml("x", { xmlns: "jabber:x:data", type: "submit" }))),
    );
    await join(bob, "lobby", "Bob");
    for (const n of [1, 2, 3, 4]) assert.equal((await say(alice, bob, `before ${n}`)).attrs.type, "groupchat");
  });

  after(async () => {
    for (const c of clients) await c.stop();
    await ts?.stop();
  });

  it("MUC: a lower room limit and history fetch apply at once; the occupants stay in their room and keep talking", async () => {
    const changes = await reloadWith({ muc: "{ max_rooms: 1, max_history_fetch: 2 }" });
    assert.deepEqual(changes, ["modules.muc: options changed; applied in place, keeping rooms and their occupants"]);
    assert.deepEqual(ts.server.config.modules.muc, { max_rooms: 1, max_history_fetch: 2 });
    // Still there, both ways.
    assert.equal((await say(bob, alice, "after the reload")).attrs.type, "groupchat");
    assert.equal((await say(alice, bob, "me too")).attrs.type, "groupchat");
    // The service holds its one room: a second is refused.
    const refused = await join(alice, "annex", "Alice");
    assert.equal(refused.attrs.type, "error");
    assert.equal(errorCondition(refused), "resource-constraint");
    // A newcomer gets two history messages, not the room's twenty.
    const carol = await login("carol");
    await join(carol, "lobby", "Carol");
    await carol.waitFor((s) => s.is("message") && s.getChild("subject") !== undefined);
    const history = carol.received.filter((s) => s.is("message") && s.getChild("delay", NS_DELAY) && s.getChild("body"));
    assert.deepEqual(history.map((m) => m.getChildText("body")), ["after the reload", "me too"]);
  });

  it("MUC: a lower message rate rebuilds the occupants' limiters in place: the burst shrinks at once", async () => {
    // Bob's bucket was full at the default burst (10); a burst of 1 now lets one message through, not two.
    const changes = await reloadWith({ muc: "{ message_rate: { per_second: 0.01, burst: 1 } }" });
    assert.deepEqual(changes, ["modules.muc: options changed; applied in place, keeping rooms and their occupants"]);
    assert.equal((await say(bob, alice, "one")).attrs.type, "groupchat");
    const second = await say(bob, alice, "two");
    assert.equal(second.attrs.type, "error");
    assert.equal(errorCondition(second), "resource-constraint");
    // Back to the defaults: a higher burst grants nothing at once; the buckets refill at the new rate (2/s).
    await reloadWith({});
    await new Promise((resolve) => setTimeout(resolve, 1100));
    assert.equal((await say(alice, bob, "still here")).attrs.type, "groupchat");
  });

  it("MUC: a new domain waits for a restart and says so; the other option changes apply", async () => {
    const changes = await reloadWith({ muc: "{ domain: rooms.localhost, max_occupants: 50 }" });
    assert.deepEqual(changes, [
      "modules.muc: options changed; applied in place, keeping rooms and their occupants",
      "modules.muc.domain: changed but not applied: the module keeps rooms and their occupants in memory only, which reloading it would lose; restart to apply",
    ]);
    assert.deepEqual(ts.server.config.modules.muc, { max_occupants: 50 }, "the running config keeps the running domain");
    assert.equal((await say(bob, alice, "same address")).attrs.type, "groupchat");
    // Said again at the next reload: the domain still waits; the file back as it runs: nothing to do.
    assert.deepEqual(await reloadWith({ muc: "{ domain: rooms.localhost, max_occupants: 50 }" }), [changes[1]]);
    await reloadWith({});
  });

  it("offline messages: a lower max_per_user refuses the next message, what is stored stays", async () => {
    await ts.addUser("dave", "dave-pw");
    const send = async (body: string) => {
      const id = nextId("o");
      await alice.xmpp.send(xml("message", { to: "dave@localhost", type: "chat", id }, xml("body", {}, body)));
      return id;
    };
    await send("stored 1");
    await send("stored 2");
    const changes = await reloadWith({ "offline-messages": "{ max_per_user: 2 }" });
    assert.deepEqual(changes, [
      "modules.offline-messages: options changed; applied in place, keeping messages being delivered and sessions of negative priority",
    ]);
    const id = await send("one too many");
    const refused = await alice.waitFor((s) => s.is("message") && s.attrs.id === id && s.attrs.type === "error");
    assert.equal(errorCondition(refused), "service-unavailable");
    const dave = await login("dave", { registered: true });
    await dave.waitFor((s) => s.getChildText("body") === "stored 2");
    assert.deepEqual(
      dave.received.filter((s) => s.is("message") && s.getChild("body")).map((m) => m.getChildText("body")),
      ["stored 1", "stored 2"],
    );
    await reloadWith({});
  });

  it("push: a lower max_registrations refuses a new enable, the registration there stays", async () => {
    const enable = (node: string) =>
      alice.xmpp.iqCaller.request(xml("iq", { type: "set", to: "alice@localhost" }, xml("enable", { xmlns: NS_PUSH, jid: "push.localhost", node })));
    await enable("first");
    const changes = await reloadWith({ push: "{ max_registrations: 1 }" });
    assert.deepEqual(changes, ["modules.push: options changed; applied in place, keeping which session enabled which push registration"]);
    await assert.rejects(enable("second"), (err: { condition?: string }) => err.condition === "resource-constraint");
    // Enabling the one registered again is no new registration.
    await enable("first");
    await reloadWith({});
  });
});
