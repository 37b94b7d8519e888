import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { StanzaError } from "../../core/errors.js";
import { Element } from "../../core/xml/element.js";
import { NS_CLIENT, NS_DATA_FORMS, NS_SEARCH, NS_VCARD } from "../../core/xml/ns.js";
import { parseFramedElement } from "../../core/xml/stream-parser.js";
import { parseStoredVCard } from "../vcard/codec.js";
import {
  buildFormResults,
  buildLegacyResults,
  buildSearchFields,
  entryFromVCard,
  parseSearchRequest,
  withoutPhotos,
} from "./codec.js";

const parse = (text: string, ns = NS_CLIENT) => parseFramedElement(text, { maxStanzaBytes: 1 << 16, maxDepth: 32 }, ns);
const condition = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    if (err instanceof StanzaError) return err.condition;
    throw err;
  }
  return "none";
};

describe("user directory codec (XEP-0055)", () => {
  it("takes first, last, nick and email from a vcard-temp (XEP-0054 example vCard)", () => {
    const vcard = parse(
      "<vCard xmlns='vcard-temp'><FN>Peter Saint-Andre</FN><N><FAMILY>Saint-Andre</FAMILY><GIVEN>Peter</GIVEN><MIDDLE/></N>" +
        "<NICKNAME>stpeter</NICKNAME><EMAIL><INTERNET/><PREF/><USERID>stpeter@jabber.org</USERID></EMAIL></vCard>",
      NS_VCARD,
    );
    assert.deepEqual(entryFromVCard(vcard), {
      first: "Peter",
      last: "Saint-Andre",
      nick: "stpeter",
      email: "stpeter@jabber.org",
    });
    // Old clients write the address as the EMAIL's text.
    assert.equal(
      entryFromVCard(parse("<vCard xmlns='vcard-temp'><EMAIL>a@b.example</EMAIL></vCard>", NS_VCARD))?.email,
      "a@b.example",
    );
    // Nothing to be found by: not listed.
    assert.equal(
      entryFromVCard(parse("<vCard xmlns='vcard-temp'><FN>Only a full name</FN></vCard>", NS_VCARD)),
      undefined,
    );
  });

  it("reads the legacy request of §2.1 and the extended form of §3", () => {
    const legacy = parse("<query xmlns='jabber:iq:search'><last>Capulet</last></query>", NS_SEARCH);
    assert.deepEqual(parseSearchRequest(legacy), { criteria: { last: "Capulet" }, form: false });
    // A client that sends the whole field set back, instructions and empty fields included.
    const echoed = parse(
      "<query xmlns='jabber:iq:search'><instructions>Fill in</instructions><first/><last/><nick>ty</nick><email/></query>",
      NS_SEARCH,
    );
    assert.deepEqual(parseSearchRequest(echoed), { criteria: { nick: "ty" }, form: false });
    const form = parse(
      "<query xmlns='jabber:iq:search'><x xmlns='jabber:x:data' type='submit'>" +
        "<field type='hidden' var='FORM_TYPE'><value>jabber:iq:search</value></field>" +
        "<field var='x-gender'><value>male</value></field></x></query>",
      NS_SEARCH,
    );
    // The example's x-gender is a field this service does not offer.
    assert.equal(
      condition(() => parseSearchRequest(form)),
      "bad-request",
    );
    const ours = parse(
      "<query xmlns='jabber:iq:search'><x xmlns='jabber:x:data' type='submit'><field var='nick'><value> Jul </value></field>" +
        "<field var='email'><value/></field></x></query>",
      NS_SEARCH,
    );
    assert.deepEqual(parseSearchRequest(ours), { criteria: { nick: "Jul" }, form: true });
  });

  it("refuses another FORM_TYPE, a form that is not a submission, and a value too long", () => {
    const other = parse(
      "<query xmlns='jabber:iq:search'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>urn:other</value></field></x></query>",
      NS_SEARCH,
    );
    assert.equal(
      condition(() => parseSearchRequest(other)),
      "bad-request",
    );
    const formType = parse("<query xmlns='jabber:iq:search'><x xmlns='jabber:x:data' type='form'/></query>", NS_SEARCH);
    assert.equal(
      condition(() => parseSearchRequest(formType)),
      "bad-request",
    );
    const long = parse(`<query xmlns='jabber:iq:search'><nick>${"x".repeat(300)}</nick></query>`, NS_SEARCH);
    assert.equal(
      condition(() => parseSearchRequest(long)),
      "not-acceptable",
    );
  });

  it("builds the fields, an empty result, and a result form with <reported/> first", () => {
    const fields = buildSearchFields("Fill in a field");
    assert.deepEqual(
      fields.elements().map((e) => e.name),
      ["instructions", "first", "last", "nick", "email", "x"],
    );
    assert.equal(buildLegacyResults([]).toString(), '<query xmlns="jabber:iq:search"/>');
    const x = buildFormResults([
      { jid: "juliet@capulet.example", entry: { first: "Juliet", last: "Capulet", nick: "", email: "" } },
    ]).getChild("x", NS_DATA_FORMS)!;
    assert.deepEqual(
      x.elements().map((e) => e.name),
      ["field", "reported", "item"],
    );
    assert.equal(
      x.getChild("item", NS_DATA_FORMS)!.elements()[0]!.getChildText("value", NS_DATA_FORMS),
      "juliet@capulet.example",
    );
  });

  it("drops PHOTO elements from a stored vCard before it is parsed for the index, and nothing else", () => {
    const vcard = new Element("vCard", NS_VCARD);
    vcard.c("PHOTO").c("BINVAL").t("QUJD".repeat(1000));
    vcard.c("N").c("GIVEN").t("<PHOTO> is only text here");
    vcard.c("PHOTOGRAPHER").t("kept");
    vcard.c("PHOTO");
    vcard.c("NICKNAME").t("pic");
    const stripped = withoutPhotos(vcard.toString());
    assert.ok(stripped.length < 300, stripped);
    const parsed = parseStoredVCard(stripped);
    assert.deepEqual(
      parsed.elements().map((e) => e.name),
      ["N", "PHOTOGRAPHER", "NICKNAME"],
    );
    assert.deepEqual(entryFromVCard(parsed), entryFromVCard(vcard));
  });
});
