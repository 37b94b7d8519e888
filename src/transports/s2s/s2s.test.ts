// Pure logic of s2s: XEP-0185 key generation (the XEP's own example), RFC 2782 SRV ordering, overrides.
import assert from "node:assert/strict";
import { createHash, createHmac } from "node:crypto";
import { describe, it } from "node:test";
import { dbResult, dbVerify, dialbackKey } from "./dialback.js";
import { S2sResolver, orderSrv, parseOverride } from "./resolver.js";

describe("dialback keys (XEP-0185 §2)", () => {
  it("is HMAC-SHA256 keyed with hex SHA256(secret) over 'receiving originating streamId'", () => {
    const secret = Buffer.from("s3cr3tf0rd14lb4ck");
    const key = dialbackKey(secret, "example.net", "example.com", "D60000229F");
    const expected = createHmac("sha256", createHash("sha256").update(secret).digest("hex"))
      .update("example.net example.com D60000229F")
      .digest("hex");
    assert.equal(key, expected);
    assert.match(key, /^[0-9a-f]{64}$/);
    assert.notEqual(key, dialbackKey(secret, "example.net", "example.com", "D60000229G"));
    assert.notEqual(key, dialbackKey(secret, "example.com", "example.net", "D60000229F"));
  });
  it("writes db elements with the prefix and escaped attributes", () => {
    assert.equal(dbResult("a.test", "b.test", { key: "k" }), "<db:result from='a.test' to='b.test'>k</db:result>");
    assert.equal(dbVerify("a.test", "b.test", "i'd", { type: "valid" }), "<db:verify from='a.test' to='b.test' id='i&apos;d' type='valid'/>");
  });
});

describe("s2s resolution", () => {
  it("orders SRV records by priority, then weight", () => {
    const recs = [
      { name: "c", priority: 20, weight: 0 },
      { name: "a", priority: 10, weight: 100 },
      { name: "b", priority: 10, weight: 0 },
    ];
    // random() = 0.99: the pick lands on the heaviest record first.
    assert.deepEqual(orderSrv(recs, () => 0.99).map((r) => r.name), ["a", "b", "c"]);
    // random() = 0: the zero-weight record (placed first) wins the first draw.
    assert.deepEqual(orderSrv(recs, () => 0).map((r) => r.name), ["b", "a", "c"]);
  });
  it("merges _xmpps-server and _xmpp-server and falls back to the domain on 5269", async () => {
    const srv = async (name: string) =>
      name.startsWith("_xmpps-server._tcp.both.test")
        ? [{ name: "tls.both.test", port: 5270, priority: 5, weight: 0 }]
        : name.startsWith("_xmpp-server._tcp.both.test")
          ? [{ name: "plain.both.test.", port: 5269, priority: 10, weight: 0 }]
          : name === "_xmpp-server._tcp.none.test"
            ? [{ name: ".", port: 0, priority: 0, weight: 0 }]
            : [];
    const r = new S2sResolver(new Map([["fixed.test", parseOverride("tls:[::1]:7000")!]]), srv);
    assert.deepEqual(await r.resolve("both.test"), [
      { host: "tls.both.test", port: 5270, directTls: true },
      { host: "plain.both.test", port: 5269, directTls: false },
    ]);
    assert.deepEqual(await r.resolve("bare.test"), [{ host: "bare.test", port: 5269, directTls: false }]);
    assert.deepEqual(await r.resolve("none.test"), []);
    assert.deepEqual(await r.resolve("fixed.test"), [{ host: "::1", port: 7000, directTls: true }]);
  });
});
