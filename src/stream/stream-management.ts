// XEP-0198 Stream Management state of one client session: the inbound count, the outbound queue of
// unacknowledged stanzas, and the resumption id. Counters are modulo 2^32 (XEP-0198 §5).
import type { DeliveryReceipt } from "../core/session.js";
import type { Element } from "../core/xml/element.js";

const MOD = 2 ** 32;

export function addMod32(a: number, b: number): number {
  return (a + b) % MOD;
}

/** How far `later` is ahead of `earlier` on the 2^32 ring. */
export function distanceMod32(earlier: number, later: number): number {
  return (later - earlier + MOD) % MOD;
}

export class StreamManagement {
  /** Stanzas handled from the client (`h` we report). */
  inbound = 0;
  /** Stanzas sent to the client since enable. */
  outbound = 0;
  /** Stanzas sent and not yet acknowledged, oldest first; the first one has number `acked + 1`. */
  readonly unacked: Element[] = [];
  /** Serialised size of each unacked stanza, in step with `unacked`. */
  private readonly sizes: number[] = [];
  /** Their total: the memory a client that does not acknowledge makes us hold. */
  unackedBytes = 0;
  /** Receipts of stanzas whose sender waits for the client's <a/> (offline storage deletes only then). */
  private readonly receipts = new Map<Element, DeliveryReceipt>();
  /** The client's last acknowledged count. */
  acked = 0;
  /** An <r/> has been sent and not yet answered. */
  ackRequested = false;

  constructor(
    /** Resumption id, or undefined when the client did not ask for resumption. */
    readonly resumeId: string | undefined,
    /** Seconds the session is kept after its connection drops. */
    readonly resumeTimeout: number,
  ) {}

  get resumable(): boolean {
    return this.resumeId !== undefined;
  }

  /** Records a stanza sent to the client, `bytes` its serialised size. */
  sent(stanza: Element, bytes: number, receipt?: DeliveryReceipt): void {
    if (receipt) this.receipts.set(stanza, receipt);
    this.outbound = addMod32(this.outbound, 1);
    this.unacked.push(stanza);
    this.sizes.push(bytes);
    this.unackedBytes += bytes;
  }

  /**
   * Empties the queue (the session ends); returns what was unacknowledged, oldest first, except stanzas sent
   * with a receipt: their owner still holds them (offline storage, another node's inbox) and is told they were
   * not delivered, and whether the client closed its stream cleanly (it had them all on the wire).
   */
  takeUnacked(closedCleanly = false): Element[] {
    this.sizes.length = 0;
    this.unackedBytes = 0;
    const taken = this.unacked.splice(0);
    if (this.receipts.size === 0) return taken;
    const rest = taken.filter((stanza) => !this.settle(stanza, false, closedCleanly));
    this.receipts.clear();
    return rest;
  }

  /** Runs the stanza's receipt, if it has one; says whether it had. */
  private settle(stanza: Element, delivered: boolean, closedCleanly = false): boolean {
    const receipt = this.receipts.get(stanza);
    if (receipt === undefined) return false;
    this.receipts.delete(stanza);
    receipt(delivered, closedCleanly);
    return true;
  }

  /**
   * Applies the client's `h` (an <a/>, or the h of <resume/>). Returns false when `h` acknowledges more
   * than was sent (XEP-0198 §4 <handled-count-too-high/>).
   */
  acknowledge(h: number): boolean {
    const newly = distanceMod32(this.acked, h);
    if (newly > this.unacked.length) return false;
    const done = this.unacked.splice(0, newly);
    if (this.receipts.size > 0) for (const stanza of done) this.settle(stanza, true);
    for (const size of this.sizes.splice(0, newly)) this.unackedBytes -= size;
    this.acked = h;
    this.ackRequested = false;
    return true;
  }
}

/** Parses an `h` attribute: an unsigned 32-bit integer. */
export function parseH(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d{1,10}$/.test(value)) return undefined;
  const n = Number(value);
  return n < MOD ? n : undefined;
}
