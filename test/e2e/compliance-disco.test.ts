// The server's service discovery lists exactly what Natter declares (docs/compliance.md): an @xmpp/client user
// reads disco#info of the server, of its own account and of every service domain in the server's disco#items,
// and each feature must belong to a spec an enabled module (or the core) declares, while every feature of an
// enabled declaration (src/compliance/disco-features.ts) must be there. Run with the default modules and with
// the optional ones on, so that a module whose advertisement drifts from its declaration fails here.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { collectDeclarations } from "../../src/compliance/compliance-report.js";
import { type DiscoEntity, expectedDiscoFeatures } from "../../src/compliance/disco-features.js";
import { parseConfig } from "../../src/core/config/index.js";
import { planModules } from "../../src/modules/module-plan.js";
import { startTestServer, type TestServer } from "../helpers/test-server.js";
import { type ConnectedClient, connect, xml } from "../helpers/xmpp-client.js";

const DISCO_INFO = "http://jabber.org/protocol/disco#info";
const DISCO_ITEMS = "http://jabber.org/protocol/disco#items";

async function features(c: ConnectedClient, to: string): Promise<string[]> {
  const res = await c.xmpp.iqCaller.request(xml("iq", { type: "get", to }, xml("query", DISCO_INFO)));
  return res
    .getChild("query", DISCO_INFO)!
    .getChildren("feature")
    .map((f) => f.attrs.var as string);
}

function check(ts: TestServer, entity: DiscoEntity, advertised: string[], what: string): void {
  const config = parseConfig(ts.configYaml, "natter.yaml", ts.dataDir);
  const enabledModules = new Set(planModules(config).map((m) => m.name));
  const { allowed, required } = expectedDiscoFeatures(collectDeclarations(config), entity, undefined, enabledModules);
  const undeclared = advertised.filter((f) => !allowed.has(f));
  assert.deepEqual(undeclared, [], `${what} advertises features no enabled declaration accounts for`);
  if (entity === "service") return; // a service answers for one module: the others' features are not its own
  const missing = [...required].filter((f) => !advertised.includes(f));
  assert.deepEqual(missing, [], `${what} lacks features its enabled declarations promise`);
}

for (const variant of ["default modules", "optional modules on"] as const) {
  describe(`disco lists exactly what is declared (${variant})`, { timeout: 60_000 }, () => {
    let ts: TestServer;
    let alice: ConnectedClient;

    before(async () => {
      ts = await startTestServer(
        variant === "default modules"
          ? {}
          : {
              yaml: [
                "modules:",
                "  invites: {}",
                "  user-directory: { hosts: [localhost] }",
                '  bytestream-proxy: { port: 0, bind: ["127.0.0.1"], public_host: "127.0.0.1" }',
                "  external-services: { services: [{ type: stun, host: stun.example.net }] }",
                "  carbons: false",
                "  pubsub: {}",
              ].join("\n"),
            },
      );
      await ts.addUser("alice", "alice-secret");
      alice = await connect(ts, "alice", "alice-secret");
    });
    after(async () => {
      await alice?.stop();
      await ts?.stop();
    });

    it("the server's own disco#info", async () => {
      const advertised = await features(alice, "localhost");
      check(ts, "host", advertised, "localhost");
      assert.ok(advertised.includes("urn:xmpp:ping"));
      if (variant === "optional modules on") {
        assert.ok(advertised.includes("urn:xmpp:extdisco:2"), "XEP-0215 advertised once services are configured");
        assert.ok(!advertised.includes("urn:xmpp:carbons:2"), "a module turned off takes its feature with it");
      }
    });

    it("the account's disco#info", async () => {
      const advertised = await features(alice, "alice@localhost");
      check(ts, "account", advertised, "alice@localhost");
      assert.ok(advertised.includes("jabber:iq:roster"));
    });

    it("every service domain's disco#info", async () => {
      const res = await alice.xmpp.iqCaller.request(
        xml("iq", { type: "get", to: "localhost" }, xml("query", DISCO_ITEMS)),
      );
      const services = res
        .getChild("query", DISCO_ITEMS)!
        .getChildren("item")
        .map((i) => i.attrs.jid as string);
      assert.ok(services.includes("conference.localhost") && services.includes("upload.localhost"), services.join());
      if (variant === "optional modules on") {
        assert.ok(services.length >= 5, services.join());
        assert.ok(services.includes("pubsub.localhost"), "the pubsub module's service is listed once on");
      }
      for (const service of services) check(ts, "service", await features(alice, service), service);
    });
  });
}
