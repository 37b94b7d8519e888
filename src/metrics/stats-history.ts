// The last hour of the counters the admin console charts (AdminOperations.history): one StatsSample a minute in
// a ring of 60, oldest first. Rates come from the same plain counters the metrics export
// (core/server-counters.ts): the stanzas read from peers over the minute, divided by its length.
import type { StatsSample } from "../admin/types.js";
import type { ServerCounters } from "../core/server-counters.js";

export interface StatsHistorySources {
  counters: ServerCounters;
  /** Bound client sessions now. */
  sessions(): number;
  /** Server-to-server connections now (both directions). */
  s2sLinks(): number;
}

export interface StatsHistoryOptions {
  /** Time between samples (default one minute). */
  intervalMs?: number;
  /** Samples kept (default 60: the last hour). */
  capacity?: number;
  /** The clock (tests give a fake one). */
  now?: () => number;
}

export class StatsHistory {
  private readonly samples: StatsSample[] = [];
  private readonly intervalMs: number;
  private readonly capacity: number;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  /** The counters at the previous sample (or at start), which the next one's rates are measured from. */
  private previous: { at: number; message: number; presence: number; iq: number };

  constructor(
    private readonly sources: StatsHistorySources,
    options: StatsHistoryOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? 60_000;
    this.capacity = options.capacity ?? 60;
    this.now = options.now ?? Date.now;
    this.previous = this.snapshot();
  }

  private snapshot(): { at: number; message: number; presence: number; iq: number } {
    const { message, presence, iq } = this.sources.counters.stanzasIn;
    return { at: this.now(), message, presence, iq };
  }

  /** Samples every interval from now on; the timer does not keep the process alive. */
  start(): void {
    if (this.timer) return;
    this.previous = this.snapshot();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Takes one sample now (the timer's job; tests call it with a fake clock). */
  sample(): StatsSample {
    const current = this.snapshot();
    const seconds = (current.at - this.previous.at) / 1000;
    const rate = (n: number) => (seconds > 0 ? Math.round((n / seconds) * 1000) / 1000 : 0);
    const sample: StatsSample = {
      at: current.at,
      sessions: this.sources.sessions(),
      messagesPerSecond: rate(current.message - this.previous.message),
      presencesPerSecond: rate(current.presence - this.previous.presence),
      iqsPerSecond: rate(current.iq - this.previous.iq),
      s2sLinks: this.sources.s2sLinks(),
    };
    this.previous = current;
    this.samples.push(sample);
    if (this.samples.length > this.capacity) this.samples.shift();
    return sample;
  }

  /** The samples kept, oldest first (a copy). */
  history(): StatsSample[] {
    return [...this.samples];
  }
}
