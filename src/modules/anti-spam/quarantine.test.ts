// The quarantine over a real store (the memory driver): bounded per user, expiring, taken out by id or all.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Element } from "../../core/xml/element.js";
import { NS_CLIENT } from "../../core/xml/ns.js";
import { createMemoryDriver } from "../../storage/memory/index.js";
import { Quarantine } from "./quarantine.js";

const HOUR = 3_600_000;

function message(body: string): Element {
  const m = new Element("message", NS_CLIENT, { from: "spam@example.net/x", to: "alice@example.org", type: "chat" });
  m.c("body", NS_CLIENT).t(body);
  return m;
}

describe("Quarantine", () => {
  const driver = createMemoryDriver();
  const make = () =>
    new Quarantine({ store: (name, kind) => driver.open("example.org", name, kind) }, () => ({
      maxItems: 2,
      maxPerSender: 5,
      expireMs: HOUR,
    }));

  it("holds up to max_items per user, then refuses", async () => {
    const q = make();
    const t = 10 * HOUR;
    assert.equal(await q.hold("alice", "spam@example.net", message("one"), t), true);
    assert.equal(await q.hold("alice", "spam@example.net", message("two"), t + 1), true);
    assert.equal(await q.hold("alice", "spam@example.net", message("three"), t + 2), false);
    assert.equal(await q.hold("bob", "spam@example.net", message("for bob"), t + 2), true);
    const held = await q.list("alice", t + 3);
    assert.deepEqual(
      held.map((h) => [h.from, h.kind, h.stanza.getChildText("body", NS_CLIENT)]),
      [
        ["spam@example.net", "message", "one"],
        ["spam@example.net", "message", "two"],
      ],
    );
  });

  it("holds a sender's subscription request once, and at most max_per_sender items from one sender", async () => {
    const q = new Quarantine({ store: (name, kind) => driver.open("other.example", name, kind) }, () => ({
      maxItems: 10,
      maxPerSender: 2,
      expireMs: HOUR,
    }));
    const subscribe = new Element("presence", NS_CLIENT, {
      from: "spam@example.net",
      to: "carol@other.example",
      type: "subscribe",
    });
    assert.equal(await q.hold("carol", "spam@example.net", subscribe, 1000), true);
    assert.equal(await q.hold("carol", "spam@example.net", subscribe, 1001), true); // already held: not again
    assert.equal((await q.list("carol", 1002)).length, 1);
    assert.equal(await q.hold("carol", "spam@example.net", message("m"), 1002), true);
    assert.equal(await q.hold("carol", "spam@example.net", message("m2"), 1003), false);
    assert.equal(await q.hold("carol", "other@example.net", message("o"), 1003), true);
  });

  it("forgets what expired, and takes items out by id or all", async () => {
    const q = make();
    const t = 10 * HOUR;
    // An hour later alice's two have expired: room again, and the list no longer shows them.
    assert.deepEqual(await q.list("alice", t + HOUR + 10), []);
    assert.equal(await q.hold("alice", "x@example.net", message("new"), t + HOUR + 10), true);
    assert.ok((await q.expire(t + HOUR + 10)) >= 2);
    const [item] = await q.list("alice", t + HOUR + 11);
    assert.ok(item);
    assert.deepEqual(await q.take("alice", ["nope"], t + HOUR + 11), []);
    assert.equal((await q.take("alice", [item.id], t + HOUR + 11)).length, 1);
    // expire() removed bob's item from the store, not only from view.
    assert.deepEqual(await q.take("bob", undefined, t + 3), []);
    await q.hold("bob", "x@example.net", message("b1"), t + HOUR + 12);
    await q.hold("bob", "y@example.net", message("b2"), t + HOUR + 12);
    assert.equal((await q.take("bob", undefined, t + HOUR + 13)).length, 2);
    assert.deepEqual(await q.list("bob", t + HOUR + 13), []);
  });
});
