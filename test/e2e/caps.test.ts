// XEP-0115 entity capabilities as clients see them: the server's own caps in its stream features (§6.3, next to the SASL mechanisms)
// matching its disco#info (also under node#ver, §6.2); a client's caps are looked up with one disco#info
// query, cached once the hash checks out (a second login with the same ver is not asked again), and a
// wrong hash is neither cached nor trusted (§5.4): no +notify filtering is based on it.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { client } from "@xmpp/client";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { type ConnectedClient, connect, type XmlElement, xml } from "../helpers/xmpp-client.js";

const D = "localhost";
const NS_CAPS = "http://jabber.org/protocol/caps";
const NS_DISCO_INFO = "http://jabber.org/protocol/disco#info";
const NS_PUBSUB = "http://jabber.org/protocol/pubsub";
const NS_EVENT = "http://jabber.org/protocol/pubsub#event";
const NODE = "urn:example:caps-test";

/** XEP-0115 §5.1, written out independently of the server's code (identities without xml:lang here). */
function hashOf(query: XmlElement): string {
  const ids = query
    .getChildren("identity")
    .map((i) => `${i.attrs.category}/${i.attrs.type}/${i.attrs["xml:lang"] ?? ""}/${i.attrs.name ?? ""}`)
    .sort();
  const features = query
    .getChildren("feature")
    .map((f) => f.attrs.var as string)
    .sort();
  let s = ids.map((i) => `${i}<`).join("") + features.map((f) => `${f}<`).join("");
  const forms = query
    .getChildren("x", "jabber:x:data")
    .map((x) => {
      const fields = x.getChildren("field");
      const type = fields.find((f) => f.attrs.var === "FORM_TYPE")?.getChildText("value") ?? "";
      const rest = fields
        .filter((f) => f.attrs.var !== "FORM_TYPE")
        .sort((a, b) => (a.attrs.var as string).localeCompare(b.attrs.var as string))
        .map((f) => `${f.attrs.var}<${f.getChildren("value").map((v) => v.getText()).sort().map((v) => `${v}<`).join("")}`);
      return { type, text: `${type}<${rest.join("")}` };
    })
    .sort((a, b) => a.type.localeCompare(b.type));
  s += forms.map((f) => f.text).join("");
  return createHash("sha1").update(s, "utf8").digest("base64");
}

type IqCallee = { get(ns: string, name: string, handler: (ctx: { stanza: XmlElement; element: XmlElement }) => XmlElement): void };

interface CapsClient extends ConnectedClient {
  queries: number;
}

const FEATURES = [NS_DISCO_INFO, NS_CAPS, `${NODE}+notify`];
const answer = (node: string | undefined) =>
  xml("query", { xmlns: NS_DISCO_INFO, node }, xml("identity", { category: "client", type: "pc", name: "Caps test" }), ...FEATURES.map((f) => xml("feature", { var: f })));
const GOOD_VER = hashOf(answer(undefined));

async function online(ts: TestServer, user: string, resource: string, ver: string): Promise<CapsClient> {
  const c = (await connect(ts, user, `${user}-secret`, { resource })) as CapsClient;
  c.queries = 0;
  (c.xmpp as unknown as { iqCallee: IqCallee }).iqCallee.get(NS_DISCO_INFO, "query", (ctx) => {
    c.queries++;
    return answer(ctx.element.attrs.node);
  });
  await c.xmpp.send(xml("presence", {}, xml("c", { xmlns: NS_CAPS, hash: "sha-1", node: "https://example.org/caps-test", ver })));
  await c.waitFor((s) => s.is("presence") && s.attrs.from === c.jid && s.attrs.type === undefined);
  return c;
}

async function publish(c: ConnectedClient, id: string): Promise<void> {
  await c.xmpp.iqCaller.request(
    xml("iq", { type: "set" }, xml("pubsub", { xmlns: NS_PUBSUB }, xml("publish", { node: NODE }, xml("item", { id }, xml("x", { xmlns: NODE }, id))))),
  );
}

const isNotification = (id: string) => (s: XmlElement) => s.is("message") && s.getChild("event", NS_EVENT)?.getChild("items")?.getChild("item")?.attrs.id === id;
const until = async (pred: () => boolean, ms = 3000) => {
  const end = Date.now() + ms;
  while (!pred() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  return pred();
};

describe("entity capabilities (XEP-0115)", () => {
  let ts: TestServer;
  const clients: ConnectedClient[] = [];
  const track = <T extends ConnectedClient>(c: T) => {
    clients.push(c);
    return c;
  };

  before(async () => {
    ts = await startTestServer();
    for (const u of ["ann", "ben", "cid"]) await ts.addUser(u, `${u}-secret`);
  });

  after(async () => {
    for (const c of clients) await c.stop();
    await ts?.stop();
  });

  it("advertises the server's caps as a stream feature, matching its disco#info and node#ver (§6.3, §6.2)", async () => {
    const xmpp = client({ service: `xmpp://127.0.0.1:${ts.port}`, domain: D, username: "cid", password: "cid-secret" });
    xmpp.reconnect.stop();
    xmpp.on("error", () => {});
    const features: XmlElement[] = [];
    xmpp.on("nonza", (el: XmlElement) => {
      if (el.is("features", "http://etherx.jabber.org/streams")) features.push(el);
    });
    await xmpp.start();
    try {
      // Beside the SASL mechanisms (after STARTTLS), as in the §6.3 example.
      const c = features.find((f) => f.getChild("mechanisms", "urn:ietf:params:xml:ns:xmpp-sasl"))?.getChild("c", NS_CAPS);
      assert.ok(c, "caps in the stream features");
      assert.equal(c.attrs.hash, "sha-1");
      const info = (await xmpp.iqCaller.request(xml("iq", { type: "get", to: D }, xml("query", { xmlns: NS_DISCO_INFO })))).getChild("query")!;
      assert.equal(hashOf(info), c.attrs.ver);
      const byNode = (await xmpp.iqCaller.request(xml("iq", { type: "get", to: D }, xml("query", { xmlns: NS_DISCO_INFO, node: `${c.attrs.node}#${c.attrs.ver}` })))).getChild("query")!;
      assert.equal(byNode.attrs.node, `${c.attrs.node}#${c.attrs.ver}`);
      assert.equal(hashOf(byNode), c.attrs.ver);
    } finally {
      await xmpp.stop().catch(() => {});
    }
  });

  it("asks a client once for an unknown ver, and not again when another session brings the same verified ver", async () => {
    const a1 = track(await online(ts, "ann", "a1", GOOD_VER));
    assert.ok(await until(() => a1.queries === 1), "disco#info query for an unknown ver");
    const a2 = track(await online(ts, "ann", "a2", GOOD_VER));
    await publish(a1, "first");
    // a2's +notify is known without asking it: the notification arrives and a2 was never queried.
    await a2.waitFor(isNotification("first"));
    await a1.waitFor(isNotification("first"));
    assert.equal(a2.queries, 0);
    assert.equal(a1.queries, 1);
  });

  it("neither caches nor trusts a ver that is not the hash of the disco#info answer (§5.4)", async () => {
    const WRONG = "AAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    const control = track(await online(ts, "ben", "b0", GOOD_VER));
    const b1 = track(await online(ts, "ben", "b1", WRONG));
    assert.ok(await until(() => b1.queries === 1));
    await publish(control, "second");
    await control.waitFor(isNotification("second"));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(b1.received.filter(isNotification("second")).length, 0, "features behind a wrong hash are not used");
    // Not cached: the next session with that ver is asked again.
    const b2 = track(await online(ts, "ben", "b2", WRONG));
    assert.ok(await until(() => b2.queries === 1), "queried again");
  });
});
