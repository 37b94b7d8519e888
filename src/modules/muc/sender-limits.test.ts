// Per-sender limits of a room: token buckets that say when the next token comes, and a book that keeps a
// sender's limits across visits but forgets senders whose limits are back to their start.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { mucOptions } from "./options.js";
import { TokenBucket } from "../../core/token-bucket.js";
import { SenderLimitBook } from "./sender-limits.js";

describe("token bucket timing", () => {
  it("says how long until the next token, and when it is full again", () => {
    const b = new TokenBucket(2, 2, 0);
    assert.equal(b.msUntilToken(0), 0);
    assert.ok(b.take(0) && b.take(0));
    assert.equal(b.msUntilToken(0), 500);
    assert.equal(b.msUntilToken(250), 250);
    assert.equal(b.isFull(500), false);
    assert.equal(b.isFull(1000), true);
  });

  it("does not grant tokens for a clock that goes backwards", () => {
    const b = new TokenBucket(1, 1, 10_000);
    assert.equal(b.take(10_000), true);
    assert.equal(b.take(5_000), false);
  });
});

describe("sender limit book", () => {
  const options = mucOptions.parse({ message_rate: { per_second: 1, burst: 1 }, voice_request_interval: 0 });

  it("gives a sender the same limits until they are idle", () => {
    const book = new SenderLimitBook(options);
    const a = book.of("a@x", 0);
    assert.ok(a.message.take(0));
    assert.equal(book.of("a@x", 0), a, "a sender's spent budget survives leaving and coming back");
  });

  it("follows new options (a reload): known senders keep what they spent under the new rates, new ones start with them", () => {
    const book = new SenderLimitBook(mucOptions.parse({ message_rate: { per_second: 1, burst: 5 } }));
    const a = book.of("a@x", 0);
    assert.ok(a.message.take(0));
    book.applyOptions(mucOptions.parse({ message_rate: { per_second: 1, burst: 2 } }), 0);
    assert.equal(book.of("a@x", 0), a, "the same limits, rebuilt in place");
    assert.ok(a.message.take(0) && a.message.take(0));
    assert.equal(a.message.take(0), false, "two left under the new burst");
    const b = book.of("b@x", 0);
    assert.ok(b.message.take(0) && b.message.take(0));
    assert.equal(b.message.take(0), false, "a new sender gets the new burst");
  });

  it("forgets idle senders once the book has grown, and only those", () => {
    const book = new SenderLimitBook(options);
    book.of("busy@x", 0).message.take(0);
    for (let i = 0; i < 63; i++) book.of(`idle${i}@x`, 0);
    assert.equal(book.size, 64);
    // A newcomer at t=0 sweeps: idle senders go, the busy one (empty bucket) stays.
    book.of("new@x", 0);
    assert.equal(book.size, 2);
    assert.equal(book.of("busy@x", 0).message.take(0), false);
  });
});

describe("stanza size", () => {
  it("counts names, attributes and text, and stops at the limit", async () => {
    const { Element } = await import("../../core/xml/element.js");
    const { exceedsSize } = await import("./stanza-size.js");
    // "message" 7 + "to" 2 + "r@x" 3 + "body" 4 + text
    const m = (text: string) => new Element("message", "jabber:client", { to: "r@x" }, [new Element("body", "jabber:client", {}, [text])]);
    assert.equal(exceedsSize(m("a".repeat(84)), 100), false);
    assert.equal(exceedsSize(m("a".repeat(85)), 100), true);
    const wide = new Element("x", "urn:x", {}, Array.from({ length: 100_000 }, () => new Element("y", "urn:x")));
    assert.equal(exceedsSize(wide, 1000), true);
  });
});
