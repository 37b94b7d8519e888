// MAM (XEP-0313): one account's archive is filled with `items` messages over the wire (sent to its bare
// JID by `SENDERS` other accounts whose preferences say never, so each is archived once, as it is
// delivered; several senders let the server batch the archive commits), then `queries` page queries of `page`
// items are timed from the middle of the archive, alternating forward (RSM <after/>) and backward
// (<before/>) from a random archived id in its middle 80 %. A query's time runs from writing the iq to
// reading its result, after every result message: what a client waits for.

import type { BenchClient } from "../client.js";
import { Histogram, cpuSeconds, sleep } from "../stats.js";
import { type Log, type Metric, type Target, loginUser } from "../target.js";

export interface MamOptions {
  items: number;
  queries: number;
  page: number;
  /** Messages on the way at once while filling. */
  inflight: number;
  presence: boolean;
}

// Natter writes `<body>N</body><stanza-id xmlns="urn:xmpp:sid:0" id="…" by="…"/>` on delivery.
const STANZA_ID = /<body>(\d+)<\/body><stanza-id xmlns=["']urn:xmpp:sid:0["'] id=["']([^"']+)["']/g;
const SAMPLE_EVERY = 997;
/** Accounts 2..SENDERS+1 send; the bench creates at least 10 accounts. */
const SENDERS = 8;

export async function runMam(target: Target, opts: MamOptions, log: Log): Promise<Metric[]> {
  const client: BenchClient = await loginUser(target, 1, opts.presence);
  const bare = client.jid.split("/")[0] as string;
  const senders: BenchClient[] = [];
  for (let i = 0; i < SENDERS; i++) {
    const s = await loginUser(target, i + 2, opts.presence);
    // XEP-0441: the senders keep no copies, so the only archive that grows is the one queried.
    s.send(`<iq type='set' id='prefs'><prefs xmlns='urn:xmpp:mam:2' default='never'><always/><never/></prefs></iq>`);
    senders.push(s);
  }
  const sampled: string[] = [];
  let raw = "";
  let tap: ((chunk: string) => void) | undefined;
  let lastSeen = "";
  client.socket.on("data", (chunk: string | Buffer) => {
    const text = typeof chunk === "string" ? chunk : chunk.toString("utf8");
    lastSeen = (lastSeen + text).slice(-600);
    tap?.(text);
  });

  // 1. Fill: a closed loop of `inflight` messages to our own bare JID.
  tap = (chunk) => {
    raw += chunk;
    STANZA_ID.lastIndex = 0;
    let m: RegExpExecArray | null = STANZA_ID.exec(raw);
    let end = 0;
    while (m !== null) {
      if (Number(m[1]) % SAMPLE_EVERY === 0) sampled.push(m[2] as string);
      end = m.index + m[0].length;
      m = STANZA_ID.exec(raw);
    }
    raw = raw.slice(Math.max(end, raw.length - 512));
  };
  let sent = 0;
  let delivered = 0;
  let errors = 0;
  let done: () => void = () => {};
  const filled = new Promise<void>((resolve) => {
    done = resolve;
  });
  const send = () => {
    if (sent >= opts.items) return;
    (senders[sent % SENDERS] as BenchClient).send(`<message type='chat' to='${bare}'><body>${sent++}</body></message>`);
  };
  for (const s of senders) {
    s.onMessage = (body, isError) => {
      if (body === "" || !isError) return;
      errors++;
      if (delivered + errors >= opts.items) done();
      else send();
    };
  }
  client.onMessage = (body, isError) => {
    if (body === "") return;
    if (isError) errors++;
    else delivered++;
    if (delivered + errors >= opts.items) done();
    else send();
  };
  client.onClosed = (err) => {
    log(`mam: connection lost: ${err?.message ?? "closed"}; last received: ${lastSeen}`);
    done();
  };
  log(`mam: archiving ${opts.items.toLocaleString("en-US")} messages (${opts.inflight} in flight)`);
  const cpu0 = target.pid ? cpuSeconds(target.pid) : 0;
  const t0 = performance.now();
  for (let i = 0; i < opts.inflight; i++) send();
  const progress = setInterval(() => log(`mam: ${delivered.toLocaleString("en-US")} archived`), 10_000);
  await filled;
  clearInterval(progress);
  const fillSeconds = (performance.now() - t0) / 1000;
  const fillCpu = target.pid ? cpuSeconds(target.pid) - cpu0 : Number.NaN;
  if (errors > 0) throw new Error(`${errors} messages bounced while filling the archive`);
  if (sampled.length < 10) throw new Error(`only ${sampled.length} stanza-ids seen: does the server stamp XEP-0359 ids?`);
  client.onMessage = undefined;
  await sleep(500);

  // 2. Page queries from the middle, one at a time.
  const middle = sampled.slice(Math.floor(sampled.length * 0.1), Math.ceil(sampled.length * 0.9));
  const hist = new Histogram();
  const forward = new Histogram();
  const backward = new Histogram();
  log(`mam: ${opts.queries} page queries of ${opts.page} from the middle of the archive`);
  for (let q = 0; q < opts.queries; q++) {
    const id = middle[Math.floor(Math.random() * middle.length)] as string;
    const back = q % 2 === 1;
    const qid = `mamq${q}`;
    const cursor = back ? `<before>${id}</before>` : `<after>${id}</after>`;
    raw = "";
    let results = 0;
    const answered = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`query ${qid} unanswered after 10 s`)), 10_000);
      const head = new RegExp(`<iq[^>]*\\bid=["']${qid}["'][^>]*>`);
      tap = (chunk) => {
        raw += chunk;
        let at = raw.indexOf(`queryid="${qid}"`);
        while (at >= 0) {
          results++;
          raw = raw.slice(at + qid.length);
          at = raw.indexOf(`queryid="${qid}"`);
        }
        const h = head.exec(raw);
        if (h && (h[0].endsWith("/>") || raw.indexOf("</iq>", h.index) >= 0)) {
          clearTimeout(timer);
          if (/type=["']error["']/.test(h[0])) reject(new Error(`query ${qid} failed: ${raw.slice(h.index, h.index + 400)}`));
          else resolve();
        } else raw = raw.slice(Math.max(0, raw.length - 4096));
      };
    });
    const start = performance.now();
    client.send(
      `<iq type='set' id='${qid}'><query xmlns='urn:xmpp:mam:2' queryid='${qid}'>` +
        `<set xmlns='http://jabber.org/protocol/rsm'><max>${opts.page}</max>${cursor}</set></query></iq>`,
    );
    await answered;
    const ms = performance.now() - start;
    if (results !== opts.page) throw new Error(`query ${qid} returned ${results} results, expected ${opts.page}`);
    hist.record(ms);
    (back ? backward : forward).record(ms);
  }
  tap = undefined;
  await Promise.all([client, ...senders].map((c) => c.close()));
  return [
    { key: "mam_items", label: "mam: archived messages", value: opts.items, unit: "", better: "info" },
    { key: "mam_fill_per_s", label: "mam: archived/s while filling", value: opts.items / fillSeconds, unit: "/s", better: "higher" },
    { key: "mam_fill_cpu", label: "mam: server CPU while filling", value: (fillCpu / fillSeconds) * 100, unit: "%", better: "info" },
    { key: "mam_query_p50", label: `mam: page query (${opts.page}) p50`, value: hist.quantile(0.5), unit: "ms", better: "lower" },
    { key: "mam_query_p99", label: `mam: page query (${opts.page}) p99`, value: hist.quantile(0.99), unit: "ms", better: "lower" },
    { key: "mam_query_forward_p99", label: "mam: forward (after) p99", value: forward.quantile(0.99), unit: "ms", better: "lower" },
    { key: "mam_query_backward_p99", label: "mam: backward (before) p99", value: backward.quantile(0.99), unit: "ms", better: "lower" },
  ];
}
