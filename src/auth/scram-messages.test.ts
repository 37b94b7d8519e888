import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodeBase64Strict, parseClientFinalMessage, ScramSyntaxError } from "./scram-messages.js";

describe("SCRAM message parsers: inputs found by the fuzzer (fuzz/targets/scram-messages.ts)", () => {
  it("refuses base64 whose pad bits are not zero (RFC 4648 §3.5), so one value has one spelling", () => {
    // "biws" is "n,,"; "Zm8=" is "fo" and "Zm9=" decodes to the same bytes with a stray pad bit.
    assert.deepEqual(decodeBase64Strict("Zm8="), Buffer.from("fo"));
    assert.throws(() => decodeBase64Strict("Zm9="), ScramSyntaxError);
    assert.throws(() => decodeBase64Strict("Zh=="), ScramSyntaxError);
    // Found: the proof's last character differs from the canonical "s" only in pad bits.
    assert.throws(
      () => parseClientFinalMessage("c=biws,r=fc=yklbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Th="),
      ScramSyntaxError,
    );
    // Found: a channel-binding value with a stray pad bit ("LI==" for the canonical "LA==").
    assert.throws(
      () =>
        parseClientFinalMessage(
          "c=cD10bHMtZXhwb3J0ZXIsLI==,r=rOeSwsfwEbeRWgbNEkqO,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
        ),
      ScramSyntaxError,
    );
  });

  it("still accepts the RFC 5802 §5 example client-final-message", () => {
    const msg = parseClientFinalMessage(
      "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
    );
    assert.equal(msg.channelBinding.toString(), "n,,");
    assert.equal(msg.proof.toString("base64"), "v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=");
  });
});
