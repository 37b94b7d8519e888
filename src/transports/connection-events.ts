// What every ByteConnection does the same way (TCP, TLS, s2s, WebSocket): one data handler, close handlers
// run once whatever ends the connection, and the socket released when it ends.
export abstract class ConnectionEvents {
  protected dataHandler: ((chunk: Buffer) => void) | undefined;
  /** Replaced (not pushed to) on each add: an array grown by push reserves 17 slots, and most connections have 3 handlers. */
  private closeHandlers: readonly ((reason: string) => void)[] = [];
  protected closed = false;

  /** Frees the underlying socket at once (the connection is over). */
  protected abstract release(): void;

  /** Ends the connection for `reason`: the socket is released and each close handler runs, once. */
  protected finish(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.release();
    for (const h of this.closeHandlers) h(reason);
  }

  /** Closes at once. */
  destroy(): void {
    this.finish("destroyed");
  }

  onData(handler: (chunk: Buffer) => void): void {
    this.dataHandler = handler;
  }

  /** Adds a handler run once when the connection closes, for whatever reason. */
  onClose(handler: (reason: string) => void): void {
    this.closeHandlers = [...this.closeHandlers, handler];
  }
}
