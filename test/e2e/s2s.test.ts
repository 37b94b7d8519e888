// Federation between two Natters on loopback (RFC 6120 s2s, XEP-0220 dialback, XEP-0178 SASL EXTERNAL):
// messages both ways, subscriptions to "both" with presence, a MUC join across servers, the policies
// (s2s.secure refusing self-signed certificates, blocked domains) and misbehaving peers.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createTestCa, issueCertificate } from "../helpers/test-ca.js";
import { type TestServer, freePort, startTestServer } from "../helpers/test-server.js";
import { type ConnectedClient, connect, xml } from "../helpers/xmpp-client.js";

interface Pair {
  a: TestServer;
  b: TestServer;
}

/** Two servers that find each other through s2s.resolve (no DNS). `extra` lines go into both s2s sections. */
async function startPair(domains: [string, string], extra: [string[], string[]] = [[], []], yaml: [string, string] = ["", ""]): Promise<Pair> {
  const [portA, portB] = [await freePort(), await freePort()];
  const resolveTo = (domain: string, port: number) => [
    "resolve:",
    `  ${JSON.stringify(domain)}: "127.0.0.1:${port}"`,
    `  ${JSON.stringify(`conference.${domain}`)}: "127.0.0.1:${port}"`,
  ];
  const [a, b] = await Promise.all([
    startTestServer({ domain: domains[0], s2sPort: portA, s2s: [...resolveTo(domains[1], portB), ...extra[0]], yaml: yaml[0] }),
    startTestServer({ domain: domains[1], s2sPort: portB, s2s: [...resolveTo(domains[0], portA), ...extra[1]], yaml: yaml[1] }),
  ]);
  return { a, b };
}

const isChat = (body: string) => (s: { name: string; getChildText(n: string): string | null }) =>
  s.name === "message" && s.getChildText("body") === body;

describe("s2s between two Natters with dialback (self-signed certificates, s2s.secure off)", () => {
  let pair: Pair;
  let juliet: ConnectedClient;
  let romeo: ConnectedClient;

  before(async () => {
    pair = await startPair(["capulet.test", "montague.test"], [["secure: false"], ["secure: false"]]);
    await pair.a.addUser("juliet", "pw-juliet");
    await pair.b.addUser("romeo", "pw-romeo");
    juliet = await connect(pair.a, "juliet", "pw-juliet", { resource: "balcony" });
    romeo = await connect(pair.b, "romeo", "pw-romeo", { resource: "garden" });
    await juliet.xmpp.send(xml("presence"));
    await romeo.xmpp.send(xml("presence"));
  });

  after(async () => {
    await juliet?.stop();
    await romeo?.stop();
    await pair?.a.stop();
    await pair?.b.stop();
  });

  it("delivers messages both ways, in order, over one connection per direction", async () => {
    for (let i = 0; i < 5; i++) await juliet.xmpp.send(xml("message", { to: "romeo@montague.test", type: "chat" }, xml("body", {}, `hi ${i}`)));
    const last = await romeo.waitFor(isChat("hi 4"), 10_000);
    assert.equal(last.attrs.from, "juliet@capulet.test/balcony");
    const bodies = romeo.received.filter((s) => s.name === "message").map((s) => s.getChildText("body"));
    assert.deepEqual(bodies, ["hi 0", "hi 1", "hi 2", "hi 3", "hi 4"]);
    await romeo.xmpp.send(xml("message", { to: "juliet@capulet.test/balcony", type: "chat" }, xml("body", {}, "hello back")));
    const back = await juliet.waitFor(isChat("hello back"), 10_000);
    assert.equal(back.attrs.from, "romeo@montague.test/garden");
    const out = pair.a.server.s2s!.connections().outbound;
    assert.deepEqual(out.map((o) => `${o.local}>${o.remote}:${o.ready}`), ["capulet.test>montague.test:true"]);
    assert.ok(pair.a.logs.some((l) => l.msg === "s2s outbound stream authenticated" && String(l.how).startsWith("dialback")));
  });

  it("subscribes both ways to 'both' and exchanges presence", async () => {
    const rosterOf = async (c: ConnectedClient, contact: string) => {
      const res = await c.xmpp.iqCaller.get(xml("query", { xmlns: "jabber:iq:roster" }));
      return res.getChildren("item").find((i: { attrs: Record<string, string> }) => i.attrs.jid === contact)?.attrs;
    };
    await juliet.xmpp.send(xml("presence", { to: "romeo@montague.test", type: "subscribe" }));
    await romeo.waitFor((s) => s.name === "presence" && s.attrs.type === "subscribe" && s.attrs.from === "juliet@capulet.test", 10_000);
    await romeo.xmpp.send(xml("presence", { to: "juliet@capulet.test", type: "subscribed" }));
    // Juliet gets Romeo's current presence once he approves (RFC 6121 §3.1.5).
    await juliet.waitFor((s) => s.name === "presence" && s.attrs.type === undefined && s.attrs.from === "romeo@montague.test/garden", 10_000);
    await romeo.xmpp.send(xml("presence", { to: "juliet@capulet.test", type: "subscribe" }));
    await juliet.waitFor((s) => s.name === "presence" && s.attrs.type === "subscribe" && s.attrs.from === "romeo@montague.test", 10_000);
    await juliet.xmpp.send(xml("presence", { to: "romeo@montague.test", type: "subscribed" }));
    await romeo.waitFor((s) => s.name === "presence" && s.attrs.type === undefined && s.attrs.from === "juliet@capulet.test/balcony", 10_000);
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      if ((await rosterOf(juliet, "romeo@montague.test"))?.subscription === "both" && (await rosterOf(romeo, "juliet@capulet.test"))?.subscription === "both") break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal((await rosterOf(juliet, "romeo@montague.test"))?.subscription, "both");
    assert.equal((await rosterOf(romeo, "juliet@capulet.test"))?.subscription, "both");
    // Presence broadcast reaches the remote contact; a new resource's probe gets answered across servers.
    await romeo.xmpp.send(xml("presence", {}, xml("show", {}, "away")));
    await juliet.waitFor((s) => s.name === "presence" && s.attrs.from === "romeo@montague.test/garden" && s.getChildText("show") === "away", 10_000);
    const juliet2 = await connect(pair.a, "juliet", "pw-juliet", { resource: "ball" });
    await juliet2.xmpp.send(xml("presence"));
    await juliet2.waitFor((s) => s.name === "presence" && s.attrs.from === "romeo@montague.test/garden", 10_000);
    await juliet2.stop();
  });

  it("stores messages from a remote sender offline and delivers them at login", async () => {
    await pair.a.addUser("nurse", "pw-nurse");
    await romeo.xmpp.send(xml("message", { to: "nurse@capulet.test", type: "chat" }, xml("body", {}, "for the nurse")));
    await new Promise((r) => setTimeout(r, 500));
    const nurse = await connect(pair.a, "nurse", "pw-nurse");
    await nurse.xmpp.send(xml("presence"));
    const m = await nurse.waitFor(isChat("for the nurse"), 10_000);
    assert.equal(m.attrs.from, "romeo@montague.test/garden");
    await nurse.stop();
  });

  it("lets a remote user join a room and talk in it", async () => {
    const room = "ball@conference.capulet.test";
    await juliet.xmpp.send(xml("presence", { to: `${room}/Juliet` }, xml("x", { xmlns: "http://jabber.org/protocol/muc" })));
    await juliet.waitFor((s) => s.name === "presence" && s.attrs.from === `${room}/Juliet`, 10_000);
    // Unlock the instant room (XEP-0045 §10.1.2).
    await juliet.xmpp.iqCaller.set(
      xml("query", { xmlns: "http://jabber.org/protocol/muc#owner" }, xml("x", { xmlns: "jabber:x:data", type: "submit" })),
      room,
    );
    await romeo.xmpp.send(xml("presence", { to: `${room}/Romeo` }, xml("x", { xmlns: "http://jabber.org/protocol/muc" })));
    const self = await romeo.waitFor(
      (s) => s.name === "presence" && s.attrs.from === `${room}/Romeo` && s.getChild("x", "http://jabber.org/protocol/muc#user")?.getChildren("status").some((st: { attrs: { code: string } }) => st.attrs.code === "110") === true,
      10_000,
    );
    assert.ok(self);
    await juliet.waitFor((s) => s.name === "presence" && s.attrs.from === `${room}/Romeo`, 10_000);
    await romeo.xmpp.send(xml("message", { to: room, type: "groupchat" }, xml("body", {}, "good night")));
    const echoed = await juliet.waitFor((s) => s.name === "message" && s.attrs.from === `${room}/Romeo`, 10_000);
    assert.equal(echoed.getChildText("body"), "good night");
    await romeo.waitFor((s) => s.name === "message" && s.attrs.from === `${room}/Romeo` && s.attrs.type === "groupchat", 10_000);
  });

  it("lets a local user join a room on the other server", async () => {
    const room = "vigil@conference.montague.test";
    await juliet.xmpp.send(xml("presence", { to: `${room}/Juliet` }, xml("x", { xmlns: "http://jabber.org/protocol/muc" })));
    const self = await juliet.waitFor((s) => s.name === "presence" && s.attrs.from === `${room}/Juliet`, 10_000);
    assert.ok(self.getChild("x", "http://jabber.org/protocol/muc#user"));
  });
});
