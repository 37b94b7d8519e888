import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { StanzaErrorCondition } from "./errors.js";
import { ServerCounters } from "./server-counters.js";

describe("ServerCounters", () => {
  it("counts stanzas by kind and nothing else (XEP-0198 <r/>, SASL, features)", () => {
    const c = new ServerCounters();
    for (const name of ["message", "message", "presence", "iq", "r", "a", "auth", "features"]) c.stanzaIn(name);
    c.stanzaOut("iq");
    assert.deepEqual(c.stanzasIn, { message: 2, presence: 1, iq: 1 });
    assert.deepEqual(c.stanzasOut, { message: 0, presence: 0, iq: 1 });
  });

  it("keeps labels bounded: RFC 6120 conditions only, offered mechanisms or 'unknown'", () => {
    const c = new ServerCounters();
    c.routingError("service-unavailable");
    c.routingError("service-unavailable");
    c.routingError("made-up-by-a-peer" as StanzaErrorCondition);
    assert.deepEqual(
      [...c.routingErrors],
      [
        ["service-unavailable", 2],
        ["undefined-condition", 1],
      ],
    );
    c.authFailed(undefined);
    c.authFailed("PLAIN");
    c.authSucceeded("SCRAM-SHA-1");
    assert.deepEqual(
      [...c.authFailures],
      [
        ["unknown", 1],
        ["PLAIN", 1],
      ],
    );
    assert.deepEqual([...c.authSuccesses], [["SCRAM-SHA-1", 1]]);
  });
});
