import assert from "node:assert/strict";
import { test } from "node:test";
import { formatTzo, formatUtc } from "./codec.js";

test("XEP-0202 tzo from getTimezoneOffset", () => {
  assert.equal(formatTzo(0), "+00:00");
  assert.equal(formatTzo(360), "-06:00"); // XEP-0202 §4 example: US Central (CST)
  assert.equal(formatTzo(-330), "+05:30");
});

test("XEP-0082 UTC form", () => {
  assert.equal(formatUtc(new Date(Date.UTC(2006, 11, 19, 17, 58, 35))), "2006-12-19T17:58:35.000Z");
});
