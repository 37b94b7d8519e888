// RFC 6121 §4 presence as @xmpp/client users see it: broadcast to subscribers with show and status, the
// unavailable presence of a connection that dies, probes at login, the user's own resources, directed
// presence and its unavailable at the end, and silence for presence to an account that does not exist.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { onlineWithRoster, subscribeBoth } from "../helpers/roster.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { type ConnectedClient, type XmlElement, xml } from "../helpers/xmpp-client.js";

const D = "localhost";

const isPresence = (from: string, type?: string) => (s: XmlElement) =>
  s.is("presence") && s.attrs.from === from && s.attrs.type === type;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Kills the TCP connection abruptly (xmpp.js wraps the TLS socket in its own Socket). */
function dropConnection(c: ConnectedClient): void {
  const wrapper = c.xmpp.socket as unknown as { socket?: { destroy(): void }; destroy?: () => void } | undefined;
  if (wrapper?.socket) wrapper.socket.destroy();
  else wrapper?.destroy?.();
}

describe("presence (RFC 6121 §4)", () => {
  let ts: TestServer;
  const clients: ConnectedClient[] = [];

  async function login(
    user: string,
    resource: string,
    presence: XmlElement | undefined = xml("presence"),
  ): Promise<ConnectedClient> {
    const c = await onlineWithRoster(ts, user, resource, presence);
    clients.push(c);
    return c;
  }

  before(async () => {
    // @xmpp/client enables XEP-0198 resumption: a dropped connection shows as unavailable once the
    // session's resumption time runs out, kept short here.
    ts = await startTestServer({ c2s: ["stream_management: { resume_timeout: 1 }"] });
    for (const u of ["alice", "bob", "carol", "dave"]) await ts.addUser(u, `${u}-secret`);
  });

  after(async () => {
    for (const c of clients) await c.stop();
    await ts?.stop();
  });

  it("broadcasts presence with show and status to subscribers, and unavailable when the connection dies", async () => {
    const alice = await login("alice", "a1");
    const bob = await login("bob", "b1");
    await subscribeBoth(alice, bob);
    await bob.xmpp.send(
      xml("presence", {}, xml("show", {}, "away"), xml("status", {}, "at lunch"), xml("priority", {}, "5")),
    );
    const p = await alice.waitFor((s) => isPresence(`bob@${D}/b1`)(s) && s.getChildText("show") === "away");
    assert.equal(p.getChildText("status"), "at lunch");
    assert.equal(p.attrs.to, `alice@${D}`);

    // §4.5.2: the stream ends without unavailable presence: the server sends it on the user's behalf.
    dropConnection(bob);
    await alice.waitFor(isPresence(`bob@${D}/b1`, "unavailable"));
  });

  it("probes at login: a new resource sees contacts already online and the user's other resources (§4.2.2)", async () => {
    const bob = await login("bob", "b2", xml("presence", {}, xml("status", {}, "back")));
    const alice2 = await login("alice", "a2");
    const seen = await alice2.waitFor((s) => isPresence(`bob@${D}/b2`)(s));
    assert.equal(seen.getChildText("status"), "back");
    await alice2.waitFor(isPresence(`alice@${D}/a1`)); // the other resource
    const alice1 = clients[0] as ConnectedClient;
    await alice1.waitFor(isPresence(`alice@${D}/a2`)); // and the other way round
    // Only the new resource gets the probe answers, not every resource again.
    await sleep(150);
    assert.equal(alice1.received.filter(isPresence(`bob@${D}/b2`)).length, 1);
    // A clean unavailable goes to subscribers and the user's other resources (§4.5.2).
    await bob.xmpp.send(xml("presence", { type: "unavailable" }, xml("status", {}, "gone")));
    const u = await alice2.waitFor(isPresence(`bob@${D}/b2`, "unavailable"));
    assert.equal(u.getChildText("status"), "gone");
  });

  it("a contact without a subscription gets no broadcast; directed presence reaches it, then unavailable when the sender disconnects (§4.6)", async () => {
    const carol = await login("carol", "c1");
    const dave = await login("dave", "d1");
    await sleep(100);
    assert.equal(carol.received.filter(isPresence(`dave@${D}/d1`)).length, 0, "no subscription, no broadcast");
    await dave.xmpp.send(xml("presence", { to: `carol@${D}` }, xml("status", {}, "psst")));
    const got = await carol.waitFor(isPresence(`dave@${D}/d1`));
    assert.equal(got.getChildText("status"), "psst");
    dropConnection(dave);
    await carol.waitFor(isPresence(`dave@${D}/d1`, "unavailable"));
  });

  it("never answers a probe from a user without a subscription with presence (§4.3.2)", async () => {
    const carol = clients.find((c) => c.jid === `carol@${D}/c1`)!;
    // alice (a1, a2) is online; carol has no subscription to her. The "unsubscribed" answer goes to carol's
    // server, which finds nothing to change in her roster (RFC 6121 A.3.4) and so delivers nothing.
    await carol.xmpp.send(xml("presence", { to: `alice@${D}`, type: "probe" }));
    await sleep(300);
    assert.equal(carol.received.filter((s) => s.is("presence") && s.attrs.from?.startsWith(`alice@${D}`)).length, 0);
  });

  it("presence to an account that does not exist gets nothing back (RFC 6121 §8.5.1)", async () => {
    const carol = clients.find((c) => c.jid === `carol@${D}/c1`)!;
    const before = carol.received.length;
    await carol.xmpp.send(xml("presence", { to: `nobody@${D}` }));
    await carol.xmpp.send(xml("presence", { to: `nobody@${D}`, type: "subscribe" }));
    await carol.xmpp.send(xml("presence", { to: `nobody@${D}`, type: "probe" }));
    await sleep(300);
    assert.deepEqual(
      carol.received.slice(before).filter((s) => s.attrs.from?.startsWith("nobody")),
      [],
    );
  });
});
