// What a stream needs from the bytes underneath it, whatever carries them (TCP, direct TLS; WebSocket and BOSH frame differently).
import type { ChannelBindingType } from "../auth/types.js";

/**
 * Told what a connection or stream wire reads and when it closes: a stream or wire passes itself, so that one
 * held for hours keeps no closure and context per handler (issue 13).
 */
export interface ConnectionListener {
  /** A chunk read from the peer (ByteConnection.onData). */
  connectionData?(chunk: Buffer): void;
  /** The connection closed, for `reason`: once (onClose). */
  connectionClosed?(reason: string): void;
}

/** A close handler: a function, or a listener told through connectionClosed. */
export type CloseHandler = ((reason: string) => void) | ConnectionListener;

/** Runs a close handler, whichever form it has. */
export function runCloseHandler(handler: CloseHandler, reason: string): void {
  if (typeof handler === "function") handler(reason);
  else handler.connectionClosed?.(reason);
}

export interface ByteConnection {
  readonly remoteAddress: string;
  /** TLS is in place (direct TLS or after STARTTLS). */
  readonly secure: boolean;
  /** STARTTLS can be offered on this connection. */
  readonly canStartTls: boolean;
  /** Bytes queued for writing but not yet flushed to the kernel (slow-reader protection). */
  readonly pendingBytes: number;
  /** `flushed` runs once the data is handed to the kernel (null), or with an error when it never will be. */
  write(data: string, flushed?: (err?: Error | null) => void): void;
  /** Upgrades in place after `<proceed/>` (RFC 6120 §5.4.3.3); resolves once the TLS handshake is done. */
  startTls(): Promise<void>;
  channelBindings(): ChannelBindingType[];
  channelBinding(type: ChannelBindingType): Buffer | undefined;
  /** Stops/starts reading (input flow control). */
  pause(): void;
  resume(): void;
  /**
   * A message transport's own cap on one message, kept equal to the stream's stanza limit (smaller before
   * authentication), so that an oversized message is refused from its header, before it is buffered.
   */
  setMaxMessageBytes?(bytes: number): void;
  /** A transport-level keepalive (WebSocket ping frame), where the framing has no text for one. */
  ping?(): void;
  /** Flushes what was written, then closes. */
  end(): void;
  /** Closes at once. */
  destroy(): void;
  /** The one reader of the connection's input (its connectionData). */
  onData(listener: ConnectionListener): void;
  /** Adds a close handler (several may be added; each runs once). */
  onClose(handler: CloseHandler): void;
}
