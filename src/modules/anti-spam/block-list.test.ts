// The real-time block list's bookkeeping: hashed and plain entries (xmppbl.org convention), per-source refetch,
// retraction, an entry two sources list, and the entry cap.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import { BlockList } from "./block-list.js";

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

describe("BlockList", () => {
  it("matches a bare JID by its SHA-256, plainly, or by its domain", () => {
    const list = new BlockList(100);
    list.replace("a#jids", [sha256("spammer@spam.example"), "Plain@Other.Example", "bad.example"]);
    assert.equal(list.lists("spammer@spam.example", "spam.example"), true);
    assert.equal(list.lists("plain@other.example", "other.example"), true);
    assert.equal(list.lists("anyone@bad.example", "bad.example"), true);
    assert.equal(list.hasDomain("bad.example"), true);
    assert.equal(list.hasDomain("spam.example"), false);
    assert.equal(list.lists("friend@spam.example", "spam.example"), false);
  });

  it("a refetch replaces one source's entries; retraction removes an entry only when no source lists it", () => {
    const list = new BlockList(100);
    list.replace("a", ["one.example", "both.example"]);
    list.replace("b", ["both.example"]);
    list.replace("a", ["two.example"]);
    assert.equal(list.hasDomain("one.example"), false);
    assert.equal(list.hasDomain("two.example"), true);
    assert.equal(list.hasDomain("both.example"), true); // still b's
    list.remove("b", "both.example");
    assert.equal(list.hasDomain("both.example"), false);
    list.add("b", "three.example");
    assert.equal(list.size, 2);
  });

  it("takes no more than its cap", () => {
    const list = new BlockList(2);
    assert.equal(list.replace("a", ["1.example", "2.example", "3.example"]), 2);
    assert.equal(list.add("a", "4.example"), false);
    assert.equal(list.hasDomain("3.example"), false);
    list.remove("a", "1.example");
    assert.equal(list.add("a", "4.example"), true);
  });
});
