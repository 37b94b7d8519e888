import assert from "node:assert/strict";
import { test } from "node:test";
import { UnauthenticatedConnections } from "./unauthenticated-connections.js";

test("caps per address (IPv6 per /64) and in total, frees a slot once on release, exempts listed addresses per address only", () => {
  const caps = new UnauthenticatedConnections({ maxConnections: 5, maxPerAddress: 2, exemptAddresses: ["10.0.0.8/30"] });
  const a1 = caps.admit("192.0.2.1");
  const a2 = caps.admit("::ffff:192.0.2.1");
  assert.ok(a1.slot && a2.slot);
  assert.equal(caps.admit("192.0.2.1").refused?.condition, "policy-violation");
  // Same /64, another interface id: the same key.
  assert.ok(caps.admit("2001:db8:1:2::1").slot);
  assert.ok(caps.admit("2001:db8:1:2:ffff::7").slot);
  assert.equal(caps.admit("2001:db8:1:2::abcd").refused?.condition, "policy-violation");
  a1.slot.release();
  a1.slot.release(); // twice: counted once
  assert.ok(caps.admit("192.0.2.1").slot);
  assert.equal(caps.admit("192.0.2.1").refused?.condition, "policy-violation");
  assert.equal(caps.size, 4);
  assert.ok(caps.admit("10.0.0.9").slot);
  // Total reached: everyone, exempt or not, gets resource-constraint.
  assert.equal(caps.admit("10.0.0.9").refused?.condition, "resource-constraint");
  assert.equal(caps.admit("198.51.100.1").refused?.condition, "resource-constraint");
});
