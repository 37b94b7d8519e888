// RFC 5802 §5 and RFC 7677 §3 examples, byte for byte: credentials derived by deriveScramCredentials drive the
// real server exchange with the RFC's client nonce, salt, iteration count and server nonce forced.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PrecisError } from "../core/precis.js";
import { deriveScramCredentials, scramSaltedPassword } from "./scram-credentials.js";
import { scramMechanism } from "./scram-mechanism.js";
import type { AccountProvider, SaslContext, ScramCredentials, ScramHash } from "./types.js";

function providerWith(user: string, hash: ScramHash, credentials: ScramCredentials): AccountProvider {
  const unused = () => Promise.reject(new Error("not used by this test"));
  return {
    credentialKind: () => "scram",
    scramCredentials: async (_host, u, h) => (u === user && h === hash ? credentials : undefined),
    verifyPassword: unused,
    userExists: unused,
    createUser: unused,
    setPassword: unused,
    deleteUser: unused,
    listUsers: unused,
    setDisabled: unused,
    isDisabled: unused,
    forgetUser: () => {},
  };
}

const ctx: SaslContext = {
  host: "example.com",
  secure: true,
  remoteAddress: "192.0.2.1",
  channelBindings: [],
  channelBinding: () => undefined,
};

const vectors = [
  {
    rfc: "RFC 5802 §5",
    hash: "SHA-1" as const,
    clientFirst: "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL",
    serverNonce: "3rfcNHYJY1ZVvWVs7j",
    salt: "QSXCR+Q6sek8bf92",
    serverFirst: "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
    clientFinal: "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
    serverFinal: "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=",
  },
  {
    rfc: "RFC 7677 §3",
    hash: "SHA-256" as const,
    clientFirst: "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
    serverNonce: "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
    salt: "W22ZaJ0SNY7soEsUEjb6gQ==",
    serverFirst: "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
    clientFinal:
      "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
    serverFinal: "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
  },
];

describe("deriveScramCredentials", () => {
  for (const v of vectors) {
    it(`reproduces the ${v.rfc} exchange byte for byte`, async () => {
      const credentials = await deriveScramCredentials("pencil", v.hash, 4096, Buffer.from(v.salt, "base64"));
      const mechanism = scramMechanism(v.hash, false, providerWith("user", v.hash, credentials), {
        serverNonce: () => v.serverNonce,
      });
      const exchange = mechanism.start(ctx);
      const first = await exchange.step(Buffer.from(v.clientFirst));
      assert.equal(first.kind, "challenge");
      assert.equal(first.kind === "challenge" && first.data.toString("utf8"), v.serverFirst);
      const final = await exchange.step(Buffer.from(v.clientFinal));
      assert.deepEqual(final, { kind: "success", username: "user", data: Buffer.from(v.serverFinal) });
    });

    it(`rejects a wrong password with the ${v.rfc} salt`, async () => {
      const credentials = await deriveScramCredentials("pencil2", v.hash, 4096, Buffer.from(v.salt, "base64"));
      const exchange = scramMechanism(v.hash, false, providerWith("user", v.hash, credentials), {
        serverNonce: () => v.serverNonce,
      }).start(ctx);
      await exchange.step(Buffer.from(v.clientFirst));
      const final = await exchange.step(Buffer.from(v.clientFinal));
      assert.deepEqual(final, { kind: "failure", condition: "not-authorized" });
    });
  }

  it("draws a fresh random salt of 16 octets when none is given", async () => {
    const a = await deriveScramCredentials("pencil", "SHA-256", 1);
    const b = await deriveScramCredentials("pencil", "SHA-256", 1);
    assert.equal(a.salt.length, 16);
    assert.notDeepEqual(a.salt, b.salt);
    assert.notDeepEqual(a.storedKey, b.storedKey);
    assert.equal(a.storedKey.length, 32);
    assert.equal(a.serverKey.length, 32);
    assert.equal(a.iterations, 1);
  });

  it("applies the OpaqueString profile to the password (RFC 8265 §4.2)", async () => {
    const salt = Buffer.from("salt");
    // Decomposed "é" (e + U+0301) and precomposed U+00E9 are one password after NFC.
    const decomposed = await scramSaltedPassword("caf\u0065\u0301", "SHA-1", 2, salt);
    const composed = await scramSaltedPassword("caf\u00e9", "SHA-1", 2, salt);
    assert.deepEqual(decomposed, composed);
    await assert.rejects(deriveScramCredentials("", "SHA-1", 2, salt), PrecisError);
    await assert.rejects(deriveScramCredentials("a\u0007b", "SHA-1", 2, salt), PrecisError);
  });

  it("refuses a nonsensical iteration count", async () => {
    await assert.rejects(deriveScramCredentials("pencil", "SHA-1", 0), RangeError);
    await assert.rejects(deriveScramCredentials("pencil", "SHA-1", 1.5), RangeError);
  });
});
