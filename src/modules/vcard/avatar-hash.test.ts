import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { NS_CLIENT, NS_VCARD, NS_VCARD_UPDATE } from "../../core/xml/ns.js";
import { parseFramedElement } from "../../core/xml/stream-parser.js";
import { avatarHash, InvalidAvatarError, stampAvatarHash } from "./avatar-hash.js";
import { emptyVCard, isEmptyVCard, parseStoredVCard, photoBinval, serialiseVCard } from "./codec.js";

const LIMITS = { maxStanzaBytes: 1 << 20, maxDepth: 32 };
const parse = (text: string, ns = NS_CLIENT) => parseFramedElement(text, LIMITS, ns);

// SHA-1("abc") from RFC 3174 §7.3 test 1; "YWJj" is base64 of "abc".
const ABC_SHA1 = "a9993e364706816aba3e25717850c26c9cd0d89d";

describe("avatar hash (XEP-0153)", () => {
  it("hashes the decoded image data, ignoring whitespace in BINVAL (§3.5 item 5)", () => {
    const vcard = parse(
      "<vCard xmlns='vcard-temp'><N><GIVEN>Juliet</GIVEN></N><PHOTO><TYPE>image/png</TYPE><BINVAL>\n  YW\r\n Jj\n</BINVAL></PHOTO></vCard>",
    );
    assert.equal(photoBinval(vcard), "YWJj");
    assert.equal(avatarHash(vcard), ABC_SHA1);
  });

  it("gives no hash without a PHOTO or with an empty BINVAL", () => {
    assert.equal(avatarHash(parse("<vCard xmlns='vcard-temp'><FN>Juliet</FN></vCard>")), "");
    assert.equal(avatarHash(parse("<vCard xmlns='vcard-temp'><PHOTO><BINVAL> </BINVAL></PHOTO></vCard>")), "");
    assert.equal(
      avatarHash(parse("<vCard xmlns='vcard-temp'><PHOTO><EXTVAL>http://x/y.png</EXTVAL></PHOTO></vCard>")),
      "",
    );
  });

  it("refuses BINVAL that is not base64", () => {
    for (const bad of ["YWJ", "YW=j", "Y*Jj", "YWJj===="]) {
      const vcard = parse(`<vCard xmlns='vcard-temp'><PHOTO><BINVAL>${bad}</BINVAL></PHOTO></vCard>`);
      assert.throws(() => avatarHash(vcard), InvalidAvatarError, bad);
    }
  });
});

describe("presence stamping (XEP-0398 §4)", () => {
  const photoOf = (p: ReturnType<typeof parse>) => {
    const xs = p.getChildren("x", NS_VCARD_UPDATE);
    assert.equal(xs.length, 1);
    return xs[0]?.getChild("photo", NS_VCARD_UPDATE)?.text();
  };

  it("adds the hash to a presence without an update element", () => {
    const p = parse("<presence><show>away</show></presence>");
    stampAvatarHash(p, ABC_SHA1);
    assert.equal(photoOf(p), ABC_SHA1);
    assert.equal(p.getChildText("show"), "away");
  });

  it("overwrites an empty update element and a different hash", () => {
    const empty = parse("<presence><x xmlns='vcard-temp:x:update'/></presence>");
    stampAvatarHash(empty, ABC_SHA1);
    assert.equal(photoOf(empty), ABC_SHA1);
    const other = parse("<presence><x xmlns='vcard-temp:x:update'><photo>0123</photo></x></presence>");
    stampAvatarHash(other, ABC_SHA1);
    assert.equal(photoOf(other), ABC_SHA1);
  });

  it("leaves an empty <photo/> alone", () => {
    const p = parse("<presence><x xmlns='vcard-temp:x:update'><photo/></x></presence>");
    stampAvatarHash(p, ABC_SHA1);
    assert.equal(photoOf(p), "");
  });

  it("advertises no avatar with an empty <photo/> (XEP-0153 §4.1 rule 3)", () => {
    const p = parse("<presence/>");
    stampAvatarHash(p, "");
    assert.equal(photoOf(p), "");
    assert.equal(p.toString(NS_CLIENT), '<presence><x xmlns="vcard-temp:x:update"><photo/></x></presence>');
  });
});

describe("vCard codec", () => {
  it("round-trips a stored vCard, foreign namespaces and attributes included", () => {
    const vcard = parse(
      "<vCard xmlns='vcard-temp' version='3.0'><FN>Peter Saint-Andre</FN><N><FAMILY>Saint-Andre</FAMILY><MIDDLE/></N><X-EXT xmlns='urn:example'>a &amp; b</X-EXT></vCard>",
    );
    const text = serialiseVCard(vcard);
    const back = parseStoredVCard(text);
    assert.equal(back.ns, NS_VCARD);
    assert.equal(back.attrs.version, "3.0");
    assert.equal(back.getChild("X-EXT", "urn:example")?.text(), "a & b");
    assert.equal(serialiseVCard(back), text);
  });

  it("knows an empty vCard", () => {
    assert.ok(isEmptyVCard(emptyVCard()));
    assert.ok(isEmptyVCard(parse("<vCard xmlns='vcard-temp'>\n</vCard>")));
    assert.ok(!isEmptyVCard(parse("<vCard xmlns='vcard-temp'><FN/></vCard>")));
  });
});
