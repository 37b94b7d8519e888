// XmppStreamParser (src/core/xml/stream-parser.ts) on arbitrary bytes cut into arbitrary chunks.
// Invariants: write() never throws; at most one error and nothing after the error or the stream end; how the
// bytes are chunked changes nothing for a valid stream; every stanza serialises (Element.toString) to XML that
// parses back to the same tree.
// Input: byte 0 seeds the chunking, the rest is the stream.
import type { Element } from "../../src/core/xml/element.js";
import { escapeAttr } from "../../src/core/xml/element.js";
import { NS_STREAM } from "../../src/core/xml/ns.js";
import type { StreamParserLimits } from "../../src/core/xml/stream-parser.js";
import { XmppStreamParser } from "../../src/core/xml/stream-parser.js";
import type { FuzzTarget } from "../engine/fuzz-loop.js";
import { Prng } from "../engine/prng.js";
import { check, describeTree, sameTree } from "./check.js";

// Small limits so the fuzzer reaches them; the round trip gets room for escaping that grows the text.
const LIMITS: StreamParserLimits = { maxStanzaBytes: 1024, maxDepth: 6 };
const ROUND_TRIP_LIMITS: StreamParserLimits = { maxStanzaBytes: 1 << 20, maxDepth: 6 };

interface Outcome {
  contentNs: string | undefined;
  stanzas: Element[];
  ended: boolean;
  error: string | undefined;
}

export function parseStream(chunks: Buffer[], limits = LIMITS): Outcome {
  const out: Outcome = { contentNs: undefined, stanzas: [], ended: false, error: undefined };
  let finished = false;
  const after = (what: string) =>
    check(!finished, `${what} reported after the stream was over (${out.error ?? "end"})`);
  const parser = new XmppStreamParser(
    {
      streamStart(_name, _ns, contentNs) {
        after("stream header");
        check(out.contentNs === undefined, "two stream headers");
        out.contentNs = contentNs;
      },
      stanza(el) {
        after("stanza");
        check(out.contentNs !== undefined, "stanza before the stream header");
        out.stanzas.push(el);
      },
      streamEnd() {
        after("stream end");
        out.ended = finished = true;
      },
      error(err) {
        after(`error ${err.condition}`);
        out.error = err.condition;
        finished = true;
      },
    },
    limits,
  );
  for (const chunk of chunks) parser.write(chunk); // a throw here is itself a finding
  return out;
}

/** 1–8 random cuts, or (1 in 8) one byte at a time for short inputs. */
function chunked(data: Buffer, seed: number): Buffer[] {
  const rng = new Prng(seed * 2654435761 + 1);
  if (seed % 8 === 0 && data.length <= 512) return [...data].map((b) => Buffer.from([b]));
  const cuts = new Set<number>();
  const n = 1 + rng.below(8);
  for (let i = 0; i < n; i++) cuts.add(rng.below(data.length + 1));
  const sorted = [...cuts].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const cut of [...sorted, data.length]) {
    chunks.push(data.subarray(from, cut));
    from = cut;
  }
  return chunks;
}

function roundTrip(el: Element, contentNs: string): void {
  const text = el.toString(contentNs);
  const header = `<stream:stream xmlns='${escapeAttr(contentNs)}' xmlns:stream='${NS_STREAM}'>`;
  const again = parseStream([Buffer.from(header + text)], ROUND_TRIP_LIMITS);
  check(again.error === undefined, `serialised stanza does not parse (${again.error}): ${text}`);
  check(again.stanzas.length === 1, `serialised stanza parses to ${again.stanzas.length} stanzas: ${text}`);
  const back = again.stanzas[0] as Element;
  check(sameTree(el, back), `round trip changed the stanza:\n${describeTree(el)}\n${text}\n${describeTree(back)}`);
}

export const streamParserTarget: FuzzTarget = {
  name: "stream-parser",
  covers: ["/src/core/xml/", "/saxes/"],
  maxLength: 2048,
  dictionary: [
    "<?xml version='1.0'?>",
    "<?xml version='1.0' encoding='UTF-16'?>",
    "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>",
    "</stream:stream>",
    "xmlns:stream='http://etherx.jabber.org/streams'",
    "<stream:features/>",
    "xmlns='jabber:client'",
    "xmlns=''",
    "xmlns='urn:x'",
    "xmlns:x='urn:x'",
    "xmlns:stream='urn:x'",
    "xmlns='http://etherx.jabber.org/streams'",
    "<stream:x/>",
    " x:a='1'",
    "<x:y",
    "</x:y>",
    " xml:lang='en'",
    "<message to='a@b/c' type='chat'>",
    "</message>",
    "<iq type='get' id='1'>",
    "</iq>",
    "<presence/>",
    "<body>",
    "</body>",
    "/>",
    "<![CDATA[",
    "]]>",
    "<!-- c -->",
    "<?pi x?>",
    "<!DOCTYPE x>",
    "&amp;",
    "&lt;",
    "&gt;",
    "&quot;",
    "&apos;",
    "&#x1F600;",
    "&#0;",
    "&#xD800;",
    "&nbsp;",
    " a='",
    '" b="',
    "\r\n",
    "\t",
  ],
  run(data) {
    const seed = data[0] ?? 0;
    const stream = data.subarray(1);
    const whole = parseStream([stream]);
    const split = parseStream(chunked(stream, seed));
    if (whole.error !== undefined) return;
    check(split.error === undefined, `valid in one chunk, ${split.error} when chunked`);
    check(split.ended === whole.ended, "chunking changed whether the stream ended");
    check(split.contentNs === whole.contentNs, "chunking changed the stream header");
    check(split.stanzas.length === whole.stanzas.length, "chunking changed the number of stanzas");
    whole.stanzas.forEach((el, i) => {
      check(sameTree(el, split.stanzas[i] as Element), `chunking changed stanza ${i}`);
      roundTrip(el, whole.contentNs ?? "");
    });
  },
};
