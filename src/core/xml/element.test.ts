import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Element, InvalidXmlCharError, xml } from "./element.js";
import { NS_CLIENT, NS_SERVER, NS_STREAM } from "./ns.js";

describe("Element.toString escaping", () => {
  it("escapes &, < and > in text", () => {
    assert.equal(
      xml("body", NS_CLIENT, {}, "a & b < c > d ]]>").toString(NS_CLIENT),
      "<body>a &amp; b &lt; c &gt; d ]]&gt;</body>",
    );
  });

  it("escapes quotes, markup and whitespace that attribute normalisation would eat", () => {
    const el = xml("x", NS_CLIENT, { a: `"'&<>`, b: "1\t2\n3\r4" });
    assert.equal(el.toString(NS_CLIENT), `<x a="&quot;&apos;&amp;&lt;&gt;" b="1&#9;2&#10;3&#13;4"/>`);
  });

  it("keeps characters outside the BMP and ordinary non-ASCII text as they are", () => {
    assert.equal(xml("body", NS_CLIENT, {}, "é😀").toString(NS_CLIENT), "<body>é😀</body>");
  });

  for (const [label, bad] of [
    ["U+0000", "\u0000"],
    ["U+0001", "\u0001"],
    ["U+FFFE", "\uFFFE"],
    ["U+FFFF", "\uFFFF"],
    ["a lone high surrogate", "a\uD800b"],
    ["a lone low surrogate", "a\uDC00b"],
    ["a high surrogate at the end", "a\uD83D"],
  ] as const) {
    it(`refuses ${label} in text and in attribute values`, () => {
      assert.throws(() => xml("body", NS_CLIENT, {}, bad).toString(NS_CLIENT), InvalidXmlCharError);
      assert.throws(() => xml("x", NS_CLIENT, { a: bad }).toString(NS_CLIENT), InvalidXmlCharError);
    });
  }

  it("refuses a bad character in a nested child", () => {
    const el = xml("message", NS_CLIENT);
    el.c("body").t("ok\u0000");
    assert.throws(() => el.toString(NS_CLIENT), InvalidXmlCharError);
  });
});

describe("Element.toString namespaces", () => {
  it("writes xmlns only where the namespace changes from the parent's", () => {
    const el = xml("iq", NS_CLIENT, { type: "get" });
    el.c("query", "jabber:iq:roster").c("item", "jabber:iq:roster", { jid: "a@b" });
    assert.equal(
      el.toString(NS_CLIENT),
      `<iq type="get"><query xmlns="jabber:iq:roster"><item jid="a@b"/></query></iq>`,
    );
  });

  it("writes the namespace of a top-level element when parentNs differs (default parentNs is none)", () => {
    assert.equal(xml("ping", "urn:xmpp:ping").toString(), `<ping xmlns="urn:xmpp:ping"/>`);
    assert.equal(xml("message", NS_CLIENT).toString(), `<message xmlns="jabber:client"/>`);
  });

  it('writes xmlns="" for an element in no namespace under a default namespace', () => {
    const el = xml("x", "urn:a", {}, xml("y", ""));
    assert.equal(el.toString(), `<x xmlns="urn:a"><y xmlns=""/></x>`);
  });

  it("lets a jabber:client stanza take a jabber:server stream's namespace, children included", () => {
    const el = xml("message", NS_CLIENT, { to: "a@b" }, xml("body", NS_CLIENT, {}, "hi"), xml("x", "urn:x"));
    assert.equal(el.toString(NS_SERVER), `<message to="a@b"><body>hi</body><x xmlns="urn:x"/></message>`);
  });

  it("lets a jabber:server stanza take a jabber:client stream's namespace", () => {
    const el = xml("presence", NS_SERVER, {}, xml("status", NS_SERVER, {}, "away"));
    assert.equal(el.toString(NS_CLIENT), "<presence><status>away</status></presence>");
  });

  it("does not rewrite content namespaces under a non-content parent", () => {
    const forwarded = xml("forwarded", "urn:xmpp:forward:0", {}, xml("message", NS_CLIENT));
    assert.equal(
      forwarded.toString(NS_CLIENT),
      `<forwarded xmlns="urn:xmpp:forward:0"><message xmlns="jabber:client"/></forwarded>`,
    );
  });

  it("writes stream-level elements with the stream: prefix the header declares (RFC 6120 §4.8.5)", () => {
    const features = xml("features", NS_STREAM, {}, xml("bind", "urn:ietf:params:xml:ns:xmpp-bind"));
    assert.equal(
      features.toString(NS_CLIENT),
      `<stream:features><bind xmlns="urn:ietf:params:xml:ns:xmpp-bind"/></stream:features>`,
    );
  });

  it("writes prefixed attributes by their qualified name", () => {
    const el = new Element("body", NS_CLIENT, { "xml:lang": "en" }, ["hi"]);
    assert.equal(el.toString(NS_CLIENT), `<body xml:lang="en">hi</body>`);
  });
});
