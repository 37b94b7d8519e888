import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { createMemoryDriver } from "../storage/memory/index.js";
import { InternalAccountProvider } from "./internal-account-provider.js";
import { buildMechanisms } from "./mechanisms.js";
import { ScramTestClient } from "./scram-test-client.js";
import type { ChannelBindingType, SaslContext, SaslMechanism, SaslStep } from "./types.js";

const provider = new InternalAccountProvider(createMemoryDriver(), { iterations: 64 });
before(() => provider.createUser("example.com", "juliet", "r0m30myr0m30"));

const EXPORTER = Buffer.from("exporter");

function context(channelBindings: ChannelBindingType[]): SaslContext {
  return {
    host: "example.com",
    secure: true,
    remoteAddress: "192.0.2.1",
    channelBindings,
    channelBinding: (type) => (channelBindings.includes(type) ? EXPORTER : undefined),
  };
}

function named(mechanisms: SaslMechanism[], name: string): SaslMechanism {
  const found = mechanisms.find((m) => m.name === name);
  assert.ok(found, name);
  return found;
}

async function scramLogin(mechanism: SaslMechanism, ctx: SaslContext, gs2Header: string, hash: "SHA-1" | "SHA-256") {
  const client = new ScramTestClient(hash, {
    username: "juliet",
    password: "r0m30myr0m30",
    clientNonce: "xyz",
    gs2Header,
    cbData: gs2Header.startsWith("p=") ? EXPORTER : undefined,
  });
  const exchange = mechanism.start(ctx);
  const first: SaslStep = await exchange.step(client.clientFirst());
  if (first.kind !== "challenge") return first;
  return exchange.step(await client.clientFinal(first.data));
}

describe("buildMechanisms", () => {
  it("builds every mechanism, strongest first", () => {
    assert.deepEqual(
      buildMechanisms(provider).map((m) => m.name),
      ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"],
    );
  });

  it("keeps preference order whatever order the enabled list uses", () => {
    assert.deepEqual(
      buildMechanisms(provider, ["PLAIN", "scram-sha-1", "SCRAM-SHA-256-PLUS"]).map((m) => m.name),
      ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-1", "PLAIN"],
    );
  });

  it("names an unknown mechanism instead of ignoring it", () => {
    assert.throws(() => buildMechanisms(provider, ["SCRAM-SHA-512"]), /SCRAM-SHA-512/);
    assert.throws(() => buildMechanisms(provider, ["DIGEST-MD5"]), /DIGEST-MD5/);
  });

  it("logs in through the internal provider with each SCRAM mechanism", async () => {
    const mechanisms = buildMechanisms(provider);
    const ctx = context(["tls-exporter"]);
    for (const [name, gs2, hash] of [
      ["SCRAM-SHA-256-PLUS", "p=tls-exporter,,", "SHA-256"],
      ["SCRAM-SHA-1-PLUS", "p=tls-exporter,,", "SHA-1"],
      ["SCRAM-SHA-256", "n,,", "SHA-256"],
      ["SCRAM-SHA-1", "n,,", "SHA-1"],
    ] as const) {
      const step = await scramLogin(named(mechanisms, name), ctx, gs2, hash);
      assert.equal(step.kind, "success", name);
    }
  });

  it("treats 'y' as a downgrade only when a -PLUS mechanism is offered on the connection", async () => {
    const ctx = context(["tls-exporter"]);
    const withPlus = named(buildMechanisms(provider), "SCRAM-SHA-256");
    assert.deepEqual(await scramLogin(withPlus, ctx, "y,,", "SHA-256"), {
      kind: "failure",
      condition: "not-authorized",
      text: "server-does-support-channel-binding",
    });
    // Same connection, but the operator disabled -PLUS: the client was right that none was offered.
    const withoutPlus = named(buildMechanisms(provider, ["SCRAM-SHA-256"]), "SCRAM-SHA-256");
    assert.equal((await scramLogin(withoutPlus, ctx, "y,,", "SHA-256")).kind, "success");
    // -PLUS enabled but this connection cannot bind (no TLS data): not offered, so 'y' is honest.
    assert.equal((await scramLogin(withPlus, context([]), "y,,", "SHA-256")).kind, "success");
  });
});
