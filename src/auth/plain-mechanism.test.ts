import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { createMemoryDriver } from "../storage/memory/index.js";
import { InternalAccountProvider } from "./internal-account-provider.js";
import { plainMechanism } from "./plain-mechanism.js";
import type { AccountProvider, SaslContext, SaslStep } from "./types.js";

const provider = new InternalAccountProvider(createMemoryDriver(), { iterations: 64 });
before(() => provider.createUser("example.com", "juliet", "r0m30myr0m30"));

function context(secure = true): SaslContext {
  return {
    host: "example.com",
    secure,
    remoteAddress: "192.0.2.1",
    channelBindings: [],
    channelBinding: () => undefined,
  };
}

function plain(message: string | Buffer, p: AccountProvider = provider, ctx = context()): Promise<SaslStep> {
  return plainMechanism(p).start(ctx).step(Buffer.from(message));
}

describe("plainMechanism (RFC 4616)", () => {
  it("is offered only on TLS-protected streams", () => {
    assert.equal(plainMechanism(provider).available(context(true)), true);
    assert.equal(plainMechanism(provider).available(context(false)), false);
  });

  it("authenticates with the right password, returning the canonical username", async () => {
    assert.deepEqual(await plain("\0juliet\0r0m30myr0m30"), { kind: "success", username: "juliet" });
    assert.deepEqual(await plain("\0Juliet\0r0m30myr0m30"), { kind: "success", username: "juliet" });
  });

  it("accepts the user's own JID as authzid and refuses any other", async () => {
    assert.equal((await plain("juliet@example.com\0juliet\0r0m30myr0m30")).kind, "success");
    assert.deepEqual(await plain("romeo@example.com\0juliet\0r0m30myr0m30"), {
      kind: "failure",
      condition: "invalid-authzid",
    });
  });

  it("answers a wrong password and an unknown user identically", async () => {
    const wrong = await plain("\0juliet\0wrong");
    assert.deepEqual(wrong, { kind: "failure", condition: "not-authorized" });
    assert.deepEqual(await plain("\0nobody\0wrong"), wrong);
    assert.deepEqual(await plain("\0jul iet\0wrong"), wrong, "username the profile refuses");
  });

  it("sends an empty challenge without an initial response, then takes the message", async () => {
    const exchange = plainMechanism(provider).start(context());
    assert.deepEqual(await exchange.step(undefined), { kind: "challenge", data: Buffer.alloc(0) });
    assert.deepEqual(await exchange.step(Buffer.from("\0juliet\0r0m30myr0m30")), { kind: "success", username: "juliet" });
  });

  for (const [label, message] of [
    ["no separators", "julietr0m30myr0m30"],
    ["one separator", "juliet\0r0m30myr0m30"],
    ["too many separators", "\0juliet\0r0m30\0myr0m30"],
    ["empty authcid", "\0\0r0m30myr0m30"],
    ["empty password", "\0juliet\0"],
    ["empty message", ""],
    ["invalid UTF-8", Buffer.from([0, 0x6a, 0, 0xc3, 0x28])],
  ] as const) {
    it(`fails ${label} with malformed-request`, async () => {
      const step = await plain(message);
      assert.equal(step.kind === "failure" && step.condition, "malformed-request");
    });
  }

  it("refuses to run on an unencrypted stream even if started", async () => {
    assert.deepEqual(await plain("\0juliet\0r0m30myr0m30", provider, context(false)), {
      kind: "failure",
      condition: "encryption-required",
    });
  });

  it("answers temporary-auth-failure when the provider fails", async () => {
    const broken: AccountProvider = Object.create(provider);
    broken.verifyPassword = () => Promise.reject(new Error("ldap down"));
    assert.deepEqual(await plain("\0juliet\0pw", broken), { kind: "failure", condition: "temporary-auth-failure" });
  });
});
