// Anti-spam over federation, between two Natters on loopback (dialback): the per-remote-domain limit cuts a
// burst from the other server's users and lets it through again once refilled; a domain published on a block
// list (a XEP-0114 component acting as the pubsub service) has its stanzas refused without a restart.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type Component, component } from "@xmpp/component";
import { freePort, startTestServer, type TestServer } from "../helpers/test-server.js";
import { type ConnectedClient, connect, type XmlElement, xml } from "../helpers/xmpp-client.js";

const A = "athens.test";
const B = "sparta.test";
const RTBL = "rtbl.athens.test";
const NODE = "spam_source_domains";
const NS_PUBSUB = "http://jabber.org/protocol/pubsub";
const NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const condition = (s: XmlElement) =>
  s
    .getChild("error")
    ?.children.find((c): c is XmlElement => typeof c !== "string" && c.attrs.xmlns === NS_STANZAS && c.name !== "text")
    ?.name;
const chat = (to: string, id: string) => xml("message", { to, id, type: "chat" }, xml("body", {}, id));
const isMessage = (id: string, type?: string) => (s: XmlElement) =>
  s.is("message") && s.attrs.id === id && (type === undefined || s.attrs.type === type);

describe("anti-spam over s2s", () => {
  let a: TestServer;
  let b: TestServer;
  let pericles: ConnectedClient;
  let leonidas: ConnectedClient;
  let rtbl: Component | undefined;

  before(async () => {
    const [portA, portB] = [await freePort(), await freePort()];
    [a, b] = await Promise.all([
      startTestServer({
        domain: A,
        s2sPort: portA,
        s2s: ["secure: false", "resolve:", `  ${JSON.stringify(B)}: "127.0.0.1:${portB}"`],
        yaml: [
          "components:",
          `  - { domain: ${RTBL}, secret: rtbl-secret }`,
          "modules:",
          "  anti-spam:",
          "    s2s_domain_rate: { per_minute: 600, burst: 4 }",
          `    rtbl: [{ service: ${RTBL}, node: ${NODE} }]`,
          "    rtbl_retry: 0.3",
        ].join("\n"),
      }),
      startTestServer({
        domain: B,
        s2sPort: portB,
        s2s: ["secure: false", "resolve:", `  ${JSON.stringify(A)}: "127.0.0.1:${portA}"`],
      }),
    ]);
    await a.addUser("pericles", "pw");
    await b.addUser("leonidas", "pw");
    pericles = await connect(a, "pericles", "pw", { resource: "r" });
    leonidas = await connect(b, "leonidas", "pw", { resource: "r" });
    await pericles.xmpp.send(xml("presence"));
    await leonidas.xmpp.send(xml("presence"));
    // The link is up and the remote stranger's message arrives (strangers.remote: allow).
    await leonidas.xmpp.send(chat(`pericles@${A}`, "hello"));
    await pericles.waitFor(isMessage("hello"), 10_000);
  });

  after(async () => {
    await rtbl?.stop().catch(() => {});
    await pericles?.stop();
    await leonidas?.stop();
    await a?.stop();
    await b?.stop();
  });

  it("cuts a burst from one remote domain, then lets it through again", async () => {
    await sleep(1000); // a full bucket
    for (let i = 0; i < 10; i++) await leonidas.xmpp.send(chat(`pericles@${A}`, `f${i}`));
    const refused = await leonidas.waitFor(isMessage("f9", "error"), 10_000);
    assert.equal(condition(refused), "policy-violation");
    await sleep(300);
    const got = pericles.received.filter((s) => s.is("message") && String(s.attrs.id).startsWith("f")).length;
    assert.ok(got >= 4 && got < 10, `pericles got ${got} of 10`);
    assert.ok(a.logs.some((l) => l.msg === "s2s domain rate limit: stanzas dropped" && l.peer === B));
    await sleep(1000);
    await leonidas.xmpp.send(chat(`pericles@${A}`, "later"));
    await pericles.waitFor(isMessage("later"), 10_000);
  });

  it("refuses a domain published on a block list, without a restart", async () => {
    let items = 0;
    rtbl = component({ service: `xmpp://127.0.0.1:${a.componentPort}`, domain: RTBL, password: "rtbl-secret" });
    rtbl.reconnect.stop();
    rtbl.on("error", () => {});
    rtbl.on("stanza", (s: XmlElement) => {
      if (!s.is("iq") || s.attrs.type === "result" || s.attrs.type === "error") return;
      const pubsub = s.getChild("pubsub", NS_PUBSUB);
      const payload = pubsub?.getChild("items")
        ? [xml("pubsub", { xmlns: NS_PUBSUB }, xml("items", { node: NODE }, xml("item", { id: B })))]
        : [];
      if (pubsub?.getChild("items")) items++;
      void rtbl!.send(xml("iq", { type: "result", id: s.attrs.id, from: RTBL, to: s.attrs.from }, ...payload));
    });
    await rtbl.start();
    for (let i = 0; i < 100 && items === 0; i++) await sleep(50);
    assert.equal(items, 1, "the list was fetched once the service was there");
    await sleep(200);
    await leonidas.xmpp.send(chat(`pericles@${A}`, "listed"));
    const refused = await leonidas.waitFor(isMessage("listed", "error"), 10_000);
    assert.equal(condition(refused), "policy-violation");
    await sleep(200);
    assert.equal(pericles.received.filter(isMessage("listed")).length, 0);
    // Refused at the s2s link, before routing.
    assert.ok(a.logs.some((l) => l.msg === "s2s stanza from a domain on a block list refused" && l.peer === B));
  });
});
