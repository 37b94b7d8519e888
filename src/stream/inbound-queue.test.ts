import assert from "node:assert/strict";
import { test } from "node:test";
import { xml } from "../core/xml/element.js";
import { TurnBudget } from "../core/turn-budget.js";
import { InboundQueue, MAX_QUEUED } from "./inbound-queue.js";

test("handles in order, pauses reading past MAX_QUEUED and resumes at half, survives a throwing handler", async () => {
  const events: string[] = [];
  const handled: string[] = [];
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => {
    release = r;
  });
  const q = new InboundQueue({
    queueClosed: () => false,
    handleQueued: async (el) => {
      await gate;
      if (el.attrs.id === "3") throw new Error("boom");
      handled.push(el.attrs.id as string);
    },
    queueFailed: () => events.push("failed"),
    pauseQueue: () => events.push("pause"),
    resumeQueue: () => events.push("resume"),
  });
  for (let i = 0; i <= MAX_QUEUED; i++) q.push(xml("message", "jabber:client", { id: String(i) }));
  assert.deepEqual(events, ["pause"]);
  release();
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(events, ["pause", "failed", "resume"]);
  assert.equal(handled.length, MAX_QUEUED);
  assert.deepEqual(handled.slice(0, 4), ["0", "1", "2", "4"]);
});

test("discardPending drops what was queued behind the element being handled, and keeps what comes after", async () => {
  const handled: string[] = [];
  const q: InboundQueue = new InboundQueue({
    queueClosed: () => false,
    handleQueued: async (el) => {
      handled.push(el.attrs.id as string);
      // As a STARTTLS handler does: the stream restarts, so what the old stream still holds is void.
      if (el.attrs.id === "restart") {
        q.discardPending();
        await new Promise((r) => setTimeout(r, 5));
      }
    },
    queueFailed: () => assert.fail("no handler throws"),
    pauseQueue: () => {},
    resumeQueue: () => {},
  });
  for (const id of ["a", "restart", "injected-1", "injected-2"]) q.push(xml("x", "jabber:client", { id }));
  await new Promise((r) => setTimeout(r, 1));
  q.push(xml("x", "jabber:client", { id: "after" }));
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(handled, ["a", "restart", "after"]);
});

test("a spent turn budget defers handling to the next turn, one stream's backlog after another, in order per stream", async () => {
  const budget = new TurnBudget({ units: 2, ms: 0 });
  const handled: string[] = [];
  const events: string[] = [];
  const queue = (name: string) =>
    new InboundQueue(
      {
        queueClosed: () => false,
        handleQueued: async (el) => {
          handled.push(`${name}${el.attrs.id}`);
        },
        queueFailed: () => assert.fail("no handler throws"),
        pauseQueue: () => events.push(`pause ${name}`),
        resumeQueue: () => events.push(`resume ${name}`),
      },
      4,
      budget,
    );
  const a = queue("a");
  const b = queue("b");
  for (const id of ["1", "2", "3"]) a.push(xml("message", "jabber:client", { id }));
  for (const id of ["1", "2"]) b.push(xml("message", "jabber:client", { id }));
  // This turn: two stanzas, then both streams wait.
  for (let i = 0; i < 10; i++) await Promise.resolve();
  assert.deepEqual(handled, ["a1", "b1"]);
  // Input that comes meanwhile is read and kept; reading pauses only once the backlog passes maxQueued (4).
  a.push(xml("message", "jabber:client", { id: "4" }));
  a.push(xml("message", "jabber:client", { id: "5" }));
  assert.deepEqual(events, []);
  a.push(xml("message", "jabber:client", { id: "6" }));
  assert.deepEqual(events, ["pause a"]);
  // The next turns: the streams go on in the order they began to wait, each with its own backlog before the
  // next stream's (not one stanza of each in turn), and nobody waits for ever.
  for (let i = 0; i < 6; i++) await new Promise((r) => setImmediate(r));
  assert.deepEqual(handled, ["a1", "b1", "a2", "a3", "b2", "a4", "a5", "a6"]);
  assert.deepEqual(events, ["pause a", "resume a"]);
});
