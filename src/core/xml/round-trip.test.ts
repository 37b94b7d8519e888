// Stanzas must serialise (Element.toString) to XML that parses back to the same tree: what a recipient reads is
// what the sender wrote. Inputs found by the stream-parser fuzz target (fuzz/targets/stream-parser.ts).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Element } from "./element.js";
import { NS_STREAM } from "./ns.js";
import { XmppStreamParser } from "./stream-parser.js";

const HEADER = `<stream:stream xmlns='jabber:client' xmlns:stream='${NS_STREAM}'>`;

function stanzasOf(text: string): Element[] {
  const out: Element[] = [];
  const parser = new XmppStreamParser(
    {
      streamStart() {},
      stanza: (el) => out.push(el),
      streamEnd() {},
      error: (err) => assert.fail(`${err.condition}: ${err.message}`),
    },
    { maxStanzaBytes: 65536, maxDepth: 16 },
  );
  parser.write(Buffer.from(HEADER + text));
  return out;
}

function assertRoundTrip(text: string): void {
  const [el] = stanzasOf(text);
  assert.ok(el);
  const serialised = el.toString("jabber:client");
  const [back] = stanzasOf(serialised);
  assert.deepEqual(back, el, `${text} was written as ${serialised}`);
}

describe("stanza round trip through Element.toString", () => {
  it("keeps an element in the streams namespace where a stanza binds the stream prefix to another namespace", () => {
    assertRoundTrip(`<message xmlns:stream='urn:other'><x xmlns='${NS_STREAM}'/></message>`);
    assertRoundTrip(`<message><x xmlns='${NS_STREAM}' xmlns:stream='urn:other'><y/></x></message>`);
    assertRoundTrip(`<message xmlns:stream='urn:other'><x xmlns='${NS_STREAM}'><stream:y/><z xmlns=''/></x></message>`);
  });

  it("still writes stream-level elements with the stream prefix", () => {
    const [el] = stanzasOf(`<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>`);
    assert.equal(
      el?.toString("jabber:client"),
      `<stream:features><bind xmlns="urn:ietf:params:xml:ns:xmpp-bind"/></stream:features>`,
    );
  });
});
