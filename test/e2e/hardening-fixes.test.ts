// Issue 11 "Safe on the open Internet", assorted holes: each block is a regression test over real sockets
// against a real server, for something that was wrong before (see the commit that added it).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  NS_CARBONS,
  NS_DISCO_INFO,
  NS_HTTP_UPLOAD,
  NS_PING,
  NS_PRIVATE,
  NS_ROSTER,
  NS_TIME,
  NS_VCARD,
  NS_VERSION,
} from "../../src/core/xml/ns.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { type ConnectedClient, connect, type XmlElement, xml } from "../helpers/xmpp-client.js";

const NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas";

/** The condition of an iq error reply, or "result". */
function outcome(reply: XmlElement): string {
  if (reply.attrs.type === "result") return "result";
  const error = reply.getChild("error");
  return error?.children.find((c) => typeof c !== "string" && c.attrs.xmlns === NS_STANZAS)?.toString().match(/^<([\w-]+)/)?.[1] ?? "?";
}

/** Sends an iq and resolves with whatever comes back for its id (result or error), without xmpp.js's matching by `from`. */
async function iq(c: ConnectedClient, attrs: Record<string, string>, payload: XmlElement): Promise<XmlElement> {
  const id = `iq-${Math.random().toString(36).slice(2)}`;
  const reply = c.waitFor((s) => s.name === "iq" && s.attrs.id === id && (s.attrs.type === "result" || s.attrs.type === "error"));
  await c.xmpp.send(xml("iq", { ...attrs, id }, payload));
  return reply;
}

describe("iq without `to` (RFC 6120 §10.3.3): handled for the account, else by the server", () => {
  let ts: TestServer;
  let alice: ConnectedClient;
  before(async () => {
    ts = await startTestServer();
    await ts.addUser("alice", "alice-pw");
    alice = await connect(ts, "alice", "alice-pw");
  });
  after(async () => {
    await alice.stop();
    await ts.stop();
  });

  test("a ping without `to` is answered with a result carrying no `from` (clients ping the server this way)", async () => {
    const reply = await iq(alice, { type: "get" }, xml("ping", { xmlns: NS_PING }));
    assert.equal(outcome(reply), "result");
    assert.equal(reply.attrs.from, undefined);
  });

  test("version and time without `to` are the server's", async () => {
    const version = await iq(alice, { type: "get" }, xml("query", { xmlns: NS_VERSION }));
    assert.equal(outcome(version), "result");
    assert.equal(version.getChild("query", NS_VERSION)?.getChildText("name"), "Natter");
    const time = await iq(alice, { type: "get" }, xml("time", { xmlns: NS_TIME }));
    assert.equal(outcome(time), "result");
    assert.ok(time.getChild("time", NS_TIME)?.getChildText("utc"));
  });

  test("account namespaces without `to` stay the account's: disco info names the account, roster, vCard, private, carbons", async () => {
    const disco = await iq(alice, { type: "get" }, xml("query", { xmlns: NS_DISCO_INFO }));
    assert.equal(outcome(disco), "result");
    const identity = disco.getChild("query", NS_DISCO_INFO)?.getChild("identity");
    assert.deepEqual([identity?.attrs.category, identity?.attrs.type], ["account", "registered"]);
    assert.equal(outcome(await iq(alice, { type: "get" }, xml("query", { xmlns: NS_ROSTER }))), "result");
    assert.equal(outcome(await iq(alice, { type: "get" }, xml("vCard", { xmlns: NS_VCARD }))), "result");
    const priv = await iq(alice, { type: "get" }, xml("query", { xmlns: NS_PRIVATE }, xml("prefs", { xmlns: "x:test" })));
    assert.equal(outcome(priv), "result");
    assert.equal(outcome(await iq(alice, { type: "set" }, xml("enable", { xmlns: NS_CARBONS }))), "result");
  });

  test("what neither the account nor the server handles is service-unavailable: an upload slot belongs to upload.<host>", async () => {
    const slot = xml("request", { xmlns: NS_HTTP_UPLOAD, filename: "a.txt", size: "3", "content-type": "text/plain" });
    assert.equal(outcome(await iq(alice, { type: "get" }, slot)), "service-unavailable");
    assert.equal(outcome(await iq(alice, { type: "get" }, xml("query", { xmlns: "urn:example:unknown" }))), "service-unavailable");
  });

  test("a ping to another user's bare JID is not answered by the server-side fallback", async () => {
    await ts.addUser("bob", "bob-pw");
    assert.equal(outcome(await iq(alice, { type: "get", to: `bob@${ts.domain}` }, xml("ping", { xmlns: NS_PING }))), "service-unavailable");
  });
});
