// parseFramedElement (RFC 7395 WebSocket framing, src/core/xml/stream-parser.ts) on arbitrary text messages.
// Invariants: it returns one Element or throws a StreamError, nothing else; the element serialises to XML that
// parses back to the same tree. The text is what ws hands over for a text frame: valid UTF-8, decoded.
import { StreamError } from "../../src/core/errors.js";
import { NS_CLIENT } from "../../src/core/xml/ns.js";
import type { StreamParserLimits } from "../../src/core/xml/stream-parser.js";
import { parseFramedElement } from "../../src/core/xml/stream-parser.js";
import type { FuzzTarget } from "../engine/fuzz-loop.js";
import { check, describeTree, expectOnly, sameTree } from "./check.js";

const LIMITS: StreamParserLimits = { maxStanzaBytes: 1024, maxDepth: 6 };
const ROUND_TRIP_LIMITS: StreamParserLimits = { maxStanzaBytes: 1 << 20, maxDepth: 6 };

export const framedElementTarget: FuzzTarget = {
  name: "framed-element",
  covers: ["/src/core/xml/", "/saxes/"],
  maxLength: 2048,
  dictionary: [
    "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='example.com' version='1.0'/>",
    "<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>",
    "xmlns='jabber:client'",
    "xmlns=''",
    "xmlns:x='urn:x'",
    "xmlns:stream='urn:x'",
    "xmlns='http://etherx.jabber.org/streams'",
    "<stream:x/>",
    " x:a='1'",
    "<x:y/>",
    "xmlns:stream='http://etherx.jabber.org/streams'",
    "<stream:error>",
    "<message>",
    "</message>",
    "<body>",
    "</body>",
    "/>",
    "<![CDATA[",
    "]]>",
    "<!-- c -->",
    "<?xml version='1.0'?>",
    "<!DOCTYPE x>",
    "&amp;",
    "&#x1F600;",
    "&#xFFFE;",
    " xml:lang='en'",
    " a='",
    '" b="',
  ],
  run(data) {
    const text = data.toString("utf8");
    let el: ReturnType<typeof parseFramedElement>;
    try {
      el = parseFramedElement(text, LIMITS, NS_CLIENT);
    } catch (err) {
      expectOnly(err, StreamError);
      return;
    }
    const serialised = el.toString(NS_CLIENT);
    let back: ReturnType<typeof parseFramedElement>;
    try {
      back = parseFramedElement(serialised, ROUND_TRIP_LIMITS, NS_CLIENT);
    } catch (err) {
      throw new Error(`serialised element does not parse (${(err as Error).message}): ${serialised}`);
    }
    check(
      sameTree(el, back),
      `round trip changed the element:\n${describeTree(el)}\n${serialised}\n${describeTree(back)}`,
    );
  },
};
