import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Element, xml } from "./element.js";
import { FrozenElement } from "./frozen-element.js";
import { NS_CLIENT, NS_SERVER, NS_SID } from "./ns.js";

const payload = () => [
  xml("body", NS_CLIENT, {}, "a & b"),
  xml("stanza-id", NS_SID, { id: "x1", by: "room@conference.example" }),
  xml("x", "urn:example:deep", {}, xml("item", "urn:example:deep", { n: "1" }, "t")),
];

describe("FrozenElement", () => {
  it("serialises as the element it was made from, in every namespace in scope, again and again", () => {
    for (const child of payload()) {
      const frozen = FrozenElement.from(child);
      for (const ns of [NS_CLIENT, "", NS_SERVER, NS_CLIENT]) {
        assert.equal(frozen.toString(ns), child.toString(ns));
        assert.equal(frozen.toString(ns), child.toString(ns));
      }
    }
  });

  it("shared by several envelopes, each with its own `to`, gives each the text a plain copy would have", () => {
    const shared = payload().map((c) => FrozenElement.from(c));
    for (const to of ["a@example/1", "b@example/2"]) {
      const copy = new Element("message", NS_CLIENT, { from: "room@conference.example/nick", type: "groupchat", to }, [
        ...shared,
      ]);
      const plain = new Element(
        "message",
        NS_CLIENT,
        { from: "room@conference.example/nick", type: "groupchat", to },
        payload(),
      );
      assert.equal(copy.toString(NS_CLIENT), plain.toString(NS_CLIENT));
      assert.equal(copy.toString(""), plain.toString(""));
    }
  });

  it("refuses changes to itself and its subtree (a TypeError, not a stale text), and clones into a changeable element", () => {
    const frozen = FrozenElement.from(payload()[2] as Element);
    frozen.toString(NS_CLIENT);
    assert.throws(() => frozen.children.push("more"), TypeError);
    assert.throws(() => {
      frozen.attrs.added = "1";
    }, TypeError);
    assert.throws(() => frozen.removeChildren("item", "urn:example:deep"), TypeError);
    const item = frozen.getChild("item") as Element;
    assert.throws(() => item.c("sub"), TypeError);
    const clone = frozen.clone();
    assert.ok(!(clone instanceof FrozenElement));
    clone.c("more");
    clone.attrs.added = "1";
    assert.match(clone.toString(NS_CLIENT), /added="1".*<more\/>/);
    assert.equal(FrozenElement.from(frozen), frozen);
  });
});
