// What a stream needs from the bytes underneath it, whatever carries them (TCP, direct TLS; WebSocket and BOSH frame differently).
import type { ChannelBindingType } from "../auth/types.js";

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
  onData(handler: (chunk: Buffer) => void): void;
  /** Adds a close handler (several may be added; each runs once). */
  onClose(handler: (reason: string) => void): void;
}
