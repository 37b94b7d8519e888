// The features XEP-0479 asks of a server beyond single modules, as a client sees them: XEP-0157 contact
// addresses in the server's disco#info (configured, and absent when not), and XEP-0156 discovery leading a
// WebSocket client (@xmpp/client) given only the domain's host-meta to a working RFC 7395 session.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { client } from "@xmpp/client";
import { rawHttp } from "../helpers/raw-http.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { type ConnectedClient, connect, xml } from "../helpers/xmpp-client.js";

const DISCO_INFO = "http://jabber.org/protocol/disco#info";
const SERVERINFO = "http://jabber.org/network/serverinfo";

async function serverInfoForms(c: ConnectedClient, to: string) {
  const res = await c.xmpp.iqCaller.request(xml("iq", { type: "get", to }, xml("query", DISCO_INFO)));
  return res
    .getChild("query", DISCO_INFO)!
    .getChildren("x", "jabber:x:data")
    .filter((x) =>
      x.getChildren("field").some((f) => f.attrs.var === "FORM_TYPE" && f.getChildText("value") === SERVERINFO),
    );
}

describe("XEP-0157 contact addresses", { timeout: 60_000 }, () => {
  let ts: TestServer;
  let alice: ConnectedClient;

  before(async () => {
    ts = await startTestServer({
      hosts: ["other.test"],
      yaml: [
        "modules:",
        "  contact-addresses:",
        '    abuse: ["mailto:abuse@localhost", "xmpp:abuse@localhost"]',
        '    support: ["https://localhost/support"]',
      ].join("\n"),
    });
    await ts.addUser("alice", "alice-secret");
    alice = await connect(ts, "alice", "alice-secret");
  });
  after(async () => {
    await alice?.stop();
    await ts?.stop();
  });

  it("lists the configured addresses in one serverinfo form of the server's disco#info", async () => {
    const forms = await serverInfoForms(alice, "localhost");
    assert.equal(forms.length, 1);
    const form = forms[0]!;
    assert.equal(form.attrs.type, "result");
    const fields = Object.fromEntries(
      form
        .getChildren("field")
        .filter((f) => f.attrs.var !== "FORM_TYPE")
        .map((f) => [f.attrs.var, f.getChildren("value").map((v) => v.getText())]),
    );
    assert.deepEqual(fields, {
      "abuse-addresses": ["mailto:abuse@localhost", "xmpp:abuse@localhost"],
      "support-addresses": ["https://localhost/support"],
    });
  });

  it("does not put the form on an account's disco#info", async () => {
    assert.equal((await serverInfoForms(alice, "alice@localhost")).length, 0);
  });

  it("refuses a config with an address that is not a URI, naming the key", async () => {
    const { parseConfig } = await import("../../src/core/config/index.js");
    const { planModules } = await import("../../src/modules/module-plan.js");
    const bad = parseConfig(
      'modules:\n  contact-addresses:\n    abuse: ["abuse at localhost"]\n',
      "natter.yaml",
      ts.dataDir,
    );
    assert.throws(() => planModules(bad), /natter\.yaml:3.*mailto:, xmpp:, http: or https: URI/s);
  });
});

describe("XEP-0479 defaults: no contact addresses configured", { timeout: 60_000 }, () => {
  let ts: TestServer;
  let alice: ConnectedClient;
  before(async () => {
    ts = await startTestServer({});
    await ts.addUser("alice", "alice-secret");
    alice = await connect(ts, "alice", "alice-secret");
  });
  after(async () => {
    await alice?.stop();
    await ts?.stop();
  });

  it("adds no serverinfo form", async () => {
    assert.equal((await serverInfoForms(alice, "localhost")).length, 0);
  });

  it("XEP-0156: a WebSocket client finds the endpoint in host-meta.json and logs in over it", async () => {
    // Over HTTPS, as a browser page would ask (and c2s requires encryption: the link is wss://).
    const res = await rawHttp({ port: ts.httpsPort as number, path: "/.well-known/host-meta.json", secure: true });
    assert.equal(res.status, 200);
    const doc = JSON.parse(res.body) as { links: { rel: string; href: string }[] };
    const href = doc.links.find((l) => l.rel === "urn:xmpp:alt-connections:websocket")?.href;
    assert.ok(href?.startsWith("wss://localhost:"), `a wss:// link: ${href}`);
    const g = globalThis as { WebSocket?: unknown };
    if (g.WebSocket === undefined) g.WebSocket = (await import("ws")).WebSocket;
    // The advertised URL names the host (localhost); connect to exactly that.
    const xmpp = client({
      service: href,
      domain: "localhost",
      username: "alice",
      password: "alice-secret",
      resource: "web",
    });
    xmpp.reconnect.stop();
    (xmpp as unknown as { timeout: number }).timeout = 10_000;
    xmpp.on("error", () => {});
    try {
      const jid = await xmpp.start();
      // Bind 2 (the client logs in with SASL2): the server picks the resource from the client's tag.
      assert.match(jid.toString(), /^alice@localhost\/web\.[A-Za-z0-9_-]{8}$/);
      const pong = await xmpp.iqCaller.request(
        xml("iq", { type: "get", to: "localhost" }, xml("ping", "urn:xmpp:ping")),
      );
      assert.equal(pong.attrs.type, "result");
    } finally {
      await xmpp.stop().catch(() => {});
    }
  });
});
