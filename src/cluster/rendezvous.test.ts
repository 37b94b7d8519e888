import assert from "node:assert/strict";
import { test } from "node:test";
import { rendezvousOrder, rendezvousOwner } from "./rendezvous.js";

const keys = Array.from({ length: 3000 }, (_, i) => `room${i}@conference.example.org`);
const owners = (nodes: readonly string[]) => new Map(keys.map((k) => [k, rendezvousOwner(k, nodes)]));

test("the owner is stable and does not depend on the order of the node list", () => {
  const a = owners(["n1", "n2", "n3"]);
  const b = owners(["n3", "n1", "n2"]);
  assert.deepEqual([...a], [...b]);
  assert.deepEqual([...owners(["n1", "n2", "n3"])], [...a]);
});

test("no nodes: no owner; one node owns everything", () => {
  assert.equal(rendezvousOwner("room@c.example", []), undefined);
  for (const owner of owners(["only"]).values()) assert.equal(owner, "only");
});

test("keys spread over the nodes roughly evenly", () => {
  const counts = new Map<string, number>();
  for (const owner of owners(["n1", "n2", "n3"]).values()) counts.set(owner!, (counts.get(owner!) ?? 0) + 1);
  assert.equal(counts.size, 3);
  for (const n of counts.values()) assert.ok(n > 800 && n < 1200, `uneven spread: ${[...counts]}`);
});

test("a node leaving moves only its own keys, each to the next node in its failover order", () => {
  const before = owners(["n1", "n2", "n3"]);
  const after = owners(["n1", "n3"]);
  let moved = 0;
  for (const k of keys) {
    if (before.get(k) === "n2") {
      moved++;
      assert.equal(after.get(k), rendezvousOrder(k, ["n1", "n2", "n3"])[1]);
    } else assert.equal(after.get(k), before.get(k), `${k} moved though its node stayed`);
  }
  assert.ok(moved > 0);
});

test("a node joining takes only keys, never shuffles them between the others", () => {
  const before = owners(["n1", "n2"]);
  const after = owners(["n1", "n2", "n3"]);
  let taken = 0;
  for (const k of keys) {
    if (after.get(k) === "n3") taken++;
    else assert.equal(after.get(k), before.get(k));
  }
  assert.ok(taken > 800 && taken < 1200, `n3 took ${taken}`);
});

test("the failover order starts with the owner and holds every node once", () => {
  for (const k of keys.slice(0, 50)) {
    const order = rendezvousOrder(k, ["a", "b", "c", "d"]);
    assert.equal(order[0], rendezvousOwner(k, ["a", "b", "c", "d"]));
    assert.deepEqual([...order].sort(), ["a", "b", "c", "d"]);
  }
});
