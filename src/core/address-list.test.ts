import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AddressList, addressEntryProblem } from "./address-list.js";

describe("AddressList", () => {
  it("matches addresses and CIDR ranges of both families, IPv4-mapped IPv6 as IPv4", () => {
    const list = new AddressList(["192.0.2.1", "198.51.100.0/24", "2001:db8::/48", "::1"]);
    for (const ip of ["192.0.2.1", "198.51.100.77", "::ffff:198.51.100.3", "2001:db8:0:ffff::1", "::1"]) {
      assert.ok(list.has(ip), ip);
    }
    for (const ip of ["192.0.2.2", "198.51.101.1", "2001:db8:1::1", "::2", "not an address", ""]) {
      assert.ok(!list.has(ip), ip);
    }
    assert.ok(!new AddressList([]).has("192.0.2.1"));
  });

  it("names what is wrong with an entry", () => {
    assert.equal(addressEntryProblem("10.0.0.0/8"), undefined);
    assert.equal(addressEntryProblem("2001:db8::/128"), undefined);
    assert.match(addressEntryProblem("10.0.0.0/33") ?? "", /prefix length must be 0 to 32/);
    assert.match(addressEntryProblem("2001:db8::/129") ?? "", /0 to 128/);
    assert.match(addressEntryProblem("10.0.0.0/8/1") ?? "", /not an IP address or CIDR range/);
    assert.match(addressEntryProblem("proxy.example.org") ?? "", /not an IP address/);
    assert.match(addressEntryProblem("10.0.0.0/x") ?? "", /prefix length/);
  });
});
