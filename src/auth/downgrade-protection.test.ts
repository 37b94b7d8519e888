import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ssdpHash } from "./downgrade-protection.js";

describe("XEP-0474 SSDP hash", () => {
  it("matches the XEP's own example (§5.3: SHA-1 of the two mechanisms and two channel-binding types)", () => {
    // Listed out of order: the hash sorts them (i;octet).
    assert.equal(
      ssdpHash("SHA-1", ["SCRAM-SHA-1-PLUS", "SCRAM-SHA-1"], ["tls-server-end-point", "tls-exporter"]),
      "G6k/rBLDqgOhRRaCuuatSDFkJ08=",
    );
  });

  it("leaves out the channel-binding part when XEP-0440 advertised nothing, and uses the mechanism's hash", () => {
    const withEmpty = ssdpHash("SHA-256", ["SCRAM-SHA-256", "PLAIN"], []);
    const without = ssdpHash("SHA-256", ["SCRAM-SHA-256", "PLAIN"], undefined);
    assert.notEqual(withEmpty, without, "an empty advertised list still adds the %x1F separator");
    assert.equal(Buffer.from(without, "base64").length, 32);
    assert.equal(Buffer.from(ssdpHash("SHA-1", ["PLAIN"], undefined), "base64").length, 20);
  });
});
