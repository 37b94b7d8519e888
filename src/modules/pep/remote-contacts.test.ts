// The record of remote contacts' available resources: what it keeps, forgets, and refuses past its limits.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RemoteContacts } from "./remote-contacts.js";

describe("RemoteContacts", () => {
  it("records a resource once, forgets it when unavailable", () => {
    const r = new RemoteContacts({ perOwner: 10, perContact: 3 });
    const first = r.available("juliet", "romeo@montague.lit", "romeo@montague.lit/orchard");
    assert.equal(first?.isNew, true);
    first!.resource.sentLast.add("node");
    const again = r.available("juliet", "romeo@montague.lit", "romeo@montague.lit/orchard");
    assert.equal(again?.isNew, false);
    assert.ok(again?.resource.sentLast.has("node"), "a presence update keeps what was sent");
    assert.deepEqual(
      r.resourcesOf("juliet", "romeo@montague.lit").map((x) => x.jid),
      ["romeo@montague.lit/orchard"],
    );
    assert.deepEqual(r.resourcesOf("nurse", "romeo@montague.lit"), [], "per owner");
    r.unavailable("juliet", "romeo@montague.lit", "romeo@montague.lit/orchard");
    assert.deepEqual(r.resourcesOf("juliet", "romeo@montague.lit"), []);
    assert.equal(r.size, 0);
    assert.equal(r.available("juliet", "romeo@montague.lit", "romeo@montague.lit/orchard")?.isNew, true);
  });

  it("refuses resources past the per-contact and per-owner limits, and makes room again", () => {
    const r = new RemoteContacts({ perOwner: 4, perContact: 2 });
    assert.ok(r.available("o", "a@x.lit", "a@x.lit/1"));
    assert.ok(r.available("o", "a@x.lit", "a@x.lit/2"));
    assert.equal(r.available("o", "a@x.lit", "a@x.lit/3"), undefined, "one contact: at most perContact");
    assert.ok(r.available("o", "b@x.lit", "b@x.lit/1"));
    assert.ok(r.available("o", "c@y.lit", "c@y.lit/1"));
    assert.equal(r.available("o", "d@y.lit", "d@y.lit/1"), undefined, "one owner: at most perOwner");
    assert.ok(r.available("p", "d@y.lit", "d@y.lit/1"), "another owner has its own share");
    r.unavailable("o", "a@x.lit", "a@x.lit/1");
    assert.ok(r.available("o", "d@y.lit", "d@y.lit/1"));
    assert.equal(r.size, 5);
  });

  it("forgets a whole domain (s2s link down) and a deleted owner", () => {
    const r = new RemoteContacts({ perOwner: 10, perContact: 10 });
    r.available("o", "a@x.lit", "a@x.lit/1");
    r.available("o", "a@x.lit", "a@x.lit/2");
    r.available("o", "b@y.lit", "b@y.lit/1");
    r.available("p", "c@x.lit", "c@x.lit/1");
    r.available("p", "x.lit", "x.lit/gateway");
    assert.equal(r.dropDomain("x.lit"), 4);
    assert.deepEqual(r.resourcesOf("o", "a@x.lit"), []);
    assert.equal(r.resourcesOf("o", "b@y.lit").length, 1);
    assert.equal(r.size, 1);
    // The freed share is usable again.
    r.dropOwner("o");
    assert.equal(r.size, 0);
  });
});
