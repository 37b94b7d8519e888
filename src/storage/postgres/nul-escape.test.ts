import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compareCodePoints } from "../code-point-order.js";
import { escapeNul, unescapeNul } from "./nul-escape.js";

describe("PostgreSQL NUL escape", () => {
  const samples = [
    "",
    "a",
    "\u0000",
    "\u0001",
    "\u0002",
    "a\u0000",
    "a\u0000b",
    "a\u0001",
    "\u0000\u0001",
    "\u0001\u0000",
    "x\u{1F600}\u0000",
  ];

  it("round-trips, and leaves strings without U+0000/U+0001 alone", () => {
    for (const s of samples) assert.equal(unescapeNul(escapeNul(s)), s);
    assert.equal(escapeNul("plain"), "plain");
    assert.ok(!escapeNul("a\u0000b").includes("\u0000"));
  });

  it("keeps code point order", () => {
    for (const a of samples) {
      for (const b of samples) {
        assert.equal(
          Math.sign(compareCodePoints(escapeNul(a), escapeNul(b))),
          Math.sign(compareCodePoints(a, b)),
          `${JSON.stringify(a)} ${JSON.stringify(b)}`,
        );
      }
    }
  });
});
