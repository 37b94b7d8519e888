import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { StreamErrorCondition } from "../errors.js";
import { StreamError } from "../errors.js";
import { type Element, xml } from "./element.js";
import { NS_CLIENT, NS_STREAM } from "./ns.js";
import type { StreamParserLimits } from "./stream-parser.js";
import { FramedElementParser, parseFramedElement, XmppStreamParser } from "./stream-parser.js";

const LIMITS: StreamParserLimits = { maxStanzaBytes: 256 * 1024, maxDepth: 16 };
const HEADER =
  "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='example.com' version='1.0' xml:lang='en'>";
const OPEN = "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>";

type Event =
  | { type: "start"; name: string; ns: string; contentNs: string; attrs: Record<string, string> }
  | { type: "stanza"; el: Element }
  | { type: "end" }
  | { type: "error"; condition: StreamErrorCondition };

function collector(limits: StreamParserLimits = LIMITS) {
  const events: Event[] = [];
  const parser = new XmppStreamParser(
    {
      streamStart: (name, ns, contentNs, attrs) => events.push({ type: "start", name, ns, contentNs, attrs }),
      stanza: (el) => events.push({ type: "stanza", el }),
      streamEnd: () => events.push({ type: "end" }),
      error: (err) => events.push({ type: "error", condition: err.condition }),
    },
    limits,
  );
  return {
    events,
    parser,
    feed(...chunks: (string | Buffer)[]) {
      for (const c of chunks) parser.write(typeof c === "string" ? Buffer.from(c) : c);
      return this;
    },
    stanzas: () => events.flatMap((e) => (e.type === "stanza" ? [e.el] : [])),
    errors: () => events.flatMap((e) => (e.type === "error" ? [e.condition] : [])),
  };
}

/** Feeds a whole stream in one piece and reports the one error (or none). */
function errorOf(text: string | Buffer, limits: StreamParserLimits = LIMITS): StreamErrorCondition | undefined {
  const errors = collector(limits).feed(text).errors();
  assert.ok(errors.length <= 1, `at most one error, got ${errors.join(", ")}`);
  return errors[0];
}

const SAMPLE =
  HEADER +
  "\n<message to='juliet@example.com/balcony' type='chat' id='m1' xml:lang='fr'>" +
  "<body>Wherefore art thou, Roméo? 😀 &amp; &lt;3 &#x263A;</body>" +
  "<thread>e0ffe42b</thread><active xmlns='http://jabber.org/protocol/chatstates'/></message>" +
  "  \n\t<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>" +
  "<presence><status><![CDATA[a <b>]]> and more</status></presence>" +
  "</stream:stream>";

describe("XmppStreamParser: stream header and stanzas", () => {
  it("reports the header's name, namespaces and plain attributes; the XML declaration is allowed", () => {
    const { events } = collector().feed(HEADER);
    assert.deepEqual(events, [
      {
        type: "start",
        name: "stream",
        ns: NS_STREAM,
        contentNs: NS_CLIENT,
        attrs: { to: "example.com", version: "1.0", "xml:lang": "en" },
      },
    ]);
  });

  it("reports contentNs as empty when the header declares no default namespace", () => {
    const { events } = collector().feed("<stream:stream xmlns:stream='http://etherx.jabber.org/streams'>");
    assert.equal(events[0]?.type === "start" && events[0].contentNs, "");
  });

  it("turns each top-level element into an Element with resolved namespaces and merged text", () => {
    const c = collector().feed(SAMPLE);
    const [message, iq, presence] = c.stanzas();
    assert.deepEqual(
      message,
      xml(
        "message",
        NS_CLIENT,
        { to: "juliet@example.com/balcony", type: "chat", id: "m1", "xml:lang": "fr" },
        xml("body", NS_CLIENT, {}, "Wherefore art thou, Roméo? 😀 & <3 ☺"),
        xml("thread", NS_CLIENT, {}, "e0ffe42b"),
        xml("active", "http://jabber.org/protocol/chatstates"),
      ),
    );
    assert.deepEqual(iq, xml("iq", NS_CLIENT, { type: "get", id: "p1" }, xml("ping", "urn:xmpp:ping")));
    assert.deepEqual(presence, xml("presence", NS_CLIENT, {}, xml("status", NS_CLIENT, {}, "a <b> and more")));
    assert.deepEqual(c.events.at(-1), { type: "end" });
    assert.equal(c.events.length, 5);
  });

  it("keeps xmlns:prefix declarations so prefixed attributes re-serialise, including ones declared on the header", () => {
    const c = collector().feed(
      "<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' xmlns:db='jabber:server:dialback'>",
      "<db:result from='a.example' to='b.example' db:type='valid'/>",
      "<message><x xmlns:p='urn:p' p:a='1'><p:y p:b='2'/></x></message>",
    );
    const [result, message] = c.stanzas();
    assert.deepEqual(
      result,
      xml("result", "jabber:server:dialback", {
        from: "a.example",
        to: "b.example",
        "db:type": "valid",
        "xmlns:db": "jabber:server:dialback",
      }),
    );
    assert.equal(
      result?.toString("jabber:server"),
      `<result xmlns="jabber:server:dialback" from="a.example" to="b.example" db:type="valid" xmlns:db="jabber:server:dialback"/>`,
    );
    assert.deepEqual(
      message,
      xml(
        "message",
        "jabber:server",
        {},
        xml("x", "jabber:server", { "xmlns:p": "urn:p", "p:a": "1" }, xml("y", "urn:p", { "p:b": "2" })),
      ),
    );
  });

  it("round-trips: parsing a serialised element gives the element back", () => {
    const samples = [
      xml("message", NS_CLIENT, { to: "a@b/c", "xml:lang": "de" }, xml("body", NS_CLIENT, {}, `<&>"' \t\n`)),
      xml(
        "iq",
        NS_CLIENT,
        { type: "set", id: "x\"y'z" },
        xml(
          "query",
          "jabber:iq:roster",
          { ver: "" },
          xml("item", "jabber:iq:roster", { jid: "r@x" }, xml("group", "jabber:iq:roster", {}, "Friends")),
        ),
      ),
      xml(
        "presence",
        NS_CLIENT,
        {},
        xml("x", "urn:a", { "xmlns:b": "urn:b", "b:c": "d" }, xml("y", "", {}, "no namespace"), "tail 😀"),
      ),
      xml(
        "features",
        NS_STREAM,
        {},
        xml("starttls", "urn:ietf:params:xml:ns:xmpp-tls", {}, xml("required", "urn:ietf:params:xml:ns:xmpp-tls")),
      ),
    ];
    const c = collector().feed(OPEN, ...samples.map((el) => el.toString(NS_CLIENT)));
    assert.deepEqual(c.stanzas(), samples);
    assert.deepEqual(c.errors(), []);
  });

  it("produces no event for whitespace keepalives, even more of them than the stanza cap", () => {
    const c = collector({ maxStanzaBytes: 64, maxDepth: 4 }).feed(OPEN, "<iq/>\n");
    for (let i = 0; i < 500; i++) c.feed(" ");
    c.feed("\n\t<presence/>");
    for (let i = 0; i < 500; i++) c.feed("\r\n");
    c.feed("<message/>");
    assert.deepEqual(c.errors(), []);
    assert.deepEqual(
      c.stanzas().map((el) => el.name),
      ["iq", "presence", "message"],
    );
    assert.equal(c.events.length, 4);
  });

  it("rejects character data other than whitespace between stanzas", () => {
    assert.equal(errorOf(`${OPEN}<iq/>hello<iq/>`), "bad-format");
    assert.equal(errorOf(`${OPEN}<![CDATA[ ]]>`), "bad-format");
  });

  it("gives the same events whatever the chunking: byte by byte and every two-piece split", () => {
    const whole = collector().feed(SAMPLE).events;
    assert.equal(whole.length, 5);
    const bytes = Buffer.from(SAMPLE);
    const byByte = collector();
    for (let i = 0; i < bytes.length; i++) byByte.feed(bytes.subarray(i, i + 1));
    assert.deepEqual(byByte.events, whole);
    for (let cut = 1; cut < bytes.length; cut++) {
      const split = collector().feed(bytes.subarray(0, cut), bytes.subarray(cut));
      assert.deepEqual(split.events, whole, `split at byte ${cut}`);
    }
  });
});

describe("XmppStreamParser: end of stream", () => {
  it("reports </stream:stream> once and ignores text and elements after it, in the same chunk and later", () => {
    const c = collector().feed(`${OPEN}<iq/></stream:stream>junk<message/><!-- c -->`, "<iq/>more");
    assert.deepEqual(
      c.events.map((e) => e.type),
      ["start", "stanza", "end"],
    );
  });

  it("reports a self-closing stream header as start then end", () => {
    const c = collector().feed("<stream:stream xmlns:stream='http://etherx.jabber.org/streams'/>");
    assert.deepEqual(
      c.events.map((e) => e.type),
      ["start", "end"],
    );
  });

  it("reports nothing after end()", () => {
    const c = collector().feed(OPEN);
    c.parser.end();
    c.feed("<iq/>");
    assert.deepEqual(
      c.events.map((e) => e.type),
      ["start"],
    );
  });
});

describe("XmppStreamParser: errors", () => {
  it("is fatal: one error, then further input is ignored", () => {
    const c = collector().feed(`${OPEN}<iq><</iq>`, "<message/>", "</stream:stream>");
    assert.deepEqual(
      c.events.map((e) => e.type),
      ["start", "error"],
    );
    assert.deepEqual(c.errors(), ["not-well-formed"]);
  });

  it("does not deliver a stanza closed by a mismatched end tag", () => {
    const c = collector().feed(`${OPEN}<message><body>hi</message>`);
    assert.deepEqual(c.stanzas(), []);
    assert.deepEqual(c.errors(), ["not-well-formed"]);
    assert.equal(errorOf(`${OPEN}<message>hi</body>`), "not-well-formed");
    assert.equal(errorOf(`${OPEN}</stream:features>`), "not-well-formed");
  });

  it("maps saxes well-formedness errors to not-well-formed", () => {
    assert.equal(errorOf(`${OPEN}<iq a='1' a='2'/>`), "not-well-formed");
    assert.equal(errorOf(`${OPEN}<iq a=1/>`), "not-well-formed");
    assert.equal(errorOf(`${OPEN}<message><body>]]></body></message>`), "not-well-formed");
    assert.equal(errorOf(`${OPEN}<message>&#0;</message>`), "not-well-formed");
    assert.equal(errorOf(`${OPEN}<message>\u0001</message>`), "not-well-formed");
    assert.equal(errorOf("text before the root"), "not-well-formed");
  });

  it("rejects a root that is not <stream> in the streams namespace (RFC 6120 §4.9.3.10)", () => {
    assert.equal(errorOf("<stream:stream xmlns:stream='http://example.com/wrong'>"), "invalid-namespace");
    assert.equal(errorOf("<stream xmlns='jabber:client'>"), "invalid-namespace");
    assert.equal(errorOf("<stream:foo xmlns:stream='http://etherx.jabber.org/streams'>"), "invalid-namespace");
  });

  it("rejects an unbound prefix (RFC 6120 §4.9.3.2)", () => {
    assert.equal(errorOf("<stream:stream xmlns='jabber:client'>"), "bad-namespace-prefix");
    assert.equal(errorOf(`${OPEN}<foo:message/>`), "bad-namespace-prefix");
    assert.equal(errorOf(`${OPEN}<message foo:bar='1'/>`), "bad-namespace-prefix");
  });

  it("lets a StreamError thrown by an event handler end the stream without throwing from write()", () => {
    const errors: StreamError[] = [];
    const parser = new XmppStreamParser(
      {
        streamStart() {},
        stanza() {
          throw new StreamError("unsupported-stanza-type");
        },
        streamEnd() {},
        error: (err) => errors.push(err),
      },
      LIMITS,
    );
    parser.write(Buffer.from(`${OPEN}<foo/><bar/>`));
    assert.deepEqual(
      errors.map((e) => e.condition),
      ["unsupported-stanza-type"],
    );
  });
});

describe("XmppStreamParser: restricted XML (RFC 6120 §11.1)", () => {
  // [what, stream, stanzas legitimately delivered before the fault]
  const cases: [string, string, number][] = [
    ["a comment before the header", `<!-- hi -->${OPEN}`, 0],
    ["a comment between stanzas", `${OPEN}<iq/><!-- hi --><iq/>`, 1],
    ["a comment inside a stanza", `${OPEN}<message><!-- hi --></message>`, 0],
    ["a processing instruction before the header", `<?foo bar?>${OPEN}`, 0],
    ["a processing instruction between stanzas", `${OPEN}<?foo bar?><iq/>`, 0],
    ["a processing instruction inside a stanza", `${OPEN}<message><?foo bar?></message>`, 0],
    ["a DOCTYPE before the header", `<!DOCTYPE stream>${OPEN}`, 0],
    ["a DOCTYPE with an internal subset", `<!DOCTYPE s [<!ENTITY x "y">]>${OPEN}`, 0],
    ["a DOCTYPE inside a stanza", `${OPEN}<message><!DOCTYPE x></message>`, 0],
    ["an XML declaration that is not at the very start", `${OPEN}<message><?xml version='1.0'?></message>`, 0],
    ["an undefined entity in text", `${OPEN}<message>&nbsp;</message>`, 0],
    ["an undefined entity in an attribute", `${OPEN}<message to='&lol;'/>`, 0],
  ];
  for (const [label, text, before] of cases) {
    it(`rejects ${label}`, () => {
      const c = collector().feed(text);
      assert.deepEqual(c.errors(), ["restricted-xml"]);
      assert.equal(c.stanzas().length, before);
    });
  }

  it("accepts the five predefined entities and character references", () => {
    const [el] = collector().feed(`${OPEN}<message a='&quot;&apos;'>&amp;&lt;&gt;&#65;&#x42;</message>`).stanzas();
    assert.deepEqual(el, xml("message", NS_CLIENT, { a: `"'` }, "&<>AB"));
  });

  it("rejects an XML declaration naming another encoding (RFC 6120 §11.6)", () => {
    assert.equal(errorOf(`<?xml version='1.0' encoding='ISO-8859-1'?>${OPEN}`), "unsupported-encoding");
    assert.equal(errorOf(`<?xml version='1.0' encoding='UTF-8'?>${OPEN}`), undefined);
  });

  it("sees `?>` and `-->` split across chunks", () => {
    assert.deepEqual(collector().feed(`${OPEN}<message><?foo bar?`, ">", "</message>").errors(), ["restricted-xml"]);
    assert.deepEqual(collector().feed(`${OPEN}<message><!-- x --`, ">", "</message>").errors(), ["restricted-xml"]);
    assert.deepEqual(collector().feed(`${OPEN}<message><!-- x -`, "->", "</message>").errors(), ["restricted-xml"]);
    const decl = collector().feed("<?xml version='1.0'?", `>${OPEN}<iq/>`);
    assert.deepEqual(
      decl.events.map((e) => e.type),
      ["start", "stanza"],
    );
  });
});

describe("XmppStreamParser: size and depth caps", () => {
  const MAX = 1000;
  const limits = { maxStanzaBytes: MAX, maxDepth: 4 };
  /** A stanza of exactly `bytes` UTF-8 bytes, padded with `pad` in the given place. */
  function stanzaOf(bytes: number, place: "text" | "attr", pad = "a"): string {
    const shell = place === "text" ? "<message><body></body></message>" : "<message to=''/>";
    const count = (bytes - Buffer.byteLength(shell)) / Buffer.byteLength(pad);
    assert.ok(Number.isInteger(count));
    const fill = pad.repeat(count);
    const s = place === "text" ? `<message><body>${fill}</body></message>` : `<message to='${fill}'/>`;
    assert.equal(Buffer.byteLength(s), bytes);
    return s;
  }

  for (const place of ["text", "attr"] as const) {
    for (const pad of ["a", "é", "😀"]) {
      it(`passes a stanza of exactly the cap and rejects one byte more (huge ${place}, "${pad}")`, () => {
        // Pick sizes the padding divides evenly; then "over" is the smallest stanza above the cap.
        const shell = Buffer.byteLength(place === "text" ? "<message><body></body></message>" : "<message to=''/>");
        const unit = Buffer.byteLength(pad);
        const under = shell + Math.floor((MAX - shell) / unit) * unit;
        const over = under + unit;
        assert.ok(under <= MAX && over > MAX);
        const ok = collector(limits).feed(OPEN, stanzaOf(under, place, pad), stanzaOf(under, place, pad));
        assert.deepEqual(ok.errors(), []);
        assert.equal(ok.stanzas().length, 2);
        const bad = collector(limits).feed(OPEN, stanzaOf(over, place, pad));
        assert.deepEqual(bad.errors(), ["policy-violation"]);
        assert.deepEqual(bad.stanzas(), []);
      });
    }
  }

  it("measures each stanza on its own when several share one chunk", () => {
    const s = stanzaOf(MAX, "text");
    const c = collector(limits).feed(`${OPEN}\n${s}${s} ${s}\n`);
    assert.deepEqual(c.errors(), []);
    assert.equal(c.stanzas().length, 3);
    assert.deepEqual(
      collector(limits)
        .feed(`${OPEN}${s}${stanzaOf(MAX + 1, "text")}`)
        .errors(),
      ["policy-violation"],
    );
    // Multi-byte text before and between stanzas must not shift where each one starts.
    const wide = stanzaOf(1000, "text", "é");
    const mixed = collector(limits).feed(`${OPEN}${wide}\n${wide}${wide}`);
    assert.deepEqual(mixed.errors(), []);
    assert.equal(mixed.stanzas().length, 3);
    assert.deepEqual(
      collector(limits)
        .feed(`${OPEN}${wide}${stanzaOf(1002, "text", "é")}`)
        .errors(),
      ["policy-violation"],
    );
  });

  it("stops an unfinished stanza as soon as it passes the cap, without waiting for its end", () => {
    const c = collector(limits).feed(OPEN, "<message><body>");
    // 15 bytes of tags + 900 of text: under the cap, and no end tag in sight.
    for (let i = 0; i < 9; i++) c.feed("a".repeat(100));
    assert.deepEqual(c.errors(), []);
    c.feed("a".repeat(100));
    assert.deepEqual(c.errors(), ["policy-violation"]);
  });

  it("caps the stream header itself", () => {
    assert.equal(
      errorOf(`<stream:stream xmlns:stream='http://etherx.jabber.org/streams' to='${"a".repeat(MAX)}'`, limits),
      "policy-violation",
    );
  });

  it("accepts nesting at the depth cap and rejects one level more", () => {
    assert.deepEqual(collector(limits).feed(`${OPEN}<a><b><c><d/></c></b></a>`).errors(), []);
    assert.deepEqual(collector(limits).feed(`${OPEN}<a><b><c><d><e/></d></c></b></a>`).errors(), ["policy-violation"]);
    assert.equal(errorOf(`${OPEN}${"<a>".repeat(100000)}`, limits), "policy-violation");
  });
});

describe("XmppStreamParser: UTF-8", () => {
  const invalid: [string, number[]][] = [
    ["a lone continuation byte", [0x80]],
    ["an overlong encoding of '/'", [0xc0, 0xaf]],
    ["an overlong 3-byte NUL", [0xe0, 0x80, 0x80]],
    ["an encoded high surrogate", [0xed, 0xa0, 0x80]],
    ["an encoded low surrogate", [0xed, 0xb0, 0x80]],
    ["a code point above U+10FFFF", [0xf4, 0x90, 0x80, 0x80]],
    ["a truncated sequence followed by ASCII", [0xe2, 0x82, 0x41]],
    ["byte 0xFF", [0xff]],
  ];
  for (const [label, bytes] of invalid) {
    it(`rejects ${label} with unsupported-encoding (RFC 6120 §4.9.3.22)`, () => {
      const c = collector().feed(OPEN, "<message><body>x", Buffer.from(bytes), "y</body></message>");
      assert.deepEqual(c.errors(), ["unsupported-encoding"]);
      assert.deepEqual(c.stanzas(), []);
    });
  }

  it("reassembles a 4-byte character split across 4 chunks", () => {
    const emoji = Buffer.from("😀");
    assert.equal(emoji.length, 4);
    const c = collector().feed(
      OPEN,
      "<message><body>",
      ...[0, 1, 2, 3].map((i) => emoji.subarray(i, i + 1)),
      "</body></message>",
    );
    assert.deepEqual(c.stanzas(), [xml("message", NS_CLIENT, {}, xml("body", NS_CLIENT, {}, "😀"))]);
  });
});

describe("parseFramedElement (RFC 7395)", () => {
  const FRAMING = "urn:ietf:params:xml:ns:xmpp-framing";

  it("parses <open/> in the framing namespace", () => {
    const el = parseFramedElement(
      `<open xmlns="${FRAMING}" to="example.com" version="1.0" xml:lang="en"/>`,
      LIMITS,
      NS_CLIENT,
    );
    assert.deepEqual(el, xml("open", FRAMING, { to: "example.com", version: "1.0", "xml:lang": "en" }));
  });

  it("parses a message, applying the default namespace only where none is declared", () => {
    const bare = parseFramedElement("<message to='a@b'><body>hi</body></message>", LIMITS, NS_CLIENT);
    assert.deepEqual(bare, xml("message", NS_CLIENT, { to: "a@b" }, xml("body", NS_CLIENT, {}, "hi")));
    const declared = parseFramedElement(
      "\n<message xmlns='jabber:server'><x xmlns='urn:x'/></message> ",
      LIMITS,
      NS_CLIENT,
    );
    assert.deepEqual(declared, xml("message", "jabber:server", {}, xml("x", "urn:x")));
  });

  function conditionOf(text: string, limits = LIMITS): string {
    try {
      parseFramedElement(text, limits, NS_CLIENT);
    } catch (err) {
      assert.ok(err instanceof StreamError);
      return err.condition;
    }
    return "none";
  }

  it("rejects anything but exactly one complete element", () => {
    assert.equal(conditionOf("<iq/><iq/>"), "not-well-formed");
    assert.equal(conditionOf("<message>"), "not-well-formed");
    assert.equal(conditionOf(""), "not-well-formed");
    assert.equal(conditionOf("hi <iq/>"), "bad-format");
  });

  it("applies the XMPP restrictions and caps", () => {
    assert.equal(conditionOf("<message><!-- c --></message>"), "restricted-xml");
    assert.equal(conditionOf("<message>&foo;</message>"), "restricted-xml");
    assert.equal(conditionOf("<p:message/>"), "bad-namespace-prefix");
    assert.equal(conditionOf("<a><b><c/></b></a>", { maxStanzaBytes: 100, maxDepth: 2 }), "policy-violation");
    assert.equal(
      conditionOf(`<message>${"é".repeat(50)}</message>`, { maxStanzaBytes: 100, maxDepth: 2 }),
      "policy-violation",
    );
    assert.equal(conditionOf(`<message>${"a".repeat(81)}</message>`, { maxStanzaBytes: 100, maxDepth: 2 }), "none");
  });
});

describe("FramedElementParser: one parser for a WebSocket stream's messages", () => {
  const condition = (parser: FramedElementParser, text: string, limits = LIMITS): string => {
    try {
      parser.parse(text, limits);
    } catch (err) {
      assert.ok(err instanceof StreamError);
      return err.condition;
    }
    return "none";
  };

  it("parses message after message, nothing of one carrying into the next", () => {
    const parser = new FramedElementParser(NS_CLIENT);
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(parser.parse(`<message id='m${i}'><body>${i}</body></message>`, LIMITS), xml("message", NS_CLIENT, { id: `m${i}` }, xml("body", NS_CLIENT, {}, `${i}`)));
    }
    // A prefix declared in one message is not declared in the next.
    assert.deepEqual(parser.parse("<iq xmlns:p='urn:p'><p:q/></iq>", LIMITS), xml("iq", NS_CLIENT, { "xmlns:p": "urn:p" }, xml("q", "urn:p")));
    assert.equal(condition(parser, "<iq><p:q/></iq>"), "bad-namespace-prefix");
  });

  it("after a message that fails (half an element, two elements, a cap), the next one parses whole", () => {
    const parser = new FramedElementParser(NS_CLIENT);
    assert.equal(condition(parser, "<message><body>"), "not-well-formed");
    assert.deepEqual(parser.parse("<presence/>", LIMITS), xml("presence", NS_CLIENT));
    assert.equal(condition(parser, "<iq/><iq/>"), "not-well-formed");
    assert.equal(condition(parser, "<a><b><c/></b></a>", { maxStanzaBytes: 100, maxDepth: 2 }), "policy-violation");
    // The limits are the ones of each call (they change when the stream authenticates).
    assert.deepEqual(parser.parse("<a><b><c/></b></a>", LIMITS), xml("a", NS_CLIENT, {}, xml("b", NS_CLIENT, {}, xml("c", NS_CLIENT))));
  });

  it("refuses a message that ends inside a second element or tag, and one element split over two messages", () => {
    const parser = new FramedElementParser(NS_CLIENT);
    assert.equal(condition(parser, "<presence/><mess"), "not-well-formed");
    assert.equal(condition(parser, "<presence/>text"), "not-well-formed");
    assert.equal(condition(parser, "<message to='a@b'>"), "not-well-formed");
    assert.equal(condition(parser, "</message>"), "not-well-formed");
    // Whitespace around the element is fine, message after message.
    assert.deepEqual(parser.parse("  <presence/>\n", LIMITS), xml("presence", NS_CLIENT));
    assert.deepEqual(parser.parse("\n<presence type='unavailable'/> ", LIMITS), xml("presence", NS_CLIENT, { type: "unavailable" }));
  });

  it("reads a message that opens with an XML declaration, unless it declares another encoding than UTF-8", () => {
    const parser = new FramedElementParser(NS_CLIENT);
    assert.deepEqual(parser.parse("<?xml version='1.0'?><presence/>", LIMITS), xml("presence", NS_CLIENT));
    assert.deepEqual(parser.parse("<?xml version='1.0' encoding='UTF-8'?><presence/>", LIMITS), xml("presence", NS_CLIENT));
    assert.equal(condition(parser, "<?xml version='1.0' encoding='ISO-8859-1'?><presence/>"), "unsupported-encoding");
  });
});

describe("element and attribute caps (issue 11: memory bounded before the tree grows)", () => {
  // The header has 5 attributes: within the cap.
  const capped: StreamParserLimits = { maxStanzaBytes: 64 * 1024, maxDepth: 16, maxElements: 5, maxAttributes: 8 };
  const attrs = (n: number) => Array.from({ length: n }, (_, i) => ` a${i}='${i}'`).join("");
  const withChildren = (n: number) => `<message><body>x</body>${"<a/>".repeat(n)}</message>`;

  it("counts every element of a stanza, itself included: 5 pass, 6 are a policy-violation", () => {
    assert.equal(errorOf(HEADER + withChildren(3), capped), undefined);
    assert.equal(errorOf(HEADER + withChildren(4), capped), "policy-violation");
  });

  it("counts per stanza, not per stream", () => {
    const c = collector(capped).feed(HEADER, withChildren(3), withChildren(3), withChildren(3));
    assert.deepEqual(c.errors(), []);
    assert.equal(c.stanzas().length, 3);
  });

  it("stops an unfinished stanza at the cap, before it completes", () => {
    assert.equal(errorOf(`${HEADER}<message>${"<a/>".repeat(5)}`, capped), "policy-violation");
  });

  it("counts attributes per element, namespace declarations included: 8 pass, 9 are a policy-violation", () => {
    assert.equal(errorOf(`${HEADER}<message${attrs(8)}/>`, capped), undefined);
    assert.equal(errorOf(`${HEADER}<message xmlns='jabber:client'${attrs(7)}/>`, capped), undefined);
    assert.equal(errorOf(`${HEADER}<message${attrs(9)}/>`, capped), "policy-violation");
    assert.equal(errorOf(`${HEADER}<message><x xmlns='urn:x'${attrs(8)}/></message>`, capped), "policy-violation");
    // The stream header too.
    assert.equal(errorOf(`<stream:stream xmlns='jabber:client' xmlns:stream='${NS_STREAM}'${attrs(7)}>`, capped), "policy-violation");
  });

  it("setLimits switches from the next byte on (pre-auth limits, then the normal ones)", () => {
    const small: StreamParserLimits = { maxStanzaBytes: 100, maxDepth: 16, maxElements: 2 };
    const c = collector(small).feed(HEADER, "<auth>abc</auth>");
    c.parser.setLimits(LIMITS);
    c.feed(`<message><body>${"y".repeat(1000)}</body><a/><b/></message>`);
    assert.deepEqual(c.errors(), []);
    assert.equal(c.stanzas().length, 2);
    assert.equal(errorOf(`${HEADER}<message><body>${"y".repeat(1000)}</body></message>`, small), "policy-violation");
  });
});

describe("XmppStreamParser: release() between stanzas (an idle stream keeps no saxes parser)", () => {
  it("reads on after a release as if nothing happened, namespaces of the header included", () => {
    const header =
      "<s:stream xmlns:s='http://etherx.jabber.org/streams' xmlns='jabber:client' xmlns:x='urn:example:x' to='example.com' version='1.0'>";
    const c = collector().feed(header, "<message id='1'/>  ");
    assert.equal(c.parser.release(), true);
    c.feed(" \n"); // a keepalive needs no parser
    assert.equal(c.parser.release(), true);
    c.feed("<message id='2' x:a='v'><x:y/></message>");
    assert.equal(c.parser.release(), true);
    c.feed("<iq type='get' id='3'><ping xmlns='urn:xmpp:ping'/></iq></s:stream>");
    assert.deepEqual(c.errors(), []);
    assert.deepEqual(c.stanzas(), [
      xml("message", NS_CLIENT, { id: "1" }),
      xml("message", NS_CLIENT, { id: "2", "x:a": "v", "xmlns:x": "urn:example:x" }, xml("y", "urn:example:x")),
      xml("iq", NS_CLIENT, { type: "get", id: "3" }, xml("ping", "urn:xmpp:ping")),
    ]);
    assert.deepEqual(c.events.at(-1), { type: "end" });
    assert.equal(c.events.filter((e) => e.type === "start").length, 1);
  });

  it("keeps the parser inside a stanza or a split code point, and before the header", () => {
    const c = collector();
    assert.equal(c.parser.release(), false);
    c.feed(OPEN, "<message><body>");
    assert.equal(c.parser.release(), false);
    const emoji = Buffer.from("😀");
    c.feed("x</body></message>", emoji.subarray(0, 1));
    assert.equal(c.parser.release(), false);
    c.feed(emoji.subarray(1));
    assert.equal(c.parser.release(), false); // character data outside a stanza, refused once the next tag comes
    c.feed("<presence/>");
    assert.deepEqual(c.errors(), ["bad-format"]);
  });

  it("still counts a stanza's bytes from its start and refuses one over the cap after a release", () => {
    const limits = { maxStanzaBytes: 100, maxDepth: 4 };
    const ok = collector(limits).feed(OPEN, `<message>${"a".repeat(80)}</message>`);
    assert.equal(ok.parser.release(), true);
    ok.feed(`<message>${"é".repeat(40)}</message>`);
    assert.deepEqual(ok.errors(), []);
    assert.equal(ok.parser.release(), true);
    ok.feed(`<message>${"é".repeat(41)}</message>`);
    assert.deepEqual(ok.errors(), ["policy-violation"]);
  });

  it("reports errors of the input after a release as before it (restricted XML, a wrong closing tag)", () => {
    const c = collector().feed(OPEN, "<presence/>");
    c.parser.release();
    c.feed("<!-- no -->");
    assert.deepEqual(c.errors(), ["restricted-xml"]);
    const d = collector().feed(OPEN, "<presence/>");
    d.parser.release();
    d.feed("<message></body>");
    assert.deepEqual(d.errors(), ["not-well-formed"]);
  });

  it("drops a byte order mark before the header, as the stream's UTF-8 decoding always did", () => {
    const c = collector().feed(Buffer.from([0xef, 0xbb]), Buffer.concat([Buffer.from([0xbf]), Buffer.from(`${OPEN}<presence/>`)]));
    assert.deepEqual(c.errors(), []);
    assert.equal(c.stanzas().length, 1);
  });
});
