import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PrecisError } from "../core/precis.js";
import { createMemoryDriver } from "../storage/memory/index.js";
import { InternalAccountProvider } from "./internal-account-provider.js";
import { deriveScramCredentials } from "./scram-credentials.js";
import { AccountExistsError, NoSuchAccountError } from "./types.js";

const ITERATIONS = 128;

function setup() {
  const storage = createMemoryDriver();
  return { storage, provider: new InternalAccountProvider(storage, { iterations: ITERATIONS }) };
}

describe("InternalAccountProvider", () => {
  it("creates an account and verifies its password, and nothing else", async () => {
    const { provider } = setup();
    await provider.createUser("example.com", "juliet", "r0m30myr0m30");
    assert.equal(await provider.verifyPassword("example.com", "juliet", "r0m30myr0m30"), true);
    assert.equal(await provider.verifyPassword("example.com", "juliet", "r0m30myr0m31"), false);
    assert.equal(await provider.verifyPassword("example.org", "juliet", "r0m30myr0m30"), false, "hosts are separate");
    assert.equal(await provider.verifyPassword("example.com", "nobody", "r0m30myr0m30"), false);
    assert.equal(await provider.verifyPassword("example.com", "jul iet", "x"), false, "invalid username");
    assert.equal(await provider.verifyPassword("example.com", "juliet", ""), false, "password the profile refuses");
  });

  it("normalises usernames with UsernameCaseMapped", async () => {
    const { provider } = setup();
    await provider.createUser("example.com", "Juliet", "pw");
    assert.deepEqual(await provider.listUsers("example.com"), ["juliet"]);
    assert.equal(await provider.userExists("example.com", "JULIET"), true);
    assert.equal(await provider.verifyPassword("example.com", "jUlIeT", "pw"), true);
    await assert.rejects(provider.createUser("example.com", "juliet", "other"), AccountExistsError);
    await assert.rejects(provider.createUser("example.com", "jul iet", "pw"), PrecisError);
  });

  it("stores SCRAM-SHA-1 and SCRAM-SHA-256 credentials as base64 JSON, never the password", async () => {
    const { provider, storage } = setup();
    await provider.createUser("example.com", "juliet", "r0m30myr0m30");
    const record = await storage.open("example.com", "accounts", "keyval").get("juliet");
    const text = JSON.stringify(record);
    assert.ok(!text.includes("r0m30myr0m30"));
    assert.ok(!text.includes(Buffer.from("r0m30myr0m30").toString("base64")));
    for (const hash of ["SHA-1", "SHA-256"] as const) {
      const credentials = await provider.scramCredentials("example.com", "juliet", hash);
      assert.ok(credentials, hash);
      assert.equal(credentials.iterations, ITERATIONS);
      // The stored keys are exactly those the password derives with the stored salt; the disabled flag comes along.
      const derived = await deriveScramCredentials("r0m30myr0m30", hash, ITERATIONS, credentials.salt);
      assert.deepEqual({ ...derived, disabled: false }, credentials);
    }
    assert.match(text, /"SHA-256":\{"salt":"[A-Za-z0-9+/=]+","iterations":128,"storedKey":"[A-Za-z0-9+/=]{44}"/);
    assert.equal(await provider.scramCredentials("example.com", "nobody", "SHA-256"), undefined);
  });

  it("uses a different salt per account and per hash", async () => {
    const { provider } = setup();
    await provider.createUser("example.com", "a", "same");
    await provider.createUser("example.com", "b", "same");
    const a1 = await provider.scramCredentials("example.com", "a", "SHA-1");
    const a256 = await provider.scramCredentials("example.com", "a", "SHA-256");
    const b256 = await provider.scramCredentials("example.com", "b", "SHA-256");
    assert.notDeepEqual(a256?.salt, b256?.salt);
    assert.notDeepEqual(a256?.storedKey, b256?.storedKey);
    assert.notDeepEqual(a1?.salt, a256?.salt);
  });

  it("changes passwords and deletes accounts", async () => {
    const { provider } = setup();
    await provider.createUser("example.com", "juliet", "old");
    await provider.setPassword("example.com", "Juliet", "new");
    assert.equal(await provider.verifyPassword("example.com", "juliet", "old"), false);
    assert.equal(await provider.verifyPassword("example.com", "juliet", "new"), true);
    await provider.deleteUser("example.com", "juliet");
    assert.equal(await provider.userExists("example.com", "juliet"), false);
    assert.deepEqual(await provider.listUsers("example.com"), []);
    await assert.rejects(provider.setPassword("example.com", "juliet", "x"), NoSuchAccountError);
    await assert.rejects(provider.deleteUser("example.com", "juliet"), NoSuchAccountError);
  });

  it("lets only one of two concurrent creations of the same account succeed", async () => {
    const { provider } = setup();
    const results = await Promise.allSettled([
      provider.createUser("example.com", "juliet", "first"),
      provider.createUser("example.com", "juliet", "second"),
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ["fulfilled", "rejected"],
    );
    assert.ok((results[1] as PromiseRejectedResult).reason instanceof AccountExistsError);
    assert.equal(await provider.verifyPassword("example.com", "juliet", "first"), true);
  });

  it("verifies a record that only holds SHA-1 credentials (imported accounts)", async () => {
    const { provider, storage } = setup();
    const sha1 = await deriveScramCredentials("pw", "SHA-1", 64);
    await storage.open("example.com", "accounts", "keyval").set("legacy", {
      scram: {
        "SHA-1": {
          salt: sha1.salt.toString("base64"),
          iterations: 64,
          storedKey: sha1.storedKey.toString("base64"),
          serverKey: sha1.serverKey.toString("base64"),
        },
      },
    });
    assert.equal(await provider.verifyPassword("example.com", "legacy", "nope"), false);
    assert.equal(await provider.scramCredentials("example.com", "legacy", "SHA-256"), undefined);
    assert.equal(await provider.verifyPassword("example.com", "legacy", "pw"), true);
    // XEP-0480 (server side): the password seen once, SCRAM-SHA-256 credentials are added; SHA-1 ones stay.
    const sha256 = await provider.scramCredentials("example.com", "legacy", "SHA-256");
    assert.ok(sha256);
    const again = await deriveScramCredentials("pw", "SHA-256", sha256.iterations, sha256.salt);
    assert.deepEqual(again.storedKey, sha256.storedKey);
    assert.deepEqual((await provider.scramCredentials("example.com", "legacy", "SHA-1"))?.storedKey, sha1.storedKey);
  });

  it("refuses a nonsensical iteration count", () => {
    assert.throws(() => new InternalAccountProvider(createMemoryDriver(), { iterations: 0 }), RangeError);
  });
});

describe("InternalAccountProvider: disabled accounts", () => {
  it("keeps the flag in the record, across a password change, until enabled again", async () => {
    const { provider } = setup();
    await provider.createUser("example.com", "juliet", "pw1");
    assert.equal(await provider.isDisabled("example.com", "juliet"), false);
    await provider.setDisabled("example.com", "Juliet", true);
    assert.equal(await provider.isDisabled("example.com", "juliet"), true);
    await provider.setPassword("example.com", "juliet", "pw2");
    assert.equal(await provider.isDisabled("example.com", "juliet"), true, "a new password does not re-enable");
    assert.equal(await provider.verifyPassword("example.com", "juliet", "pw2"), true, "the credentials stay usable");
    await provider.setDisabled("example.com", "juliet", false);
    assert.equal(await provider.isDisabled("example.com", "juliet"), false);
    await assert.rejects(provider.setDisabled("example.com", "nobody", true), NoSuchAccountError);
    assert.equal(await provider.isDisabled("example.com", "nobody"), false);
  });
});
