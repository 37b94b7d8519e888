// BOSH logins (XEP-0124 / XEP-0206 at /http-bind): the logins scenario over HTTP instead of TCP: session
// creation, SCRAM-SHA-1, restart, bind, presence, each session terminated once bound (not timed). Natter only
// (the Prosody config of the comparison has no BOSH). An unmeasured first pass warms the server and the
// client's SCRAM key cache, as in the TCP logins scenario.
import { BoshBenchClient, closeBoshAgent } from "../bosh-client.js";
import { cpuSeconds, Histogram, ownCpuSeconds, pool } from "../stats.js";
import type { Log, Metric, Target } from "../target.js";

export interface BoshLoginsOptions {
  count: number;
  concurrency: number;
  presence: boolean;
}

let resource = 0;

async function pass(target: Target, opts: BoshLoginsOptions, count: number, hist: Histogram | undefined) {
  let failures = 0;
  let firstError = "";
  const closing: Promise<void>[] = [];
  await pool(count, opts.concurrency, async (i) => {
    const t0 = performance.now();
    try {
      const client = await BoshBenchClient.login({
        host: target.host,
        httpPort: target.httpPort as number,
        domain: target.domain,
        username: `${target.userPrefix}${i + 1}`,
        password: target.password,
        resource: `bosh${(++resource).toString(36)}`,
        presence: opts.presence,
        stepTimeoutMs: target.stepTimeoutMs,
      });
      hist?.record(performance.now() - t0);
      closing.push(client.close());
    } catch (err) {
      failures++;
      firstError ||= (err as Error).message;
    }
  });
  const end = performance.now();
  await Promise.all(closing);
  return { failures, firstError, end };
}

export async function runBoshLogins(target: Target, opts: BoshLoginsOptions, log: Log): Promise<Metric[]> {
  if (target.httpPort === undefined) {
    log("bosh: no HTTP port known for this target; skipped");
    return [];
  }
  const warm = Math.min(opts.count, 500);
  log(`bosh: ${warm} warm-up logins (not measured)`);
  const w = await pass(target, opts, warm, undefined);
  if (w.failures > 0) log(`bosh: ${w.failures} warm-up logins failed: ${w.firstError}`);
  log(`bosh: ${opts.count} BOSH logins, ${opts.concurrency} at a time`);
  const hist = new Histogram();
  const cpu0 = target.pid ? cpuSeconds(target.pid) : 0;
  const own0 = ownCpuSeconds();
  const t0 = performance.now();
  const r = await pass(target, opts, opts.count, hist);
  const seconds = (r.end - t0) / 1000;
  if (r.failures > 0) log(`bosh: ${r.failures} failed: ${r.firstError}`);
  closeBoshAgent();
  const metrics: Metric[] = [
    { key: "bosh_logins_per_s", label: "BOSH logins/s", value: hist.count / seconds, unit: "/s", better: "higher" },
    { key: "bosh_login_p50_ms", label: "BOSH login time p50", value: hist.quantile(0.5), unit: "ms", better: "lower" },
    { key: "bosh_login_p99_ms", label: "BOSH login time p99", value: hist.quantile(0.99), unit: "ms", better: "lower" },
    { key: "bosh_login_failures", label: "failed BOSH logins", value: r.failures, unit: "", better: "lower" },
  ];
  if (target.pid) {
    metrics.push({
      key: "bosh_login_server_cpu",
      label: "server CPU during BOSH logins",
      value: ((cpuSeconds(target.pid) - cpu0) / seconds) * 100,
      unit: "%",
      better: "info",
    });
  }
  metrics.push({
    key: "bosh_login_client_cpu",
    label: "load generator CPU during BOSH logins",
    value: ((ownCpuSeconds() - own0) / seconds) * 100,
    unit: "%",
    better: "info",
  });
  return metrics;
}
