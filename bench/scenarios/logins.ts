// Logins: `count` accounts log in (stream, SASL, bind, optional presence), `concurrency` at a time,
// and each session is closed once bound, or with `hold` (--logins-hold) kept open until all have logged in
// (issue 13's "10,000 sessions, 100 in flight": the server holds every session by the end, so later logins
// pay for a fuller server), then closed untimed. Reports logins/s and login-time percentiles.
//
// A SCRAM client must run PBKDF2 once per (password, salt, iterations); a first unmeasured pass
// fills that cache so the measured pass times the server, not the load generator's hashing, and
// warms up the server.

import type { BenchClient } from "../client.js";
import { Histogram, ownCpuSeconds, pool, cpuSeconds } from "../stats.js";
import { hasLoggedIn, type Log, type Metric, type Target, loginUser } from "../target.js";

export interface LoginsOptions {
  count: number;
  concurrency: number;
  presence: boolean;
  /** Keep each session open until the pass ends instead of closing it once bound. */
  hold?: boolean;
}

async function pass(target: Target, opts: LoginsOptions, indices: number[], hist: Histogram | undefined, hold: boolean) {
  let failures = 0;
  let firstError = "";
  const closing: Promise<void>[] = [];
  const held: BenchClient[] = [];
  await pool(indices.length, opts.concurrency, async (i) => {
    const index = indices[i] ?? 1;
    const t0 = performance.now();
    let client: BenchClient;
    try {
      client = await loginUser(target, index, opts.presence);
    } catch (err) {
      failures++;
      firstError ||= (err as Error).message;
      return;
    }
    hist?.record(performance.now() - t0);
    if (hold) held.push(client);
    else closing.push(client.close());
  });
  const end = performance.now();
  const stillOpen = held.filter((c) => c.open).length;
  await Promise.all(closing);
  await pool(held.length, 500, (i) => (held[i] as BenchClient).close());
  return { failures, firstError, end, held: stillOpen };
}

export async function runLogins(target: Target, opts: LoginsOptions, log: Log): Promise<Metric[]> {
  const all = Array.from({ length: opts.count }, (_, i) => i + 1);
  // Unmeasured first: every account this process has not logged in yet (its keys are not cached),
  // and at least 500 logins so a JIT-compiled server is warm (each scenario gets a fresh server).
  const warm = all.filter((i) => i <= 500 || !hasLoggedIn(target, i));
  log(`logins: ${warm.length} warm-up logins (not measured)`);
  const w = await pass(target, opts, warm, undefined, false);
  if (w.failures > 0) log(`logins: ${w.failures} warm-up logins failed: ${w.firstError}`);
  log(`logins: ${opts.count} logins, ${opts.concurrency} at a time${opts.hold ? ", every session held open" : ""}`);
  const hist = new Histogram();
  const cpu0 = target.pid ? cpuSeconds(target.pid) : 0;
  const own0 = ownCpuSeconds();
  const t0 = performance.now();
  const r = await pass(target, opts, all, hist, opts.hold === true);
  const seconds = (r.end - t0) / 1000;
  if (r.failures > 0) log(`logins: ${r.failures} failed: ${r.firstError}`);
  const metrics: Metric[] = [
    { key: "logins_per_s", label: "logins/s", value: hist.count / seconds, unit: "/s", better: "higher" },
    { key: "login_p50_ms", label: "login time p50", value: hist.quantile(0.5), unit: "ms", better: "lower" },
    { key: "login_p99_ms", label: "login time p99", value: hist.quantile(0.99), unit: "ms", better: "lower" },
    { key: "login_failures", label: "failed logins", value: r.failures, unit: "", better: "lower" },
  ];
  if (opts.hold) metrics.push({ key: "login_sessions_held", label: "sessions open when the last login ended", value: r.held, unit: "", better: "info" });
  if (target.pid) {
    metrics.push({
      key: "login_server_cpu",
      label: "server CPU during logins",
      value: ((cpuSeconds(target.pid) - cpu0) / seconds) * 100,
      unit: "%",
      better: "info",
    });
  }
  metrics.push({
    key: "login_client_cpu",
    label: "load generator CPU during logins",
    value: ((ownCpuSeconds() - own0) / seconds) * 100,
    unit: "%",
    better: "info",
  });
  return metrics;
}
