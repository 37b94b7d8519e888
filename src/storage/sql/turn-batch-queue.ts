// Group commit's queue, shared by the archive appends (append-batcher.ts) and the key-value writes
// (keyval-writer.ts): items pushed in the same turn of the event loop are handed over together, at most
// `maxBatch` at a time, in the order they were pushed; each push's promise settles when its batch's commit
// settles it. What a batch does, and what a failure means for each item, is the committer's.

export interface Pending<T> {
  item: T;
  resolve: () => void;
  reject: (error: unknown) => void;
}

export class TurnBatchQueue<T> {
  private queue: Pending<T>[] = [];
  private flushing = false;

  /** `commit` must settle every item of the batch it is given. */
  constructor(
    private readonly maxBatch: number,
    private readonly commit: (batch: Pending<T>[]) => Promise<void>,
  ) {}

  push(item: T): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (!this.flushing) {
        this.flushing = true;
        // Waiting one turn of the event loop lets what is pushed in the same turn join the batch.
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      try {
        await this.commit(batch);
      } catch (error) {
        for (const pending of batch) pending.reject(error); // a committer's own failure: nothing left hanging
      }
    }
    this.flushing = false;
  }
}
