// Presence (issues 3 and 13): `accounts` accounts, each with `contacts` contacts among the others on a ring
// (subscription "both" both ways; bench/ring-contacts.ts, written into each server's storage before it starts).
//
// Login storm: every account logs in, `concurrency` at a time: connect, SASL, bind, roster get (RFC 6121 §2.1.3,
// waiting for the result), then initial presence. The server broadcasts each initial presence to the contacts
// online and probes every contact (RFC 6121 §4.2), so once everyone is on, every account has received the
// available presence of each of its contacts. Reports contact presences delivered per second (first connect →
// last contact presence received), login time (connect → roster received and initial presence sent) p50/p99,
// the time until every account had logged in and until every account had its whole roster's presence.
//
// Update phase: then every account sends `updates` presence changes (`<show>away</show><status>n</status>`),
// all accounts at once, each with one in flight: the server reflects a user's presence to the user's own
// resource too (RFC 6121 §4.4.2), and that echo lets the account send its next. Reports contact presences
// delivered per second (received during the phase ÷ start of the phase → last one received) and the delivery
// latency (a change's send → each contact's receipt) p50/p99.
//
// A first, unmeasured pass logs in (without presence) every account this process has not used yet, so the
// client's SCRAM key cache is warm and the measured pass times the server.

import type { BenchClient } from "../client.js";
import { ringContacts } from "../ring-contacts.js";
import { cpuSeconds, Histogram, ownCpuSeconds, pool, sleep } from "../stats.js";
import { hasLoggedIn, type Log, loginUser, type Metric, type Target } from "../target.js";
import { PresenceStream } from "./presence-stream.js";

export interface PresenceOptions {
  accounts: number;
  contacts: number;
  /** Presence changes each account sends in the update phase (0: no update phase). */
  updates: number;
  concurrency: number;
  /** Seconds to wait, after the last login (and after the last update sent), for the presence to arrive. */
  settleLimit: number;
}

/** The table's name of a shape: 1000x10. */
export const shapeName = (o: { accounts: number; contacts: number }) => `${o.accounts}x${o.contacts}`;

const ROSTER_GET = "<iq type='get' id='bench-roster'><query xmlns='jabber:iq:roster'/></iq>";
const ROSTER_ITEM = /<item\s/g;

/** One logged-in account: what it has seen and what it waits for. */
class Member {
  /** Bare JIDs of the contacts seen available. */
  readonly available = new Set<string>();
  rosterItems = -1;
  /** The update whose echo this account waits for, and who to tell. */
  echo: { n: string; resolve: () => void } | undefined;
  roster: { resolve: () => void; reject: (err: Error) => void } | undefined;

  constructor(
    readonly index: number,
    readonly bare: string,
    readonly client: BenchClient,
  ) {}
}

type Phase = "login" | "update" | "closing";

export async function runPresence(target: Target, opts: PresenceOptions, log: Log): Promise<Metric[]> {
  const shape = shapeName(opts);
  const plog: Log = (line) => log(`presence ${shape}: ${line}`);
  const indices = Array.from({ length: opts.accounts }, (_, i) => i + 1);
  const jidOf = (i: number) => `${target.userPrefix}${i}@${target.domain}`;
  const cold = indices.filter((i) => !hasLoggedIn(target, i));
  if (cold.length > 0) {
    plog(`${cold.length} warm-up logins without presence (not measured: fills the client's SCRAM key cache)`);
    const closing: Promise<void>[] = [];
    await pool(cold.length, opts.concurrency, async (k) => {
      const c = await loginUser(target, cold[k] ?? 1, false);
      closing.push(c.close());
    });
    await Promise.all(closing);
    await sleep(1000);
  }

  plog(
    `${opts.accounts} accounts × ${opts.contacts} contacts log in (roster get, initial presence), ${opts.concurrency} at a time`,
  );
  const members: Member[] = [];
  const loginHist = new Histogram();
  const rosterHist = new Histogram();
  /** connect → the presence of every contact that had sent its own before this account sent its. */
  const onlineHist = new Histogram();
  const updateHist = new Histogram();
  const online = new Set<number>();
  /** Per sender bare JID: when it sent update n (index n). */
  const sentAt = new Map<string, Float64Array>();
  let phase: Phase = "login";
  let complete = 0;
  let failures = 0;
  let rosterMismatches = 0;
  let firstError = "";
  let loginDelivered = 0;
  let updateDelivered = 0;
  let updateExpected = Number.POSITIVE_INFINITY;
  let lastLoginPresence = 0;
  let lastUpdate = 0;
  let allComplete: () => void = () => {};
  const completed = new Promise<void>((resolve) => {
    allComplete = resolve;
  });
  let allUpdated: () => void = () => {};
  const updated = new Promise<void>((resolve) => {
    allUpdated = resolve;
  });
  const fail = (err: unknown) => {
    failures++;
    firstError ||= (err as Error).message;
  };

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
      fail(err);
      return;
    }
    const member = new Member(index, jidOf(index), client);
    let done = false;
    let waiting: Set<string> | undefined;
    const stream = new PresenceStream(
      (p) => {
        const now = performance.now();
        if (p.fromBare === member.bare) {
          // The server's reflection of this account's own presence (RFC 6121 §4.2.2, §4.4.2).
          if (member.echo !== undefined && p.status === member.echo.n) member.echo.resolve();
          return;
        }
        if (phase === "login") {
          loginDelivered++;
          lastLoginPresence = now;
        } else if (phase === "update") {
          updateDelivered++;
          lastUpdate = now;
          const sent = p.status === undefined ? undefined : sentAt.get(p.fromBare)?.[Number(p.status)];
          if (sent !== undefined && sent > 0) updateHist.record(now - sent);
          if (updateDelivered >= updateExpected) allUpdated();
        } else return;
        if (p.type === undefined) member.available.add(p.fromBare);
        else if (p.type === "unavailable") member.available.delete(p.fromBare);
        if (waiting !== undefined && [...waiting].every((c) => member.available.has(c))) {
          waiting = undefined;
          onlineHist.record(now - start);
        }
        if (!done && member.available.size >= opts.contacts) {
          done = true;
          rosterHist.record(now - start);
          if (++complete + failures >= opts.accounts) allComplete();
        }
      },
      (iq) => {
        if (iq.id !== "bench-roster" || member.roster === undefined) return;
        const { resolve, reject } = member.roster;
        member.roster = undefined;
        if (iq.type !== "result") reject(new Error(`roster get failed: ${iq.xml.slice(0, 300)}`));
        else {
          member.rosterItems = iq.xml.match(ROSTER_ITEM)?.length ?? 0;
          resolve();
        }
      },
    );
    // Attached in the same tick as the bind result was read, before anything is sent: nothing is missed.
    client.socket.on("data", (chunk: string) => stream.feed(chunk));
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no roster result within ${target.stepTimeoutMs} ms`)),
          target.stepTimeoutMs,
        );
        member.roster = {
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
          reject: (err) => {
            clearTimeout(timer);
            reject(err);
          },
        };
        client.socket.write(ROSTER_GET);
      });
    } catch (err) {
      fail(err);
      client.destroy();
      return;
    }
    if (member.rosterItems !== opts.contacts) {
      if (rosterMismatches++ === 0)
        plog(`${member.bare}'s roster has ${member.rosterItems} items, not ${opts.contacts}`);
    }
    client.socket.write("<presence/>");
    loginHist.record(performance.now() - start);
    const contacts = ringContacts(index, opts.accounts, opts.contacts).filter((c) => online.has(c));
    online.add(index);
    waiting = new Set(contacts.map(jidOf));
    if (waiting.size === 0) {
      waiting = undefined;
      onlineHist.record(performance.now() - start);
    }
    members.push(member);
  });
  const loggedIn = performance.now();
  if (failures > 0) plog(`${failures} logins failed: ${firstError}`);
  if (complete + failures >= opts.accounts) allComplete();
  plog(`all logged in after ${((loggedIn - t0) / 1000).toFixed(1)} s; waiting for every roster's presence`);
  const progress = setInterval(
    () => plog(`${complete}/${members.length} accounts have every contact's presence`),
    5000,
  );
  await Promise.race([completed, sleep(opts.settleLimit * 1000)]);
  clearInterval(progress);
  const settled = performance.now();
  const everyone = complete + failures >= opts.accounts;
  const loginSeconds = ((everyone ? lastLoginPresence : settled) - t0) / 1000;
  const loginCpu = target.pid ? cpuSeconds(target.pid) : 0;
  const loginOwn = ownCpuSeconds();
  let cpu1 = loginCpu;
  let own1 = loginOwn;
  const incomplete = members.length - complete;
  if (incomplete > 0) {
    const missing = members.map((m) => opts.contacts - m.available.size).filter((n) => n > 0);
    plog(
      `${incomplete} accounts still miss contacts' presence after ${opts.settleLimit} s (up to ${Math.max(...missing)} each)`,
    );
  }

  // Update phase: everyone at once, one change in flight per account (its own echo releases the next).
  let updateSeconds = Number.NaN;
  let missedEchoes = 0;
  let cpu2 = loginCpu;
  let own2 = loginOwn;
  if (opts.updates > 0) {
    await sleep(500); // let the login storm's last stanzas drain
    const present = new Set(members.map((m) => m.index));
    updateExpected = 0;
    for (const m of members) {
      updateExpected +=
        ringContacts(m.index, opts.accounts, opts.contacts).filter((c) => present.has(c)).length * opts.updates;
      sentAt.set(m.bare, new Float64Array(opts.updates + 1));
    }
    plog(
      `${members.length} accounts send ${opts.updates} presence changes each, one in flight; ${updateExpected} deliveries expected`,
    );
    phase = "update";
    if (updateExpected === 0) allUpdated();
    cpu1 = target.pid ? cpuSeconds(target.pid) : 0;
    own1 = ownCpuSeconds();
    const t1 = performance.now();
    await Promise.all(
      members.map(async (m) => {
        const times = sentAt.get(m.bare) as Float64Array;
        for (let n = 1; n <= opts.updates; n++) {
          const echoed = new Promise<boolean>((resolve) => {
            // As long as the deliveries may take: a server that falls behind delays the echo with them.
            const timer = setTimeout(() => resolve(false), opts.settleLimit * 1000);
            m.echo = {
              n: String(n),
              resolve: () => {
                clearTimeout(timer);
                resolve(true);
              },
            };
          });
          times[n] = performance.now();
          m.client.socket.write(`<presence><show>away</show><status>${n}</status></presence>`);
          const ok = await echoed;
          m.echo = undefined;
          if (!ok) {
            missedEchoes++;
            return;
          }
        }
      }),
    );
    plog(`every change sent after ${((performance.now() - t1) / 1000).toFixed(1)} s; waiting for the deliveries`);
    await Promise.race([updated, sleep(opts.settleLimit * 1000)]);
    const end = updateDelivered >= updateExpected ? lastUpdate : performance.now();
    updateSeconds = (end - t1) / 1000;
    cpu2 = target.pid ? cpuSeconds(target.pid) : 0;
    own2 = ownCpuSeconds();
    if (missedEchoes > 0) plog(`${missedEchoes} accounts saw no echo of a change within ${opts.settleLimit} s`);
    if (updateDelivered < updateExpected)
      plog(`${updateExpected - updateDelivered} of ${updateExpected} deliveries missing after ${opts.settleLimit} s`);
  }
  phase = "closing"; // the unavailable presences of the close below are not counted
  plog(`closing ${members.length} sessions`);
  await pool(members.length, 200, (k) => (members[k] as Member).client.close());

  const key = `presence_${shape}`;
  const label = `presence ${opts.accounts.toLocaleString("en-US")} × ${opts.contacts}`;
  const missedDeliveries = opts.updates > 0 ? Math.max(0, updateExpected - updateDelivered) : 0;
  const metrics: Metric[] = [
    {
      key: `${key}_login_per_s`,
      label: `${label}, all log in: contact presences/s`,
      value: loginDelivered / loginSeconds,
      unit: "/s",
      better: "higher",
    },
    {
      key: `${key}_login_delivered`,
      label: `${label}, all log in: contact presences`,
      value: loginDelivered,
      unit: "",
      better: "info",
    },
    {
      key: `${key}_login_p50_ms`,
      label: `${label}: login (to roster and presence) p50`,
      value: loginHist.quantile(0.5),
      unit: "ms",
      better: "lower",
    },
    {
      key: `${key}_login_p99_ms`,
      label: `${label}: login (to roster and presence) p99`,
      value: loginHist.quantile(0.99),
      unit: "ms",
      better: "lower",
    },
    {
      key: `${key}_all_logged_in_s`,
      label: `${label}: all logged in after`,
      value: (loggedIn - t0) / 1000,
      unit: "s",
      better: "lower",
    },
    {
      key: `${key}_online_p99_ms`,
      label: `${label}: connect → online contacts' presence p99`,
      value: onlineHist.quantile(0.99),
      unit: "ms",
      better: "lower",
    },
    {
      key: `${key}_roster_p99_ms`,
      label: `${label}: connect → all contacts' presence p99`,
      value: rosterHist.quantile(0.99),
      unit: "ms",
      better: "lower",
    },
    {
      key: `${key}_settled_s`,
      label: `${label}: every roster's presence after`,
      value: everyone ? (lastLoginPresence - t0) / 1000 : Number.NaN,
      unit: "s",
      better: "lower",
    },
  ];
  if (target.pid) {
    // Per server CPU-second: steadier than the rates when other work shares the server's core.
    metrics.push({
      key: `${key}_login_per_cpu_s`,
      label: `${label}, all log in: contact presences per server CPU-second`,
      value: loginDelivered / (loginCpu - cpu0),
      unit: "",
      better: "higher",
    });
    metrics.push({
      key: `${key}_login_server_cpu`,
      label: `${label}, all log in: server CPU`,
      value: ((loginCpu - cpu0) / loginSeconds) * 100,
      unit: "%",
      better: "info",
    });
  }
  metrics.push({
    key: `${key}_login_client_cpu`,
    label: `${label}, all log in: load generator CPU`,
    value: ((loginOwn - own0) / loginSeconds) * 100,
    unit: "%",
    better: "info",
  });
  if (opts.updates > 0) {
    const then = `${label}, then ${opts.updates} presence updates each`;
    metrics.push(
      {
        key: `${key}_update_per_s`,
        label: `${then}: deliveries/s`,
        value: updateDelivered / updateSeconds,
        unit: "/s",
        better: "higher",
      },
      {
        key: `${key}_update_p50_ms`,
        label: `${then}: delivery p50`,
        value: updateHist.quantile(0.5),
        unit: "ms",
        better: "lower",
      },
      {
        key: `${key}_update_p99_ms`,
        label: `${then}: delivery p99`,
        value: updateHist.quantile(0.99),
        unit: "ms",
        better: "lower",
      },
      {
        key: `${key}_update_delivered`,
        label: `${then}: deliveries`,
        value: updateDelivered,
        unit: "",
        better: "info",
      },
    );
    if (target.pid) {
      metrics.push({
        key: `${key}_update_per_cpu_s`,
        label: `${then}: deliveries per server CPU-second`,
        value: updateDelivered / (cpu2 - cpu1),
        unit: "",
        better: "higher",
      });
      metrics.push({
        key: `${key}_update_server_cpu`,
        label: `${then}: server CPU`,
        value: ((cpu2 - cpu1) / updateSeconds) * 100,
        unit: "%",
        better: "info",
      });
    }
    metrics.push({
      key: `${key}_update_client_cpu`,
      label: `${then}: load generator CPU`,
      value: ((own2 - own1) / updateSeconds) * 100,
      unit: "%",
      better: "info",
    });
  }
  metrics.push({
    key: `${key}_failures`,
    label: `${label}: failed logins + incomplete rosters + wrong roster sizes + missed echoes and deliveries`,
    value: failures + incomplete + rosterMismatches + missedEchoes + missedDeliveries,
    unit: "",
    better: "lower",
  });
  return metrics;
}
