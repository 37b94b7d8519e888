// Presence (issue 3): `accounts` accounts, each with `contacts` contacts among the others (subscription
// "both" both ways, provisioned into storage before the server starts: bench/provision-rosters.ts), all
// log in at once, `concurrency` at a time, and send initial presence. The server broadcasts each one to
// the contacts online and probes every contact (RFC 6121 §4.2), so once everyone is on, every account
// has received the available presence of each of its contacts.
//
// Reports: presence stanzas delivered to the clients per second (from the first connect to the last
// presence received), login time (connect → bound and initial presence sent) p50/p99, the time until
// every account had logged in, the time until every account had its whole roster's presence, and the
// p99 of each account's time from connect to its last contact's presence.
//
// A first, unmeasured pass logs in (without presence) every account this process has not used yet, so
// the client's SCRAM key cache is warm and the measured pass times the server.

import type { BenchClient } from "../client.js";
import { ringContacts } from "../provision-rosters.js";
import { Histogram, cpuSeconds, ownCpuSeconds, pool, sleep } from "../stats.js";
import { hasLoggedIn, type Log, type Metric, type Target, loginUser } from "../target.js";

export interface PresenceOptions {
  accounts: number;
  contacts: number;
  concurrency: number;
  /** Seconds to wait, after the last login, for every roster's presence to arrive. */
  settleLimit: number;
}

const PRESENCE_TAG = /<presence\b[^>]*>/g;
const FROM = /\sfrom=["']([^"'/]+)(?:\/[^"']*)?["']/;
const TYPE = /\stype=["']([^"']+)["']/;

/** Per account: presence stanzas seen, and the bare JIDs of contacts seen available. */
class PresenceTap {
  count = 0;
  readonly available = new Set<string>();
  private rest = "";

  constructor(
    private readonly self: string,
    private readonly onStanza: (tap: PresenceTap) => void,
  ) {}

  feed(chunk: string): void {
    let s = this.rest + chunk;
    // Keep an unfinished tag for the next chunk.
    const lt = s.lastIndexOf("<");
    if (lt >= 0 && s.indexOf(">", lt) < 0) {
      this.rest = s.slice(lt);
      s = s.slice(0, lt);
    } else this.rest = "";
    PRESENCE_TAG.lastIndex = 0;
    for (let m = PRESENCE_TAG.exec(s); m !== null; m = PRESENCE_TAG.exec(s)) {
      this.count++;
      const tag = m[0];
      const from = FROM.exec(tag)?.[1];
      const type = TYPE.exec(tag)?.[1];
      if (from !== undefined && from !== this.self) {
        if (type === undefined) this.available.add(from);
        else if (type === "unavailable") this.available.delete(from);
      }
      this.onStanza(this);
    }
  }
}

export async function runPresence(target: Target, opts: PresenceOptions, log: Log): Promise<Metric[]> {
  const indices = Array.from({ length: opts.accounts }, (_, i) => i + 1);
  const cold = indices.filter((i) => !hasLoggedIn(target, i));
  if (cold.length > 0) {
    log(`presence: ${cold.length} warm-up logins without presence (not measured: fills the client's SCRAM key cache)`);
    const closing: Promise<void>[] = [];
    await pool(cold.length, opts.concurrency, async (k) => {
      const c = await loginUser(target, cold[k] ?? 1, false);
      closing.push(c.close());
    });
    await Promise.all(closing);
    await sleep(1000);
  }

  log(`presence: ${opts.accounts} accounts × ${opts.contacts} contacts log in, ${opts.concurrency} at a time`);
  const clients: BenchClient[] = [];
  const taps: PresenceTap[] = [];
  const loginHist = new Histogram();
  const rosterHist = new Histogram();
  /** connect → the presence of every contact that had sent its own before this account sent its. */
  const onlineHist = new Histogram();
  const online = new Set<number>();
  let complete = 0;
  let failures = 0;
  let firstError = "";
  let lastPresence = 0;
  let counting = true;
  let allComplete: () => void = () => {};
  const completed = new Promise<void>((resolve) => {
    allComplete = resolve;
  });

  const cpu0 = target.pid ? cpuSeconds(target.pid) : 0;
  const own0 = ownCpuSeconds();
  const t0 = performance.now();
  await pool(opts.accounts, opts.concurrency, async (k) => {
    const index = indices[k] ?? 1;
    const start = performance.now();
    let client: BenchClient;
    try {
      client = await loginUser(target, index, false);
    } catch (err) {
      failures++;
      firstError ||= (err as Error).message;
      return;
    }
    let done = false;
    let waiting: Set<string> | undefined;
    const tap = new PresenceTap(client.jid.split("/")[0] ?? "", (t) => {
      lastPresence = performance.now();
      if (waiting !== undefined && [...waiting].every((c) => t.available.has(c))) {
        waiting = undefined;
        onlineHist.record(lastPresence - start);
      }
      if (!done && t.available.size >= opts.contacts) {
        done = true;
        rosterHist.record(lastPresence - start);
        if (++complete + failures >= opts.accounts) allComplete();
      }
    });
    // Attached in the same tick as the bind result was read, before the presence goes out: nothing is missed.
    client.socket.on("data", (chunk: string) => counting && tap.feed(chunk));
    client.socket.write("<presence/>");
    loginHist.record(performance.now() - start);
    const contacts = ringContacts(index, opts.accounts, opts.contacts).filter((c) => online.has(c));
    online.add(index);
    waiting = new Set(contacts.map((c) => `${target.userPrefix}${c}@${target.domain}`));
    if (waiting.size === 0) {
      waiting = undefined;
      onlineHist.record(performance.now() - start);
    }
    clients.push(client);
    taps.push(tap);
  });
  const loggedIn = performance.now();
  if (failures > 0) log(`presence: ${failures} logins failed: ${firstError}`);
  if (complete + failures >= opts.accounts) allComplete();
  log(`presence: all logged in after ${((loggedIn - t0) / 1000).toFixed(1)} s; waiting for every roster's presence`);
  const progress = setInterval(() => log(`presence: ${complete}/${clients.length} accounts have every contact's presence`), 5000);
  await Promise.race([completed, sleep(opts.settleLimit * 1000)]);
  clearInterval(progress);
  const settled = performance.now();
  const everyone = complete + failures >= opts.accounts;
  const last = lastPresence;
  const seconds = ((everyone ? last : settled) - t0) / 1000;
  const serverCpu = target.pid ? ((cpuSeconds(target.pid) - cpu0) / seconds) * 100 : Number.NaN;
  const clientCpu = ((ownCpuSeconds() - own0) / seconds) * 100;
  const delivered = taps.reduce((n, t) => n + t.count, 0);
  counting = false; // the unavailable presences of the close below are not counted
  const incomplete = clients.length - complete;
  if (incomplete > 0) {
    const missing = taps.map((t) => opts.contacts - t.available.size).filter((n) => n > 0);
    log(`presence: ${incomplete} accounts still miss contacts' presence after ${opts.settleLimit} s (up to ${Math.max(...missing)} each)`);
  }
  log(`presence: closing ${clients.length} sessions`);
  await pool(clients.length, 200, (k) => (clients[k] as BenchClient).close());

  const metrics: Metric[] = [
    { key: "presence_accounts", label: "presence: accounts", value: opts.accounts, unit: "", better: "info" },
    { key: "presence_contacts", label: "presence: contacts per account", value: opts.contacts, unit: "", better: "info" },
    { key: "presence_per_s", label: "presence: stanzas delivered/s", value: delivered / seconds, unit: "/s", better: "higher" },
    { key: "presence_delivered", label: "presence: stanzas delivered", value: delivered, unit: "", better: "info" },
    { key: "presence_login_p50_ms", label: "presence: login time p50", value: loginHist.quantile(0.5), unit: "ms", better: "lower" },
    { key: "presence_login_p99_ms", label: "presence: login time p99", value: loginHist.quantile(0.99), unit: "ms", better: "lower" },
    { key: "presence_all_logged_in_s", label: "presence: all logged in after", value: (loggedIn - t0) / 1000, unit: "s", better: "lower" },
    {
      key: "presence_online_p99_ms",
      label: "presence: connect → online contacts' presence p99",
      value: onlineHist.quantile(0.99),
      unit: "ms",
      better: "lower",
    },
    {
      key: "presence_roster_p99_ms",
      label: "presence: connect → all contacts' presence p99",
      value: rosterHist.quantile(0.99),
      unit: "ms",
      better: "lower",
    },
    {
      key: "presence_settled_s",
      label: "presence: every roster's presence after",
      value: everyone ? (last - t0) / 1000 : Number.NaN,
      unit: "s",
      better: "lower",
    },
    { key: "presence_failures", label: "presence: failed logins + incomplete rosters", value: failures + incomplete, unit: "", better: "lower" },
  ];
  if (target.pid) metrics.push({ key: "presence_server_cpu", label: "server CPU during presence", value: serverCpu, unit: "%", better: "info" });
  metrics.push({ key: "presence_client_cpu", label: "load generator CPU during presence", value: clientCpu, unit: "%", better: "info" });
  return metrics;
}
