// Runs async operations one at a time per key (an account), in arrival order, so that a read-decide-write
// sequence on one account's data never interleaves with another on the same account.

export type PerKeyQueue = <T>(key: string, fn: () => Promise<T>) => Promise<T>;

export function createPerKeyQueue(): PerKeyQueue {
  const tails = new Map<string, Promise<unknown>>();
  return <T>(key: string, fn: () => Promise<T>): Promise<T> => {
    const run = (tails.get(key) ?? Promise.resolve()).then(fn);
    const tail = run.catch(() => {});
    tails.set(key, tail);
    // Forget the key once its last operation is done, so the map only holds busy keys.
    void tail.then(() => tails.get(key) === tail && tails.delete(key));
    return run;
  };
}
