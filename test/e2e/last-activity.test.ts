// XEP-0012 Last Activity as clients see it: the server's uptime (§5), 0 for a user with an available resource,
// the seconds since logout and the last unavailable status for a contact allowed to see presence (§3),
// forbidden for anyone else, service-unavailable for no such user, and the record surviving a restart.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { type ConnectedClient, connect, type XmlElement, xml } from "../helpers/xmpp-client.js";

const NS_LAST = "jabber:iq:last";
const NS_ROSTER = "jabber:iq:roster";
const D = "localhost";

const last = (c: ConnectedClient, to: string): Promise<XmlElement> =>
  c.xmpp.iqCaller.request(xml("iq", { type: "get", to }, xml("query", { xmlns: NS_LAST })));

const conditionOf = (err: unknown) => (err as { condition?: string }).condition;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function online(ts: TestServer, user: string): Promise<ConnectedClient> {
  const c = await connect(ts, user, `${user}-secret`, { resource: "r" });
  await c.xmpp.iqCaller.request(xml("iq", { type: "get" }, xml("query", { xmlns: NS_ROSTER })));
  await c.xmpp.send(xml("presence"));
  await c.waitFor((s) => s.is("presence") && s.attrs.from === c.jid);
  return c;
}

describe("last activity (XEP-0012)", () => {
  let ts: TestServer;
  const clients: ConnectedClient[] = [];

  before(async () => {
    ts = await startTestServer();
    for (const u of ["alice", "bob", "carol"]) await ts.addUser(u, `${u}-secret`);
  });

  after(async () => {
    for (const c of clients) await c.stop();
    await ts?.stop();
  });

  it("answers the server's uptime and advertises jabber:iq:last (§5, §6)", async () => {
    const c = await connect(ts, "carol", "carol-secret");
    clients.push(c);
    await sleep(Math.max(0, ts.server.core.startedAt + 1100 - Date.now()));
    const q = (await last(c, D)).getChild("query", NS_LAST)!;
    assert.ok(Number(q.attrs.seconds) >= 1, q.toString());
    assert.equal(q.getText(), "", "no character data (§5)");
    const info = await c.xmpp.iqCaller.request(
      xml("iq", { type: "get", to: D }, xml("query", "http://jabber.org/protocol/disco#info")),
    );
    const vars = info.getChild("query")!.getChildren("feature").map((f: XmlElement) => f.attrs.var);
    assert.ok(vars.includes(NS_LAST));
  });

  it("gives 0 for an available user, then the time since logout and the last status; others get forbidden (§3)", async () => {
    const alice = await online(ts, "alice");
    const bob = await online(ts, "bob");
    const carol = await connect(ts, "carol", "carol-secret", { resource: "c2" });
    clients.push(bob, carol);
    // bob subscribes to alice's presence: alice's roster has bob with "from".
    await bob.xmpp.send(xml("presence", { type: "subscribe", to: `alice@${D}` }));
    await alice.waitFor((s) => s.is("presence") && s.attrs.type === "subscribe");
    await alice.xmpp.send(xml("presence", { type: "subscribed", to: `bob@${D}` }));
    await bob.waitFor((s) => s.is("presence") && s.attrs.from === alice.jid && s.attrs.type === undefined);

    const now = (await last(bob, `alice@${D}`)).getChild("query", NS_LAST)!;
    assert.equal(now.attrs.seconds, "0");
    assert.equal(now.getText(), "");
    await assert.rejects(last(carol, `alice@${D}`), (e) => conditionOf(e) === "forbidden");

    await alice.xmpp.send(xml("presence", { type: "unavailable" }, xml("status", {}, "Heading Home")));
    await bob.waitFor((s) => s.is("presence") && s.attrs.from === alice.jid && s.attrs.type === "unavailable");
    await alice.stop();
    await sleep(1100);
    const gone = (await last(bob, `alice@${D}`)).getChild("query", NS_LAST)!;
    assert.ok(Number(gone.attrs.seconds) >= 1 && Number(gone.attrs.seconds) < 30, gone.toString());
    assert.equal(gone.getText(), "Heading Home");
    // No subscription: forbidden, whether the user is online or not (§3, §8).
    await assert.rejects(last(carol, `alice@${D}`), (e) => conditionOf(e) === "forbidden");
    // No such user: service-unavailable (RFC 6121 §8.5.1), like any iq to a missing account.
    await assert.rejects(last(bob, `nobody@${D}`), (e) => conditionOf(e) === "service-unavailable");
    // The user may always ask about itself.
    const self = (await last(bob, `bob@${D}`)).getChild("query", NS_LAST)!;
    assert.equal(self.attrs.seconds, "0");
  });

  it("keeps the last logout across a restart", async () => {
    for (const c of clients.splice(0)) await c.stop();
    await ts.restart();
    const bob = await connect(ts, "bob", "bob-secret");
    clients.push(bob);
    const q = (await last(bob, `alice@${D}`)).getChild("query", NS_LAST)!;
    assert.ok(Number(q.attrs.seconds) >= 1, q.toString());
    assert.equal(q.getText(), "Heading Home");
  });
});
