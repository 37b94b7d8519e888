import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  Jid,
  JidError,
  enforceDomainpart,
  enforceLocalpart,
  enforceResource,
  makeJid,
  parseJid,
  tryParseJid,
} from "./jid.js";

const parts = (input: string) => {
  const jid = parseJid(input);
  return [jid.local, jid.domain, jid.resource];
};
const invalid = (input: string) =>
  assert.throws(() => parseJid(input), JidError, `expected ${JSON.stringify(input)} to be invalid`);

describe("RFC 7622 §3.5 examples", () => {
  it("accepts the valid JIDs (§3.5.1)", () => {
    assert.deepEqual(parts("juliet@example.com"), ["juliet", "example.com", ""]);
    assert.deepEqual(parts("juliet@example.com/foo"), ["juliet", "example.com", "foo"]);
    assert.deepEqual(parts("juliet@example.com/foo bar"), ["juliet", "example.com", "foo bar"]);
    assert.deepEqual(parts("juliet@example.com/foo@bar"), ["juliet", "example.com", "foo@bar"]);
    assert.deepEqual(parts("foo\\20bar@example.com"), ["foo\\20bar", "example.com", ""]);
    assert.deepEqual(parts("fussball@example.com"), ["fussball", "example.com", ""]);
    assert.deepEqual(parts("fußball@example.com"), ["fußball", "example.com", ""]);
    assert.deepEqual(parts("π@example.com"), ["π", "example.com", ""]);
    assert.deepEqual(parts("Σ@example.com/foo"), ["σ", "example.com", "foo"]);
    assert.deepEqual(parts("σ@example.com/foo"), ["σ", "example.com", "foo"]);
    assert.deepEqual(parts("ς@example.com/foo"), ["ς", "example.com", "foo"]);
    assert.deepEqual(parts("king@example.com/♚"), ["king", "example.com", "♚"]);
    assert.deepEqual(parts("example.com"), ["", "example.com", ""]);
    assert.deepEqual(parts("example.com/foobar"), ["", "example.com", "foobar"]);
    assert.deepEqual(parts("a.example.com/b@example.net"), ["", "a.example.com", "b@example.net"]);
  });

  it("rejects the invalid JIDs (§3.5.2)", () => {
    invalid('"juliet"@example.com');
    invalid("foo bar@example.com");
    invalid("henry\u2163@example.com");
    invalid("♚@example.com");
    invalid("juliet@");
    invalid("/foobar");
    invalid("node@/server");
    invalid("@example.com/");
  });
});

describe("parseJid", () => {
  it("splits the resource at the first '/' and the localpart at the first '@' before it (§3.1)", () => {
    assert.deepEqual(parts("a@example.com/r/s@t"), ["a", "example.com", "r/s@t"]);
    assert.deepEqual(parts("example.com/a@b"), ["", "example.com", "a@b"]);
    invalid("a@b@example.com"); // the domainpart would be "b@example.com"
  });

  it("rejects empty parts", () => {
    invalid("");
    invalid("juliet@example.com/");
    invalid("@example.com");
    invalid("/");
  });

  it("case-maps localpart and domainpart but not the resourcepart", () => {
    assert.equal(parseJid("JULIET@EXAMPLE.COM/Balcony").toString(), "juliet@example.com/Balcony");
  });

  it("maps fullwidth localparts and domainparts", () => {
    assert.equal(parseJid("ＪＵＬＩＥＴ@ｅｘａｍｐｌｅ．ｃｏｍ").toString(), "juliet@example.com");
    invalid("juliet＂@example.com"); // FULLWIDTH QUOTATION MARK maps to '"', excluded by §3.3.1
  });

  it("composes to NFC", () => {
    assert.equal(parseJid("re\u0301sume\u0301@example.com/caf\u0065\u0301").toString(), "r\u00E9sum\u00E9@example.com/caf\u00E9");
  });

  it("strips one trailing dot from the domainpart (§3.2)", () => {
    assert.equal(parseJid("juliet@example.com./r").toString(), "juliet@example.com/r");
    assert.equal(parseJid("example.com.").toString(), "example.com");
    invalid("juliet@.");
    invalid("juliet@example.com..");
  });

  it("canonicalises IDN domainparts to U-labels (§3.2.1), from A-labels too", () => {
    assert.equal(parseJid("juliet@Bücher.example").domain, "bücher.example");
    assert.equal(parseJid("juliet@xn--bcher-kva.example").domain, "bücher.example");
    assert.equal(parseJid("juliet@BÜCHER.example.").domain, "bücher.example");
    assert.ok(parseJid("juliet@bücher.example").equals(parseJid("juliet@XN--BCHER-KVA.EXAMPLE")));
  });

  it("rejects domainparts that are not IDNA2008 names", () => {
    invalid("juliet@exa mple.com");
    invalid("juliet@exa_mple.com");
    invalid("juliet@-example.com");
    invalid("juliet@example-.com");
    invalid("juliet@ab--cd.example"); // reserved LDH label
    invalid("juliet@xn--a.example"); // not valid punycode
    invalid("juliet@a..example");
    invalid("juliet@exa\u0000mple.com");
  });

  it("accepts IP literals (§3.2)", () => {
    assert.equal(parseJid("juliet@192.0.2.1/r").domain, "192.0.2.1");
    assert.equal(parseJid("juliet@[2001:DB8:0:0::1]").domain, "[2001:db8::1]");
    invalid("juliet@[2001:db8::1");
    invalid("juliet@[not-an-address]");
    invalid("juliet@[fe80::1%25eth0]");
  });

  it("limits each part to 1023 octets", () => {
    const label = "a".repeat(63);
    const domain1023 = Array.from({ length: 16 }, () => label).join(".");
    assert.equal(Buffer.byteLength(domain1023), 1023);
    assert.equal(parseJid(domain1023).domain, domain1023);
    assert.throws(() => parseJid(`${domain1023}.a`), /1023 octets/); // 1025 octets of valid labels
    assert.throws(() => parseJid(`juliet@${"a".repeat(64)}.example`), /63 octets/);
    assert.equal(parseJid(`${"a".repeat(1023)}@example.com`).local.length, 1023);
    assert.throws(() => parseJid(`${"a".repeat(1024)}@example.com`), /1023 octets/);
    assert.equal(parseJid(`${"é".repeat(511)}a@example.com`).local.length, 512); // 1023 octets
    assert.throws(() => parseJid(`${"é".repeat(512)}@example.com`), /1023 octets/); // 1024 octets
    assert.equal(parseJid(`example.com/${"r".repeat(1023)}`).resource.length, 1023);
    assert.throws(() => parseJid(`example.com/${"r".repeat(1024)}`), /1023 octets/);
  });

  it("keeps spaces, '@' and '/' in resources", () => {
    assert.equal(parseJid("juliet@example.com/ a b ").resource, " a b ");
    assert.equal(parseJid("juliet@example.com/a\u00A0b").resource, "a b"); // OpaqueString maps non-ASCII spaces
  });

  it("rejects control characters in every part", () => {
    invalid("jul\u0007iet@example.com");
    invalid("juliet@example.com/a\nb");
    invalid("juliet@example.com/a\u007Fb");
  });

  it("returns the same Jid object for the same input (cache)", () => {
    assert.equal(parseJid("cache@example.com/r"), parseJid("cache@example.com/r"));
  });
});

describe("Jid", () => {
  it("knows whether it is bare or a domain", () => {
    const full = parseJid("juliet@example.com/balcony");
    assert.equal(full.isBare, false);
    assert.equal(full.bare().toString(), "juliet@example.com");
    assert.equal(full.bareString(), "juliet@example.com");
    assert.equal(full.bare().isBare, true);
    assert.equal(parseJid("example.com").isDomain, true);
    assert.equal(parseJid("juliet@example.com").isDomain, false);
  });

  it("enforces the resource given to withResource", () => {
    const jid = parseJid("juliet@example.com").withResource("caf\u0065\u0301");
    assert.equal(jid.toString(), "juliet@example.com/caf\u00E9");
    assert.throws(() => parseJid("juliet@example.com").withResource(""), JidError);
  });

  it("compares canonical forms", () => {
    assert.ok(parseJid("JULIET@example.com/r").equals(parseJid("juliet@EXAMPLE.com./r")));
    assert.ok(!parseJid("juliet@example.com/R").equals(parseJid("juliet@example.com/r")));
  });
});

describe("makeJid, tryParseJid and the enforce* functions", () => {
  it("makeJid enforces each part", () => {
    assert.equal(makeJid("JULIET", "Example.COM", "r").toString(), "juliet@example.com/r");
    assert.equal(makeJid("", "example.com").toString(), "example.com");
    assert.throws(() => makeJid("a b", "example.com"), JidError);
    assert.ok(makeJid("a", "example.com") instanceof Jid);
  });

  it("tryParseJid returns undefined instead of throwing", () => {
    assert.equal(tryParseJid(undefined), undefined);
    assert.equal(tryParseJid("juliet@"), undefined);
    assert.equal(tryParseJid("juliet@example.com")?.toString(), "juliet@example.com");
  });

  it("enforce* throw JidError, not PrecisError", () => {
    assert.throws(() => enforceLocalpart("a:b"), JidError);
    assert.throws(() => enforceLocalpart(""), JidError);
    assert.throws(() => enforceDomainpart(""), JidError);
    assert.throws(() => enforceResource("\u0000"), JidError);
    assert.equal(enforceDomainpart("EXAMPLE.com"), "example.com");
  });
});
