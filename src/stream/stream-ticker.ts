// One interval timer per period for every stream that needs a periodic look (keepalive, releasing an idle parser),
// instead of a timer per stream: a Node Timeout and the closure it runs cost about 250 bytes a stream, a set
// entry a tenth of that. The interval runs (unref'd) only while some stream is registered.

export class StreamTicker<T> {
  private readonly members = new Set<T>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly periodMs: number,
    private readonly visit: (member: T) => void,
  ) {}

  add(member: T): void {
    this.members.add(member);
    if (this.timer === undefined) {
      this.timer = setInterval(() => this.run(), this.periodMs);
      this.timer.unref();
    }
  }

  delete(member: T): void {
    this.members.delete(member);
    if (this.members.size === 0 && this.timer !== undefined) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private run(): void {
    // A visit may close its stream and so delete it (or another) from the set: iterate over a copy.
    for (const member of [...this.members]) this.visit(member);
  }
}

/** Tickers of one kind, one per period (streams of one process share them). */
export class StreamTickers<T> {
  private readonly byPeriod = new Map<number, StreamTicker<T>>();

  constructor(private readonly visit: (member: T) => void) {}

  every(periodMs: number): StreamTicker<T> {
    let ticker = this.byPeriod.get(periodMs);
    if (ticker === undefined) {
      ticker = new StreamTicker(periodMs, this.visit);
      this.byPeriod.set(periodMs, ticker);
    }
    return ticker;
  }
}
