// A client's session: its bound JID, presence state and module state, which outlive any one connection
// when stream management lets the client resume (XEP-0198). The stream attached to it writes to the wire.
import type { Logger } from "pino";
import type { ClientTransport } from "../admin/types.js";
import { StreamError } from "../core/errors.js";
import type { Jid } from "../core/jid.js";
import type { CoreServices } from "../core/modules.js";
import type { DeliveryReceipt, Session } from "../core/session.js";
import { SessionState, type SharedStateOwner } from "../core/session-state.js";
import { rerouteUndelivered } from "../core/undelivered.js";
import type { Element } from "../core/xml/element.js";
import { NS_CLIENT } from "../core/xml/ns.js";
import type { ResumptionRegistry } from "./resumption-registry.js";
import type { StreamManagement } from "./stream-management.js";

/** What a session needs of the stream it is attached to. */
export interface SessionStream {
  readonly remoteAddress: string;
  readonly transport: ClientTransport;
  readonly secure: boolean;
  /**
   * Returns the stanza's size in bytes as written (0: not written). `flushed` runs once the bytes left the
   * process (null), or with an error when they never will.
   */
  writeStanza(stanza: Element, flushed?: (err?: Error | null) => void): number;
  /** Asks the client for an acknowledgement (<r/>). */
  requestAck(): void;
  close(error?: StreamError): void;
}

/** An <r/> goes out once this many stanzas wait for acknowledgement. */
const ACK_REQUEST_EVERY = 5;
/**
 * Over max_unacked(_bytes) a connected client has this long to acknowledge (a login's offline backlog can go
 * out in one burst, before any <a/> can come back; a slow link needs time to read it) …
 */
const OVER_LIMIT_GRACE_MS = 60_000;
/** … but never more than this many times the limit: that bounds the memory one session can hold. */
const HARD_LIMIT_FACTOR = 2;

export class ClientSession implements Session, SharedStateOwner {
  readonly state = new SessionState(this);
  jid: Jid;
  private _priority = 0;
  private _available = false;
  private _presence: Element | undefined = undefined;
  private _interested = false;
  sm: StreamManagement | undefined;
  private attachedStream: SessionStream | undefined;
  private detachTimer: NodeJS.Timeout | undefined;
  private overLimitTimer: NodeJS.Timeout | undefined;
  private lastAddress: string;
  private lastSecure: boolean;
  private lastTransport: ClientTransport;
  private ended = false;
  /** When the session authenticated (its resource is bound right after); read by administration only. */
  readonly since = Date.now();

  constructor(
    readonly id: string,
    stream: SessionStream,
    jid: Jid,
    private readonly core: CoreServices,
    private readonly resumption: ResumptionRegistry,
    private readonly maxUnacked: number,
    private readonly maxUnackedBytes: number,
    private readonly log: Logger,
  ) {
    this.attachedStream = stream;
    this.jid = jid;
    this.lastAddress = stream.remoteAddress;
    this.lastSecure = stream.secure;
    this.lastTransport = stream.transport;
  }

  // What other cluster nodes see of the session (SessionView): each change is announced (SessionRegistry.changed).
  get priority(): number {
    return this._priority;
  }
  set priority(value: number) {
    if (value === this._priority) return;
    this._priority = value;
    this.viewChanged();
  }
  get available(): boolean {
    return this._available;
  }
  set available(value: boolean) {
    if (value === this._available) return;
    this._available = value;
    this.viewChanged();
  }
  get presence(): Element | undefined {
    return this._presence;
  }
  set presence(value: Element | undefined) {
    if (value === this._presence) return;
    this._presence = value;
    this.viewChanged();
  }
  get interested(): boolean {
    return this._interested;
  }
  set interested(value: boolean) {
    if (value === this._interested) return;
    this._interested = value;
    this.viewChanged();
  }

  /** A module set or deleted shared state (SessionState's owner). */
  sharedStateChanged(): void {
    this.viewChanged();
  }

  private viewChanged(): void {
    if (!this.ended) this.core.sessions.changed?.(this);
  }

  /** XEP-0198 state for administration: off, on (attached) or detached (waiting for resumption). */
  get streamManagement(): "off" | "on" | "detached" {
    if (!this.sm) return "off";
    return this.attachedStream ? "on" : "detached";
  }

  get remoteAddress(): string {
    return this.attachedStream?.remoteAddress ?? this.lastAddress;
  }

  get secure(): boolean {
    return this.attachedStream?.secure ?? this.lastSecure;
  }

  get transport(): ClientTransport {
    return this.attachedStream?.transport ?? this.lastTransport;
  }

  get attached(): boolean {
    return this.attachedStream !== undefined;
  }

  get stream(): SessionStream | undefined {
    return this.attachedStream;
  }

  send(stanza: Element, receipt?: DeliveryReceipt): void {
    if (this.ended) return receipt?.(false);
    const sm = this.sm;
    const stream = this.attachedStream;
    if (!sm) {
      // Without XEP-0198 the most we can know is that the bytes left the process (a kill -9 after that loses nothing).
      if (!stream) return receipt?.(false);
      stream.writeStanza(stanza, receipt && ((err) => receipt(!err)));
      return;
    }
    // The size is known from the write; a detached session (kept for resumption) measures it here.
    const bytes = stream ? stream.writeStanza(stanza) : serialisedSize(stanza);
    sm.sent(stanza, bytes, receipt);
    if (this.overLimit(1)) {
      // Detached, nobody will acknowledge; far over, the memory is the point.
      if (!stream || this.overLimit(HARD_LIMIT_FACTOR)) return this.endOverLimit();
      this.overLimitTimer ??= setTimeout(() => {
        this.overLimitTimer = undefined;
        if (this.overLimit(1) && !this.ended) this.endOverLimit();
      }, OVER_LIMIT_GRACE_MS).unref();
    }
    if (stream && !sm.ackRequested && sm.unacked.length >= ACK_REQUEST_EVERY) {
      sm.ackRequested = true;
      stream.requestAck();
    }
  }

  /** More unacknowledged than `factor` times the configured limits (count or bytes)? */
  private overLimit(factor: number): boolean {
    const sm = this.sm;
    return (
      sm !== undefined &&
      (sm.unacked.length > this.maxUnacked * factor || sm.unackedBytes > this.maxUnackedBytes * factor)
    );
  }

  private endOverLimit(): void {
    const sm = this.sm!;
    this.log.warn(
      { jid: this.jid.toString(), count: sm.unacked.length, bytes: sm.unackedBytes },
      "too many unacknowledged stanzas; ending the session",
    );
    // A stream error (not a clean close), so that every unacknowledged message is re-routed (end()).
    this.close(new StreamError("resource-constraint", "too many unacknowledged stanzas"));
  }

  close(error?: StreamError): void {
    if (this.attachedStream) this.attachedStream.close(error);
    else void this.end(error?.condition ?? "closed");
  }

  /** Turns stream management on (XEP-0198 §3) and, with an id, registers the session for resumption. */
  enableStreamManagement(sm: StreamManagement): void {
    this.sm = sm;
    if (sm.resumeId !== undefined) this.resumption.add(sm.resumeId, this);
  }

  /**
   * The attached stream's connection went away without a clean close. A resumable session waits for its
   * client (XEP-0198 §5); any other ends now.
   */
  connectionLost(stream: SessionStream, reason: string): void {
    if (this.attachedStream !== stream || this.ended) return; // a newer stream took over
    this.attachedStream = undefined;
    this.lastAddress = stream.remoteAddress;
    const sm = this.sm;
    if (!sm?.resumable) {
      void this.end(reason);
      return;
    }
    this.log.info(
      { jid: this.jid.toString(), timeout: sm.resumeTimeout, reason },
      "connection lost; session kept for resumption",
    );
    this.detachTimer = setTimeout(() => void this.end("resumption timed out"), sm.resumeTimeout * 1000);
    this.detachTimer.unref();
    this.viewChanged();
    void this.core.hooks.notify("session.detached", { session: this });
  }

  /** A resuming stream takes the session over (XEP-0198 §5); the previous one, if still open, is dropped. */
  attach(stream: SessionStream): SessionStream | undefined {
    if (this.detachTimer) clearTimeout(this.detachTimer);
    this.detachTimer = undefined;
    const previous = this.attachedStream;
    this.attachedStream = stream;
    this.lastAddress = stream.remoteAddress;
    this.lastSecure = stream.secure;
    this.lastTransport = stream.transport;
    if (!previous) this.viewChanged();
    return previous;
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /** Ends the session for good: unbound, announced, and its unacknowledged stanzas re-routed. */
  async end(reason: string): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    if (this.detachTimer) clearTimeout(this.detachTimer);
    if (this.overLimitTimer) clearTimeout(this.overLimitTimer);
    this.attachedStream = undefined;
    const sm = this.sm;
    if (sm?.resumeId !== undefined) this.resumption.remove(sm.resumeId, this);
    const wasBound = this.core.sessions.remove(this);
    if (wasBound || reason === "conflict") await this.core.hooks.notify("session.closed", { session: this, reason });
    this.available = false;
    if (sm && sm.unacked.length > 0) {
      this.log.info(
        { jid: this.jid.toString(), count: sm.unacked.length, reason },
        "re-routing unacknowledged stanzas",
      );
      const closedCleanly = reason === "closed";
      void rerouteUndelivered(this.core.router, this.jid, sm.takeUnacked(closedCleanly), closedCleanly);
    }
  }
}

/** Bytes of a stanza as it would go on the wire (0 when it cannot be serialised; it would be dropped). */
function serialisedSize(stanza: Element): number {
  try {
    return Buffer.byteLength(stanza.toString(NS_CLIENT));
  } catch {
    return 0;
  }
}
