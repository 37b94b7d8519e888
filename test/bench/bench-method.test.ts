// The benchmark's method (bench/README.md): the table shows the median of each metric over the repeated runs,
// a process started through onServerCore runs on the server core only, and the presence scenario's ring rosters
// and stanza cutting hold.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { describe, it } from "node:test";
import { cpuPinning, onServerCore, SERVER_CORE } from "../../bench/cpu-pinning.js";
import { median, medianMetrics } from "../../bench/median-metrics.js";
import { checkRingShape, ringContacts } from "../../bench/ring-contacts.js";
import { PresenceStream } from "../../bench/scenarios/presence-stream.js";
import type { Metric } from "../../bench/target.js";

const rate = (value: number): Metric => ({
  key: "messages_per_s",
  label: "messages/s",
  value,
  unit: "/s",
  better: "higher",
});
const failedRun: Metric = {
  key: "messages_failed",
  label: "messages scenario FAILED",
  value: Number.NaN,
  unit: "",
  better: "info",
};

describe("bench medians", () => {
  it("takes the middle value, the mean of the middle two for an even count, and skips NaN", () => {
    assert.equal(median([30, 10, 20]), 20);
    assert.equal(median([40, 10, 30, 20]), 25);
    assert.equal(median([5, Number.NaN, 7]), 6);
    assert.ok(Number.isNaN(median([])));
  });

  it("reports each metric at its median over the runs, in first-seen order", () => {
    const p50 = (value: number): Metric => ({ key: "p50", label: "p50", value, unit: "ms", better: "lower" });
    const out = medianMetrics([
      [rate(50_000), p50(3)],
      [rate(10_000), p50(9)],
      [rate(48_000), p50(4)],
    ]);
    assert.deepEqual(
      out.map((m) => [m.key, m.value]),
      [
        ["messages_per_s", 48_000],
        ["p50", 4],
      ],
    );
  });

  it("keeps a failed run visible and takes the medians of the runs that succeeded", () => {
    const out = medianMetrics([[rate(40_000)], [failedRun], [rate(44_000)]]);
    assert.equal(out.find((m) => m.key === "messages_per_s")?.value, 42_000);
    assert.equal(out.find((m) => m.key === "messages_failed")?.label, "messages scenario FAILED in 1 of 3 runs");
  });
});

describe("bench CPU pinning", () => {
  it("starts server processes on the server core when pinning is on, unchanged otherwise", () => {
    const argv = ["sh", "-c", "grep Cpus_allowed_list /proc/self/status"];
    const pinned = onServerCore(argv);
    const out = execFileSync(pinned[0]!, pinned.slice(1), { encoding: "utf8" });
    const cores = /Cpus_allowed_list:\s*(\S+)/.exec(out)?.[1];
    if (cpuPinning().enabled) {
      assert.deepEqual(pinned.slice(0, 3), ["taskset", "-c", String(SERVER_CORE)]);
      assert.equal(cores, String(SERVER_CORE));
    } else {
      assert.deepEqual(pinned, argv);
      assert.match(cpuPinning().description, /^unpinned/);
    }
  });
});

describe("bench presence rosters and stream", () => {
  it("gives each account contacts/2 neighbours either side on the ring, symmetric, never itself", () => {
    assert.deepEqual(ringContacts(1, 6, 2), [2, 6]);
    assert.deepEqual(ringContacts(3, 1000, 4), [4, 2, 5, 1]);
    for (const [count, contacts] of [
      [1000, 10],
      [2000, 20],
    ] as const) {
      for (const i of [1, 2, count / 2, count]) {
        const mine = ringContacts(i, count, contacts);
        assert.equal(new Set(mine).size, contacts);
        assert.ok(!mine.includes(i));
        for (const c of mine) assert.ok(ringContacts(c, count, contacts).includes(i), `${c} has ${i} back`);
      }
    }
    assert.throws(() => checkRingShape(10, 3), /even/);
    assert.throws(() => checkRingShape(10, 10), /below/);
  });

  it("cuts whole presence and iq stanzas out of chunks split anywhere", () => {
    const wire =
      "<iq type='result' id='bench-roster' to='u@localhost/r'><query xmlns='jabber:iq:roster' ver='1'>" +
      "<item jid='a@localhost' subscription='both'><group>bench</group></item></query></iq> " +
      "<presence from='a@localhost/x' to='u@localhost/r'/>" +
      "<presence from=\"b@localhost/y\" xml:lang='en'><show>away</show><status>3</status></presence>" +
      "<message from='c@localhost/z'><body>hi</body></message>" +
      "<presence type='unavailable' from='a@localhost/x'/>";
    for (let cut = 1; cut < wire.length; cut += 7) {
      const seen: string[] = [];
      const stream = new PresenceStream(
        (p) => seen.push(`presence ${p.fromBare} ${p.type ?? "available"} ${p.status ?? "-"}`),
        (iq) => seen.push(`iq ${iq.id} ${iq.type} ${(iq.xml.match(/<item\s/g) ?? []).length}`),
      );
      stream.feed(wire.slice(0, cut));
      stream.feed(wire.slice(cut));
      assert.deepEqual(seen, [
        "iq bench-roster result 1",
        "presence a@localhost available -",
        "presence b@localhost available 3",
        "presence a@localhost unavailable -",
      ]);
    }
  });
});
