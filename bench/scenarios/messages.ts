// Messages: `pairs` sender→receiver pairs, each keeping `inflight` one-to-one chat messages on the
// way (a closed loop: every delivery lets its sender send the next one). After `warmup` seconds,
// deliveries are counted for `duration` seconds; latency is the time from writing a message to
// reading it, from a timestamp in its body (one process, one monotonic clock).

import type { BenchClient } from "../client.js";
import { Histogram, cpuSeconds, ownCpuSeconds, pool, sleep } from "../stats.js";
import { type Log, type Metric, type Target, loginUser } from "../target.js";

export interface MessagesOptions {
  pairs: number;
  inflight: number;
  duration: number;
  warmup: number;
  presence: boolean;
}

export async function runMessages(target: Target, opts: MessagesOptions, log: Log): Promise<Metric[]> {
  log(`messages: logging in ${opts.pairs * 2} sessions`);
  const senders: BenchClient[] = [];
  const receivers: BenchClient[] = [];
  await pool(opts.pairs, 50, async (i) => {
    senders[i] = await loginUser(target, i + 1, opts.presence);
    receivers[i] = await loginUser(target, opts.pairs + i + 1, opts.presence);
  });

  const hist = new Histogram();
  let sending = true;
  let measuring = false;
  let delivered = 0;
  let errors = 0;
  let inflight = 0;
  let lost: Error | undefined;

  for (let i = 0; i < opts.pairs; i++) {
    const sender = senders[i] as BenchClient;
    const receiver = receivers[i] as BenchClient;
    const head = `<message type='chat' to='${receiver.jid}'><body>`;
    const send = () => {
      inflight++;
      sender.send(`${head}${performance.now()}</body></message>`);
    };
    receiver.onMessage = (body, isError) => {
      if (body === "") return; // not one of ours (e.g. a server notice)
      inflight--;
      if (isError) errors++;
      else if (measuring) {
        delivered++;
        hist.record(performance.now() - Number(body));
      }
      if (sending) send();
    };
    // A bounce comes back to the sender.
    sender.onMessage = (body, isError) => {
      if (!isError || body === "") return;
      inflight--;
      errors++;
      if (sending) send();
    };
    const onClosed = (err: Error | undefined) => {
      lost ??= err ?? new Error("connection closed");
    };
    sender.onClosed = onClosed;
    receiver.onClosed = onClosed;
  }

  log(`messages: ${opts.pairs} pairs × ${opts.inflight} in flight, ${opts.warmup} s warm-up, ${opts.duration} s measured`);
  for (let n = 0; n < opts.inflight; n++) {
    for (let i = 0; i < opts.pairs; i++) {
      const receiver = receivers[i] as BenchClient;
      inflight++;
      (senders[i] as BenchClient).send(`<message type='chat' to='${receiver.jid}'><body>${performance.now()}</body></message>`);
    }
  }
  await sleep(opts.warmup * 1000);
  // The server's event-loop delay over the measured window (issue 13: p99 under 50 ms at 1,000 pairs).
  await target.loopDelay?.sample();
  const cpu0 = target.pid ? cpuSeconds(target.pid) : 0;
  const own0 = ownCpuSeconds();
  const t0 = performance.now();
  measuring = true;
  await sleep(opts.duration * 1000);
  measuring = false;
  const seconds = (performance.now() - t0) / 1000;
  const loop = await target.loopDelay?.sample();
  const serverCpu = target.pid ? ((cpuSeconds(target.pid) - cpu0) / seconds) * 100 : Number.NaN;
  const clientCpu = ((ownCpuSeconds() - own0) / seconds) * 100;
  sending = false;

  // Drain what is still on the way (bounded), then close.
  const drainUntil = performance.now() + 10_000;
  while (inflight > 0 && performance.now() < drainUntil && lost === undefined) await sleep(50);
  if (inflight > 0) log(`messages: ${inflight} messages not delivered after the run`);
  if (lost) log(`messages: a session was closed during the run: ${lost.message}`);
  if (errors > 0) log(`messages: ${errors} error bounces`);
  await Promise.all([...senders, ...receivers].map((c) => c.close()));

  const metrics: Metric[] = [
    { key: "messages_per_s", label: "delivered messages/s", value: delivered / seconds, unit: "/s", better: "higher" },
    { key: "message_p50_ms", label: "message latency p50", value: hist.quantile(0.5), unit: "ms", better: "lower" },
    { key: "message_p99_ms", label: "message latency p99", value: hist.quantile(0.99), unit: "ms", better: "lower" },
    { key: "message_errors", label: "message errors / undelivered", value: errors + inflight, unit: "", better: "lower" },
  ];
  if (loop !== undefined) {
    metrics.push({ key: "message_loop_p99_ms", label: "server event-loop delay p99", value: loop.p99, unit: "ms", better: "lower" });
    metrics.push({ key: "message_loop_max_ms", label: "server event-loop delay max", value: loop.max, unit: "ms", better: "info" });
  }
  if (target.pid) {
    metrics.push({ key: "message_server_cpu", label: "server CPU during messages", value: serverCpu, unit: "%", better: "info" });
    // What a message costs the server, whatever else shares the machine's cores: steadier than messages/s
    // when other work takes CPU from the server.
    metrics.push({
      key: "messages_per_cpu_s",
      label: "messages per server CPU-second",
      value: delivered / seconds / (serverCpu / 100),
      unit: "",
      better: "higher",
    });
  }
  metrics.push({ key: "message_client_cpu", label: "load generator CPU during messages", value: clientCpu, unit: "%", better: "info" });
  return metrics;
}
