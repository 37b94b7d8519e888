import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ServerCounters } from "../core/server-counters.js";
import { StatsHistory } from "./stats-history.js";

function setup(capacity?: number) {
  const counters = new ServerCounters();
  const clock = { t: 1_000_000 };
  const live = { sessions: 0, s2s: 0 };
  const history = new StatsHistory(
    { counters, sessions: () => live.sessions, s2sLinks: () => live.s2s },
    { now: () => clock.t, ...(capacity ? { capacity } : {}) },
  );
  return { counters, clock, live, history };
}

describe("StatsHistory", () => {
  it("turns the stanzas read over a minute into rates per second, by kind", () => {
    const { counters, clock, live, history } = setup();
    for (let i = 0; i < 120; i++) counters.stanzaIn("message");
    for (let i = 0; i < 30; i++) counters.stanzaIn("presence");
    counters.stanzaIn("iq");
    counters.stanzaOut("message"); // written stanzas are not what the chart shows
    counters.stanzaIn("r"); // nor are non-stanzas (XEP-0198 <r/>)
    live.sessions = 7;
    live.s2s = 2;
    clock.t += 60_000;
    const s = history.sample();
    assert.deepEqual(s, {
      at: 1_060_000,
      sessions: 7,
      messagesPerSecond: 2,
      presencesPerSecond: 0.5,
      iqsPerSecond: 0.017,
      s2sLinks: 2,
    });
  });

  it("measures each sample from the previous one, over the time that really passed", () => {
    const { counters, clock, history } = setup();
    for (let i = 0; i < 60; i++) counters.stanzaIn("message");
    clock.t += 60_000;
    history.sample();
    for (let i = 0; i < 30; i++) counters.stanzaIn("message");
    clock.t += 30_000; // a late or early tick: the rate is over its own interval
    assert.equal(history.sample().messagesPerSecond, 1);
    clock.t += 60_000;
    assert.equal(history.sample().messagesPerSecond, 0, "nothing since: zero, not the running total");
  });

  it("keeps the last `capacity` samples, oldest first", () => {
    const { clock, history } = setup(3);
    for (let i = 1; i <= 5; i++) {
      clock.t += 60_000;
      history.sample();
    }
    assert.deepEqual(
      history.history().map((s) => s.at),
      [1_180_000, 1_240_000, 1_300_000],
    );
    history.history().pop();
    assert.equal(history.history().length, 3, "history() is a copy");
  });

  it("keeps 60 samples by default: the last hour", () => {
    const { clock, history } = setup();
    for (let i = 0; i < 75; i++) {
      clock.t += 60_000;
      history.sample();
    }
    const kept = history.history();
    assert.equal(kept.length, 60);
    assert.equal((kept.at(-1)?.at ?? 0) - (kept[0]?.at ?? 0), 59 * 60_000);
  });

  it("samples on its timer once started, and no more once stopped", async () => {
    const counters = new ServerCounters();
    const history = new StatsHistory({ counters, sessions: () => 1, s2sLinks: () => 0 }, { intervalMs: 20 });
    history.start();
    await new Promise((r) => setTimeout(r, 110));
    history.stop();
    const taken = history.history().length;
    assert.ok(taken >= 2, `sampled ${taken} times in 110 ms at 20 ms`);
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(history.history().length, taken);
  });
});
