// What every ByteConnection does the same way (TCP, TLS, s2s, WebSocket): one data handler, close handlers
// run once whatever ends the connection, and the socket released when it ends.
import { type CloseHandler, type ConnectionListener, runCloseHandler } from "../stream/connection.js";

export abstract class ConnectionEvents {
  /** Reads the input (connectionData). */
  protected dataListener: ConnectionListener | undefined;
  /**
   * Replaced (not pushed to) on each add, by concat: an array grown by push or built by spread (`[...a, h]`)
   * reserves 17 to 20 slots, and most connections have 3 handlers (144 bytes a connection less).
   */
  private closeHandlers: readonly CloseHandler[] = [];
  protected closed = false;
  /** Set by finishWithin(); cleared once the connection ends, so no timer outlives it. */
  private closeTimer: NodeJS.Timeout | undefined;

  /** Frees the underlying socket at once (the connection is over). */
  protected abstract release(): void;

  /** Ends the connection for `reason`: the socket is released and each close handler runs, once. */
  protected finish(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    if (this.closeTimer !== undefined) clearTimeout(this.closeTimer);
    this.closeTimer = undefined;
    this.release();
    for (const h of this.closeHandlers) runCloseHandler(h, reason);
  }

  /**
   * After our side has ended the connection: finish within `ms` even if the peer never closes its side
   * (RFC 6120 §4.4: do not wait for its closing tag for ever). The timer is cleared when the peer closes
   * first, the usual case: a timer left to fire for every closed connection cost about 5% of the server's
   * CPU at a thousand logins a second.
   */
  protected finishWithin(ms: number): void {
    if (this.closed || this.closeTimer !== undefined) return;
    this.closeTimer = setTimeout(() => this.finish("closed"), ms);
    this.closeTimer.unref();
  }

  /** Closes at once. */
  destroy(): void {
    this.finish("destroyed");
  }

  onData(listener: ConnectionListener): void {
    this.dataListener = listener;
  }

  /** Adds a handler run once when the connection closes, for whatever reason. */
  onClose(handler: CloseHandler): void {
    this.closeHandlers = this.closeHandlers.concat([handler]);
  }
}
