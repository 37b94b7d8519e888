import assert from "node:assert/strict";
import { test } from "node:test";
import { createPerKeyQueue } from "./per-key-queue.js";

test("operations on one key run one at a time in order; other keys are not held up; failures do not jam", async () => {
  const serial = createPerKeyQueue();
  const log: string[] = [];
  const step = (name: string, ms: number) => () =>
    new Promise<string>((resolve) => setTimeout(() => (log.push(name), resolve(name)), ms));
  const a1 = serial("alice", step("a1", 30));
  const failing = serial("alice", () => Promise.reject(new Error("boom")));
  const a2 = serial("alice", step("a2", 1));
  const b1 = serial("bob", step("b1", 5));
  await assert.rejects(failing, /boom/);
  assert.deepEqual(await Promise.all([a1, a2, b1]), ["a1", "a2", "b1"]);
  assert.deepEqual(log, ["b1", "a1", "a2"]);
});
