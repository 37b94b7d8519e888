// The inbound budget per event-loop turn (config `event_loop`, core/turn-budget.ts), with the defaults (10 ms of
// handling a turn): many connections that each send thousands of stanzas at once do not hold up another
// client's ping for the time it takes to handle them all; every flooder is still served to the end, its
// replies in the order it asked.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { RawClient } from "../helpers/raw-client.js";
import { type TestServer, startTestServer } from "../helpers/test-server.js";
import { rawLogin, rawPing } from "./raw-helpers.js";

const FLOODERS = 20;
const PINGS_EACH = 3000;

describe("inbound budget per event-loop turn (event_loop, the defaults)", () => {
  let ts: TestServer;

  before(async () => {
    ts = await startTestServer({
      // Nothing else slows the flooders down: no input rate limit.
      c2s: ["rate_limits:", "  authenticated: { bytes_per_second: 0, stanzas_per_second: 0 }"],
    });
    for (let i = 0; i < FLOODERS; i++) await ts.addUser(`flood${i}`, "pw");
    await ts.addUser("calm", "calm-pw");
  });
  after(async () => {
    await ts?.stop();
  });

  test(`${FLOODERS} clients sending ${PINGS_EACH} pings at once: another client's pings stay prompt`, async () => {
    const flooders: RawClient[] = [];
    for (let i = 0; i < FLOODERS; i++) flooders.push((await rawLogin(ts, `flood${i}`, "pw", "hose")).rc);
    const { rc: calm } = await rawLogin(ts, "calm", "calm-pw", "quiet");
    await rawPing(calm);
    const pings = (n: number) =>
      Array.from(
        { length: PINGS_EACH },
        (_, k) => `<iq type='get' id='f${n}-${k}' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>`,
      ).join("");
    const started = performance.now();
    for (const [n, rc] of flooders.entries()) rc.send(pings(n));
    // Polled, not RawClient.waitFor: that matches the whole received text at every chunk (quadratic here).
    const done = (async () => {
      const lastIds = flooders.map((_, n) => `id="f${n}-${PINGS_EACH - 1}"`);
      while (!flooders.every((rc, n) => rc.data.includes(lastIds[n] as string))) {
        if (performance.now() - started > 60_000) throw new Error("the flooders were not all answered within 60 s");
        await new Promise((r) => setTimeout(r, 20));
      }
      return performance.now() - started;
    })();
    let finished = false;
    void done.finally(() => (finished = true));
    const times: number[] = [];
    while (!finished) {
      const t = performance.now();
      await rawPing(calm);
      times.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 5));
    }
    const elapsed = await done;
    const slowest = Math.max(...times);
    // Every flooder got every answer, in the order it asked (a stream's stanzas are never reordered).
    for (const [n, rc] of flooders.entries()) {
      const ids = [...rc.data.matchAll(/id=['"]f\d+-(\d+)['"]/g)].map((m) => Number(m[1]));
      assert.equal(ids.length, PINGS_EACH, `flooder ${n} got ${ids.length} answers`);
      assert.ok(
        ids.every((id, k) => id === k),
        `flooder ${n}'s answers are in order`,
      );
    }
    // Without the budget one turn handles whatever every flooder's socket had (thousands of pings) before
    // the calm client's answer is flushed: its slowest ping took about as long as the whole flood.
    assert.ok(times.length >= 5, `only ${times.length} pings during a flood of ${Math.round(elapsed)} ms`);
    assert.ok(
      slowest < Math.max(100, elapsed / 4),
      `the calm client's slowest ping took ${Math.round(slowest)} ms during a flood of ${Math.round(elapsed)} ms (${times.length} pings)`,
    );
    for (const rc of flooders) rc.destroy();
    calm.destroy();
  });
});
