import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { xml } from "../core/xml/element.js";
import { StreamManagement, addMod32, distanceMod32, parseH } from "./stream-management.js";

const msg = (id: string) => xml("message", "jabber:client", { id });

describe("XEP-0198 counters", () => {
  it("wrap at 2^32 (§5)", () => {
    assert.equal(addMod32(2 ** 32 - 1, 1), 0);
    assert.equal(distanceMod32(2 ** 32 - 2, 1), 3);
    assert.equal(distanceMod32(5, 5), 0);
  });

  it("drops what the client acknowledged and refuses an h beyond what was sent", () => {
    const sm = new StreamManagement("id", 300);
    for (const id of ["a", "b", "c"]) sm.sent(msg(id), 10);
    assert.equal(sm.acknowledge(2), true);
    assert.deepEqual(sm.unacked.map((s) => s.attrs.id), ["c"]);
    assert.equal(sm.acknowledge(4), false);
    assert.equal(sm.acknowledge(3), true);
    assert.equal(sm.unacked.length, 0);
  });

  it("keeps the bytes of what is unacknowledged in step with acknowledgements", () => {
    const sm = new StreamManagement("id", 300);
    sm.sent(msg("a"), 100);
    sm.sent(msg("b"), 2000);
    sm.sent(msg("c"), 30);
    assert.equal(sm.unackedBytes, 2130);
    sm.acknowledge(2);
    assert.equal(sm.unackedBytes, 30);
    assert.deepEqual(sm.takeUnacked().map((s) => s.attrs.id), ["c"]);
    assert.equal(sm.unackedBytes, 0);
  });

  it("acknowledges across the wrap", () => {
    const sm = new StreamManagement(undefined, 0);
    sm.acked = 2 ** 32 - 1;
    sm.outbound = 2 ** 32 - 1;
    sm.sent(msg("x"), 10);
    sm.sent(msg("y"), 10);
    assert.equal(sm.outbound, 1);
    assert.equal(sm.acknowledge(0), true);
    assert.deepEqual(sm.unacked.map((s) => s.attrs.id), ["y"]);
  });

  it("parses h strictly", () => {
    assert.equal(parseH("0"), 0);
    assert.equal(parseH("4294967295"), 4294967295);
    assert.equal(parseH("4294967296"), undefined);
    assert.equal(parseH("-1"), undefined);
    assert.equal(parseH("1e3"), undefined);
    assert.equal(parseH(undefined), undefined);
  });
});
