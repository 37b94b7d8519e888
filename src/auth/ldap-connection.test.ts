import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConcurrencyGate } from "./ldap-connection.js";

describe("ConcurrencyGate", () => {
  it("runs at most `limit` at once, queues up to `maxWaiting`, refuses beyond", async () => {
    const gate = new ConcurrencyGate(2, 1);
    let running = 0;
    let peak = 0;
    const releases: (() => void)[] = [];
    const task = () =>
      gate.run(async () => {
        running++;
        peak = Math.max(peak, running);
        await new Promise<void>((r) => releases.push(r));
        running--;
        return "done";
      });
    const first = [task(), task(), task()];
    await assert.rejects(task(), /too many LDAP binds waiting/);
    await new Promise((r) => setImmediate(r));
    assert.equal(releases.length, 2, "the third waits");
    releases.shift()?.();
    await new Promise((r) => setImmediate(r));
    assert.equal(releases.length, 2, "the third started when a slot freed");
    for (const r of releases.splice(0)) r();
    assert.deepEqual(await Promise.all(first), ["done", "done", "done"]);
    assert.equal(peak, 2);
  });

  it("frees the slot when a task throws", async () => {
    const gate = new ConcurrencyGate(1, 0);
    await assert.rejects(
      gate.run(async () => Promise.reject(new Error("boom"))),
      /boom/,
    );
    assert.equal(await gate.run(async () => 1), 1);
  });
});
