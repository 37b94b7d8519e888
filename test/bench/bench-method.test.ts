// The benchmark's method (bench/README.md): the table shows the median of each metric over the repeated runs,
// a process started through onServerCore runs on the server core only, --muc-shapes names issue 13's MUC rows,
// the event-loop probe reads a real Node process's loop delay from inside it, and the presence scenario's ring
// rosters and stanza cutting hold.
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { cpuPinning, onServerCore, SERVER_CORE } from "../../bench/cpu-pinning.js";
import { loopDelayProbe } from "../../bench/loop-delay.js";
import { median, medianMetrics } from "../../bench/median-metrics.js";
import { mucShapeName, parseMucShapes } from "../../bench/scenarios/muc.js";
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

describe("bench MUC shapes", () => {
  it("reads issue 13's three layouts: all talk unless :k names the senders per room", () => {
    const shapes = parseMucShapes("10x20, 50x50:10,1×200:10");
    assert.deepEqual(shapes, [
      { rooms: 10, occupants: 20, senders: 20 },
      { rooms: 50, occupants: 50, senders: 10 },
      { rooms: 1, occupants: 200, senders: 10 },
    ]);
    assert.deepEqual(
      shapes.map((s) => mucShapeName(s)),
      [
        { key: "10x20", label: "10 × 20, all talk" },
        { key: "50x50s10", label: "50 × 50, 10 senders" },
        { key: "1x200s10", label: "1 × 200, 10 senders" },
      ],
    );
  });

  it("refuses more senders than occupants and what is not a layout", () => {
    assert.throws(() => parseMucShapes("2x5:6"), /bad MUC shape "2x5:6"/);
    assert.throws(() => parseMucShapes("10"), /bad MUC shape/);
    assert.throws(() => parseMucShapes("0x5"), /bad MUC shape/);
  });
});

describe("bench event-loop probe", () => {
  it("reports a process's loop delay over a window, and starts a new window on each sample", async () => {
    const dir = mkdtempSync(join(tmpdir(), "natter-loop-delay-"));
    const file = join(dir, "loop-delay.json");
    // A process whose loop is blocked for 120 ms every 300 ms, with the probe loaded as the bench loads it.
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        "--import",
        new URL("../../bench/loop-delay-probe.ts", import.meta.url).href,
        "-e",
        "setInterval(() => { const t = Date.now(); while (Date.now() - t < 120); }, 300); process.stdout.write('ready\\n');",
      ],
      { env: { ...process.env, NATTER_BENCH_LOOP_DELAY_FILE: file }, stdio: ["ignore", "pipe", "inherit"] },
    );
    try {
      await new Promise<void>((resolve) => child.stdout.once("data", () => resolve()));
      const probe = loopDelayProbe(child.pid ?? 0, file);
      await probe.sample(); // starts the measured window
      await new Promise((r) => setTimeout(r, 1500));
      const busy = await probe.sample();
      assert.ok(busy.samples > 0, "the window has samples");
      assert.ok(busy.max >= 80 && busy.max < 1000, `max ${busy.max} ms reflects the 120 ms blocks`);
      assert.ok(busy.p99 >= 80, `p99 ${busy.p99} ms`);
    } finally {
      child.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
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
