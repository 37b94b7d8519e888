// s2s: two Natters on loopback federating with each other (dialback over STARTTLS, s2s.resolve instead of
// DNS). `pairs` users on the first server each keep `inflight` chat messages on the way to a partner on
// the second, and the partners answer the same way back (a closed loop in both directions over the two
// s2s connections). Reports messages per second across the link and latency from writing a message to
// reading it on the other server (p50/p99). Starts and stops its own two servers, whatever the target.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BenchClient } from "../client.js";
import {
  type NatterOptions,
  createNatterAccounts,
  freePort,
  natterCommand,
  startNatter,
  writeUsersCsv,
} from "../servers.js";
import { Histogram, cpuSeconds, pool, sleep } from "../stats.js";
import { type Log, type Metric, type Target, loginUser } from "../target.js";

export interface S2sOptions {
  pairs: number;
  inflight: number;
  duration: number;
  warmup: number;
}

const PASSWORD = "s2s-bench-password";

function writeConfig(
  dir: string,
  domain: string,
  ports: { c2s: number; http: number; s2s: number },
  peer: { domain: string; s2s: number },
): string {
  const file = join(dir, "natter.yaml");
  writeFileSync(
    file,
    `# Written by natter bench (s2s scenario). Not for production.
hosts: [${JSON.stringify(domain)}]
data_dir: ${JSON.stringify(join(dir, "data"))}
log_level: warn
control_socket: ${JSON.stringify(join(dir, "natter.sock"))}
listeners:
  c2s: { port: ${ports.c2s}, bind: ["127.0.0.1"] }
  c2s_direct_tls: { enabled: false }
  http: { port: ${ports.http}, bind: ["127.0.0.1"] }
  https: { enabled: false }
  s2s: { port: ${ports.s2s}, bind: ["127.0.0.1"] }
  s2s_direct_tls: { enabled: false }
c2s:
  require_encryption: false
auth:
  throttle:
    per_ip: { delay_after: 0, attempts: 0 }
    per_ip_account: { delay_after: 0, attempts: 0 }
    per_account: { delay_after: 0 }
# Every bench client comes from 127.0.0.1: the per-address cap on unauthenticated connections (20) would
# refuse all but the first logins of a batch.
unauthenticated: { max_connections: 100000, exempt_addresses: ["127.0.0.0/8"] }
s2s:
  secure: false             # self-signed certificates: dialback
  # One link carries every pair's traffic: the default per-connection input rate (5000 stanzas/s) would
  # measure the limit, not the server.
  rate_limit: { bytes_per_second: 0, stanzas_per_second: 0 }
  resolve:
    ${JSON.stringify(peer.domain)}: "127.0.0.1:${peer.s2s}"
# Likewise anti-spam's per-remote-domain limit, and its per-account one for the senders.
modules: { mam: false, "anti-spam": { s2s_domain_rate: { per_minute: 0 }, account_rate: { messages: { per_minute: 0 } } } }
`,
  );
  return file;
}

export async function runS2s(target: Target | undefined, opts: S2sOptions, log: Log): Promise<Metric[]> {
  const command = natterCommand();
  if (!command) throw new Error("s2s: cannot find Natter's entry point");
  const domains = ["s2s-a.bench", "s2s-b.bench"] as const;
  const ports = await Promise.all(
    domains.map(async () => ({ c2s: await freePort(), http: await freePort(), s2s: await freePort() })),
  );
  const dirs = domains.map(() => mkdtempSync(join(tmpdir(), "natter-bench-s2s-")));
  const servers: { stop(): Promise<void>; pid: number }[] = [];
  try {
    log(`s2s: starting two Natters (${domains.join(", ")}) with ${opts.pairs} accounts each`);
    await Promise.all(
      domains.map(async (domain, i) => {
        const other = 1 - i;
        const o: NatterOptions = { dir: dirs[i]!, domain, command, mam: false };
        const config = writeConfig(dirs[i]!, domain, ports[i]!, { domain: domains[other]!, s2s: ports[other]!.s2s });
        const csv = join(dirs[i]!, "users.csv");
        writeUsersCsv(csv, domain, "u", opts.pairs, PASSWORD);
        await createNatterAccounts(o, config, csv);
        servers[i] = await startNatter(o, config, ports[i]!.c2s, ports[i]!.http);
      }),
    );
    const targets: Target[] = domains.map((domain, i) => ({
      name: `Natter ${domain}`,
      host: "127.0.0.1",
      port: ports[i]!.c2s,
      httpPort: undefined,
      transport: "tcp",
      domain,
      pid: servers[i]!.pid,
      userPrefix: "u",
      password: PASSWORD,
      mechanism: target?.mechanism ?? "SCRAM-SHA-1",
      stepTimeoutMs: target?.stepTimeoutMs ?? 30_000,
    }));
    const left: BenchClient[] = [];
    const right: BenchClient[] = [];
    await pool(opts.pairs, 25, async (i) => {
      left[i] = await loginUser(targets[0]!, i + 1, true);
      right[i] = await loginUser(targets[1]!, i + 1, true);
    });

    const hist = new Histogram();
    let sending = true;
    let measuring = false;
    let delivered = 0;
    let errors = 0;
    let inflight = 0;
    let lost: Error | undefined;
    const wire = (from: BenchClient, to: BenchClient) => {
      const head = `<message type='chat' to='${to.jid}'><body>`;
      const send = () => {
        inflight++;
        from.send(`${head}${performance.now()}</body></message>`);
      };
      return send;
    };
    const sends: (() => void)[] = [];
    for (let i = 0; i < opts.pairs; i++) {
      const a = left[i]!;
      const b = right[i]!;
      const aToB = wire(a, b);
      const bToA = wire(b, a);
      sends.push(aToB, bToA);
      // Each delivery lets the same direction send its next message; bounces count as errors.
      const onDelivery = (next: () => void) => (body: string, isError: boolean) => {
        if (body === "") return;
        inflight--;
        if (isError) errors++;
        else if (measuring) {
          delivered++;
          hist.record(performance.now() - Number(body));
        }
        if (sending) next();
      };
      b.onMessage = onDelivery(aToB);
      a.onMessage = onDelivery(bToA);
      a.onClosed = b.onClosed = (err) => {
        lost ??= err ?? new Error("connection closed");
      };
    }
    log(
      `s2s: ${opts.pairs} pairs × ${opts.inflight} in flight each way, ${opts.warmup} s warm-up, ${opts.duration} s measured`,
    );
    for (let n = 0; n < opts.inflight; n++) for (const send of sends) send();
    await sleep(opts.warmup * 1000);
    const cpu0 = servers.map((s) => cpuSeconds(s.pid));
    const t0 = performance.now();
    measuring = true;
    await sleep(opts.duration * 1000);
    measuring = false;
    const seconds = (performance.now() - t0) / 1000;
    const cpu = servers.map((s, i) => ((cpuSeconds(s.pid) - cpu0[i]!) / seconds) * 100);
    sending = false;
    const drainUntil = performance.now() + 10_000;
    while (inflight > 0 && performance.now() < drainUntil && lost === undefined) await sleep(50);
    if (inflight > 0) log(`s2s: ${inflight} messages not delivered after the run`);
    if (lost) log(`s2s: a session was closed during the run: ${lost.message}`);
    if (errors > 0) log(`s2s: ${errors} error bounces`);
    await Promise.all([...left, ...right].map((c) => c.close()));
    return [
      {
        key: "s2s_messages_per_s",
        label: "s2s messages/s across the link (both ways)",
        value: delivered / seconds,
        unit: "/s",
        better: "higher",
      },
      { key: "s2s_p50_ms", label: "s2s message latency p50", value: hist.quantile(0.5), unit: "ms", better: "lower" },
      { key: "s2s_p99_ms", label: "s2s message latency p99", value: hist.quantile(0.99), unit: "ms", better: "lower" },
      { key: "s2s_errors", label: "s2s errors / undelivered", value: errors + inflight, unit: "", better: "lower" },
      {
        key: "s2s_server_cpu",
        label: "s2s server CPU (sender + receiver)",
        value: cpu[0]! + cpu[1]!,
        unit: "%",
        better: "info",
      },
    ];
  } finally {
    await Promise.all(servers.map((s) => s?.stop()));
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}

// Standalone: node --import tsx bench/scenarios/s2s.ts [pairs] [seconds]
if (import.meta.url === `file://${process.argv[1]}`) {
  const pairs = Number(process.argv[2] ?? 100);
  const duration = Number(process.argv[3] ?? 10);
  const metrics = await runS2s(undefined, { pairs, inflight: 5, duration, warmup: 3 }, (l) =>
    process.stderr.write(`${l}\n`),
  );
  for (const m of metrics) console.log(`${m.label}: ${m.value.toFixed(1)} ${m.unit}`);
}
