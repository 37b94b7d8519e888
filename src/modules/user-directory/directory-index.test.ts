import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type DirectoryEntry, DirectoryIndex } from "./directory-index.js";

const entry = (first: string, last: string, nick = "", email = ""): DirectoryEntry => ({ first, last, nick, email });

describe("user directory index", () => {
  it("matches case-insensitive substrings, every given field at once, in user-name order", () => {
    const index = new DirectoryIndex();
    index.set("romeo", entry("Romeo", "Montague", "romy", "romeo@montague.example"));
    index.set("benvolio", entry("Benvolio", "Montague", "benny", "benvolio@montague.example"));
    index.set("juliet", entry("Juliet", "Capulet", "jule", "juliet@capulet.example"));
    assert.deepEqual(
      index.search({ last: "MONTA" }, 10).items.map((i) => i.user),
      ["benvolio", "romeo"],
    );
    assert.deepEqual(
      index.search({ last: "montague", first: "rom" }, 10).items.map((i) => i.user),
      ["romeo"],
    );
    assert.deepEqual(
      index.search({ email: "capulet.ex" }, 10).items.map((i) => i.user),
      ["juliet"],
    );
    assert.deepEqual(index.search({ nick: "zzz" }, 10).items, []);
    // NFKC: full-width letters match their ASCII form.
    assert.deepEqual(
      index.search({ first: "ＪＵＬ" }, 10).items.map((i) => i.user),
      ["juliet"],
    );
  });

  it("replaces and deletes rows, and pages after a user name", () => {
    const index = new DirectoryIndex();
    for (const u of ["d", "a", "c", "b"]) index.set(u, entry("Same", u));
    index.set("c", entry("Other", "c"));
    assert.equal(index.size, 4);
    assert.deepEqual(
      index.search({ first: "same" }, 10).items.map((i) => i.user),
      ["a", "b", "d"],
    );
    const page = index.search({ first: "same" }, 2);
    assert.deepEqual(
      page.items.map((i) => i.user),
      ["a", "b"],
    );
    assert.equal(page.more, true);
    assert.deepEqual(
      index.search({ first: "same" }, 2, "b").items.map((i) => i.user),
      ["d"],
    );
    index.delete("a");
    assert.equal(index.has("a"), false);
    assert.deepEqual(
      index.search({ first: "same" }, 10).items.map((i) => i.user),
      ["b", "d"],
    );
  });

  it("answers a query over 100k users in milliseconds", () => {
    const index = new DirectoryIndex();
    const users: string[] = [];
    for (let i = 0; i < 100_000; i++) users.push(`user${String(i).padStart(6, "0")}`);
    // Loaded in no particular order, as the store hands them over at start-up.
    const rows = users
      .map((u, i): [string, DirectoryEntry] => [
        u,
        entry(`Given${i}`, `Family${i % 997}`, `nick${i}`, `${u}@mail${i % 50}.example`),
      ])
      .reverse();
    const l0 = performance.now();
    index.load(rows);
    const loadMs = performance.now() - l0;
    assert.equal(index.size, 100_000);
    const s0 = performance.now();
    index.set("user000000a", entry("New", "Comer"));
    const setMs = performance.now() - s0;
    assert.deepEqual(
      index.search({ first: "new", last: "comer" }, 30).items.map((i) => i.user),
      ["user000000a"],
    );
    assert.ok(setMs < 50, `one change took ${setMs.toFixed(1)} ms`);
    // A query that matches nothing scans everything: the worst case.
    const times: number[] = [];
    for (let round = 0; round < 5; round++) {
      const t0 = performance.now();
      const r = index.search({ email: "no-such-address" }, 30);
      times.push(performance.now() - t0);
      assert.equal(r.items.length, 0);
    }
    const t1 = performance.now();
    const hits = index.search({ last: "family996", email: "mail3" }, 30);
    const hitMs = performance.now() - t1;
    assert.ok(hits.items.length > 0);
    const best = Math.min(...times);
    // Well under a frame even on a shared 2-core machine; a per-query vCard scan would take seconds.
    assert.ok(best < 50, `full scan took ${best.toFixed(1)} ms`);
    assert.ok(hitMs < 50, `matching query took ${hitMs.toFixed(1)} ms`);
    console.log(
      `100k users: load ${loadMs.toFixed(0)} ms, one change ${setMs.toFixed(2)} ms, no-match scan ${best.toFixed(2)} ms, matching query ${hitMs.toFixed(2)} ms`,
    );
  });
});
