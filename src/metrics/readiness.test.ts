import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { pino } from "pino";
import { Readiness } from "./readiness.js";

const silent = pino({ level: "silent" });

describe("Readiness", () => {
  it("is not ready while starting or stopping, whatever storage says", async () => {
    let asked = 0;
    const r = new Readiness(async () => void asked++, 1000, silent);
    assert.deepEqual(await r.check(), { ready: false, reason: "starting" });
    r.phase = "ready";
    assert.deepEqual(await r.check(), { ready: true });
    r.phase = "stopping";
    assert.deepEqual(await r.check(), { ready: false, reason: "stopping" });
    assert.equal(asked, 1, "storage is asked only once ready");
  });

  it("is not ready when storage fails or does not answer in time", async () => {
    const failing = new Readiness(() => Promise.reject(new Error("disk gone")), 1000, silent);
    failing.phase = "ready";
    assert.deepEqual(await failing.check(), { ready: false, reason: "storage failed" });
    const hung = new Readiness(() => new Promise(() => {}), 30, silent);
    hung.phase = "ready";
    assert.deepEqual(await hung.check(), { ready: false, reason: "storage did not answer within 30 ms" });
  });

  it("shares one storage query among probes arriving together", async () => {
    let asked = 0;
    let answer: () => void = () => {};
    const r = new Readiness(
      () =>
        new Promise<void>((resolve) => {
          asked++;
          answer = resolve;
        }),
      1000,
      silent,
    );
    r.phase = "ready";
    const probes = [r.check(), r.check(), r.check()];
    answer();
    for (const p of probes) assert.deepEqual(await p, { ready: true });
    assert.equal(asked, 1);
    const next = r.check(); // a later probe asks again
    answer();
    await next;
    assert.equal(asked, 2);
  });
});
