import assert from "node:assert/strict";
import { test } from "node:test";
import { type Element, xml } from "../../core/xml/element.js";
import { NS_CHATSTATES, NS_CLIENT, NS_DELAY, NS_HINTS, NS_SID } from "../../core/xml/ns.js";
import { parseFramedElement } from "../../core/xml/stream-parser.js";
import { createMemoryDriver } from "../../storage/memory/index.js";
import { decodeOffline, encodeOffline, offlineVerdict, withDelay } from "./codec.js";

const parse = (s: string): Element => parseFramedElement(s, { maxStanzaBytes: 65536, maxDepth: 32 }, NS_CLIENT);

// XEP-0160 §2 example: romeo's message to offline juliet.
const ROMEO =
  "<message from='romeo@montague.net/orchard' to='juliet@capulet.com' type='chat'>" +
  "<body>O blessed, blessed night! I am afeard.</body></message>";

test("XEP-0160 §3: normal (or no type) and chat are stored; groupchat, headline, error are not", () => {
  assert.equal(offlineVerdict(parse(ROMEO)), "store");
  assert.equal(offlineVerdict(parse("<message to='j@c'><body>hi</body></message>")), "store");
  assert.equal(offlineVerdict(parse("<message to='j@c' type='normal'><body>hi</body></message>")), "store");
  for (const type of ["groupchat", "headline", "error"]) {
    assert.equal(offlineVerdict(parse(`<message to='j@c' type='${type}'><body>hi</body></message>`)), "refuse", type);
  }
});

test("XEP-0334: <no-store/> refuses, <store/> keeps a chat state", () => {
  const noStore = parse(ROMEO);
  noStore.c("no-store", NS_HINTS);
  assert.equal(offlineVerdict(noStore), "refuse");
  const keep = xml("message", NS_CLIENT, { type: "chat" }, xml("composing", NS_CHATSTATES), xml("store", NS_HINTS));
  assert.equal(offlineVerdict(keep), "store");
});

test("XEP-0160 §3 / XEP-0085: chat-state-only messages are discarded, chat states with content are stored", () => {
  // XEP-0085 §5.1 style standalone notification, with a thread and an origin-id.
  const typing = parse(
    `<message to='j@c' type='chat'><composing xmlns='${NS_CHATSTATES}'/><thread>act2scene2chat1</thread><origin-id xmlns='${NS_SID}' id='x'/></message>`,
  );
  assert.equal(offlineVerdict(typing), "discard");
  const withBody = parse(`<message to='j@c' type='chat'><body>hi</body><active xmlns='${NS_CHATSTATES}'/></message>`);
  assert.equal(offlineVerdict(withBody), "store");
  const encrypted = xml(
    "message",
    NS_CLIENT,
    { type: "chat" },
    xml("active", NS_CHATSTATES),
    xml("encrypted", "eu.siacs.conversations.axolotl"),
  );
  assert.equal(offlineVerdict(encrypted), "store");
  // No chat state and no body: not ours to judge, stored.
  assert.equal(offlineVerdict(parse("<message to='j@c' type='chat'><x xmlns='urn:example'/></message>")), "store");
});

test("encode/decode round trip keeps the stanza and the receive time", () => {
  const stanza = parse(ROMEO);
  const value = encodeOffline(stanza, 1_700_000_000_123);
  const back = decodeOffline(JSON.parse(JSON.stringify(value)));
  assert.ok(back);
  assert.equal(back.received, 1_700_000_000_123);
  assert.equal(back.stanza.toString(NS_CLIENT), stanza.toString(NS_CLIENT));
  assert.equal(back.stanza.ns, NS_CLIENT);
  assert.equal(back.stanza.getChildText("body"), "O blessed, blessed night! I am afeard.");
});

test("decode refuses damaged values without throwing", () => {
  assert.equal(decodeOffline(null), undefined);
  assert.equal(decodeOffline("x"), undefined);
  assert.equal(decodeOffline({ xml: "<message", received: 1 }), undefined);
  assert.equal(decodeOffline({ xml: "<iq xmlns='jabber:client'/>", received: 1 }), undefined);
  assert.equal(decodeOffline({ xml: ROMEO, received: "yesterday" }), undefined);
});

test("XEP-0203 §4: delay from the server with a XEP-0082 UTC stamp, on a copy", () => {
  const stanza = parse(ROMEO);
  const out = withDelay(stanza, "capulet.com", Date.UTC(2002, 8, 10, 23, 8, 25));
  const delay = out.getChild("delay", NS_DELAY);
  assert.ok(delay);
  assert.equal(delay.attrs.from, "capulet.com");
  assert.equal(delay.attrs.stamp, "2002-09-10T23:08:25.000Z");
  assert.equal(stanza.getChild("delay", NS_DELAY), undefined);
});

test("account deletion removes the account's offline messages (StorageDriver.deleteUser)", async () => {
  const driver = createMemoryDriver();
  const store = driver.open("capulet.com", "offline", "archive");
  await store.append("juliet", { value: encodeOffline(parse(ROMEO), Date.now()) });
  await store.append("nurse", { value: encodeOffline(parse(ROMEO), Date.now()) });
  await driver.deleteUser("capulet.com", "juliet");
  assert.equal(await store.count("juliet"), 0);
  assert.equal(await store.count("nurse"), 1);
});

test("XEP-0203: a message that already carries the server's delay (re-routed from an ended session) keeps that one only", () => {
  const rerouted = parse(
    "<message from='romeo@montague.net/orchard' to='juliet@capulet.com' type='chat'><body>hi</body>" +
      "<delay xmlns='urn:xmpp:delay' from='capulet.com' stamp='2026-01-01T00:00:00.000Z'/></message>",
  );
  const out = withDelay(rerouted, "capulet.com", Date.parse("2026-01-02T00:00:00Z"));
  const delays = out.getChildren("delay", NS_DELAY);
  assert.equal(delays.length, 1);
  assert.equal(delays[0]?.attrs.stamp, "2026-01-01T00:00:00.000Z");
  // A delay by another entity (a remote server that held it) does not count: ours is added beside it.
  const remote = parse("<message to='j@c'><body>x</body><delay xmlns='urn:xmpp:delay' from='montague.net' stamp='2026-01-01T00:00:00Z'/></message>");
  assert.equal(withDelay(remote, "capulet.com", Date.now()).getChildren("delay", NS_DELAY).length, 2);
});
