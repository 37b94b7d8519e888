// Micro-benchmark of the XMPP stream parser: `node --import tsx bench/xml-parser.ts`.
// Prints stanzas/s for typical messages fed in 16 KiB chunks (with bare saxes as the reference
// STACK.md measured), then shows that one huge text stanza costs time linear in its size.
import { performance } from "node:perf_hooks";
import { SaxesParser } from "saxes";
import { XmppStreamParser } from "../src/core/xml/stream-parser.js";

const HEADER =
  "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='example.com' version='1.0' xml:lang='en'>";
const CHUNK = 16 * 1024;
const STANZAS = 100_000;

function message(i: number): string {
  return (
    `<message to='juliet@example.com/balcony' from='romeo@example.net/orchard' type='chat' id='m${i}'>` +
    `<body>Art thou not Romeo, and a Montague? Message number ${i} &amp; more.</body>` +
    "<active xmlns='http://jabber.org/protocol/chatstates'/></message>\n"
  );
}

function chunks(text: string): Buffer[] {
  const bytes = Buffer.from(text);
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += CHUNK) out.push(bytes.subarray(i, i + CHUNK));
  return out;
}

function runNatter(input: Buffer[], maxStanzaBytes: number): { ms: number; stanzas: number } {
  let stanzas = 0;
  const parser = new XmppStreamParser(
    {
      streamStart() {},
      stanza() {
        stanzas++;
      },
      streamEnd() {},
      error(err) {
        throw err;
      },
    },
    { maxStanzaBytes, maxDepth: 32 },
  );
  const start = performance.now();
  for (const c of input) parser.write(c);
  return { ms: performance.now() - start, stanzas };
}

/** Bare saxes with a closetag counter: the ceiling the wrapper is measured against. */
class CountingSaxes extends SaxesParser<{ xmlns: true }> {
  count = 0;
  constructor() {
    super({ xmlns: true });
    // Handlers as fields, as the wrapper does (on() is much slower).
    (this as unknown as { closeTagHandler: () => void }).closeTagHandler = () => {
      this.count++;
    };
  }
}

function runSaxes(input: Buffer[]): number {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  const sax = new CountingSaxes();
  const start = performance.now();
  for (const c of input) sax.write(decoder.decode(c, { stream: true }));
  return performance.now() - start;
}

function best<T extends { ms: number }>(runs: number, fn: () => T): T {
  let result = fn();
  for (let i = 1; i < runs; i++) {
    const next = fn();
    if (next.ms < result.ms) result = next;
  }
  return result;
}

let stream = HEADER;
for (let i = 0; i < STANZAS; i++) stream += message(i);
const input = chunks(stream);
const mib = Buffer.byteLength(stream) / 2 ** 20;

const natter = best(5, () => runNatter(input, 256 * 1024));
if (natter.stanzas !== STANZAS) throw new Error(`parsed ${natter.stanzas} of ${STANZAS} stanzas`);
const saxes = best(5, () => ({ ms: runSaxes(input) }));
const rate = (ms: number) => Math.round(STANZAS / (ms / 1000)).toLocaleString("en");
console.log(`${STANZAS} messages, ${mib.toFixed(1)} MiB in ${CHUNK / 1024} KiB chunks`);
console.log(`  XmppStreamParser: ${rate(natter.ms)} stanzas/s (${natter.ms.toFixed(0)} ms)`);
console.log(`  bare saxes:       ${rate(saxes.ms)} stanzas/s (${saxes.ms.toFixed(0)} ms)`);

console.log("one stanza with a huge body, 16 KiB chunks (linear: ms per MiB stays flat)");
for (const size of [256 * 1024, 1024 * 1024, 4 * 1024 * 1024]) {
  const text = `${HEADER}<message><body>${"x".repeat(size)}</body></message>`;
  const result = best(3, () => runNatter(chunks(text), size * 2));
  if (result.stanzas !== 1) throw new Error("huge stanza not parsed");
  const perMib = result.ms / (size / 2 ** 20);
  console.log(
    `  ${(size / 1024).toString().padStart(5)} KiB: ${result.ms.toFixed(1)} ms (${perMib.toFixed(1)} ms/MiB)`,
  );
}
