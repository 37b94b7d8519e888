// Caps on connections that have not authenticated yet, shared by every listener (c2s, c2s direct TLS, s2s,
// s2s direct TLS, components): a stranger's connections cost memory before we know who they are, so their
// number is bounded in total and per source address (IPv6 per /64, as the login throttle counts them).
import type { Socket } from "node:net";
import type { Server as TlsServer, TLSSocket } from "node:tls";
import type { Logger } from "pino";
import { ipKey } from "../auth/login-throttle.js";
import { AddressList } from "../core/address-list.js";
import { StreamError } from "../core/errors.js";

export interface UnauthenticatedLimits {
  /** Unauthenticated connections on the whole server. */
  maxConnections: number;
  /** Unauthenticated connections from one address (IPv6: one /64). */
  maxPerAddress: number;
  /** Addresses and CIDR ranges without a per-address cap (a trusted reverse proxy); they still count towards the total. */
  exemptAddresses: readonly string[];
}

/** A counted connection: released once it authenticates or closes (idempotent). */
export interface UnauthenticatedSlot {
  release(): void;
}

export type Admission = { slot: UnauthenticatedSlot; refused?: undefined } | { refused: StreamError; slot?: undefined };

export class UnauthenticatedConnections {
  private total = 0;
  private readonly perKey = new Map<string, number>();
  private exempt: AddressList;

  constructor(private limits: UnauthenticatedLimits) {
    this.exempt = new AddressList(limits.exemptAddresses);
  }

  /** New caps (a reload): connections counted already stay counted; a lower cap refuses only new ones. */
  setLimits(limits: UnauthenticatedLimits): void {
    this.limits = limits;
    this.exempt = new AddressList(limits.exemptAddresses);
  }

  /** Counts a new connection from `address`, or says which cap refuses it. */
  admit(address: string): Admission {
    const exempt = this.exempt.has(address);
    const key = ipKey(address);
    const fromAddress = this.perKey.get(key) ?? 0;
    // RFC 6120 §4.9.3.17: the server lacks the resources for another stream (no fault of this peer) …
    if (this.total >= this.limits.maxConnections) {
      return { refused: new StreamError("resource-constraint", "too many connections waiting to authenticate") };
    }
    // … §4.9.3.14: this address broke a local policy.
    if (!exempt && fromAddress >= this.limits.maxPerAddress) {
      return { refused: new StreamError("policy-violation", "too many unauthenticated connections from your address") };
    }
    this.total++;
    this.perKey.set(key, fromAddress + 1);
    let held = true;
    return {
      slot: {
        release: () => {
          if (!held) return;
          held = false;
          this.total--;
          const left = (this.perKey.get(key) ?? 1) - 1;
          if (left <= 0) this.perKey.delete(key);
          else this.perKey.set(key, left);
        },
      },
    };
  }

  get size(): number {
    return this.total;
  }
}

/** A slot for streams that are not counted (outbound s2s, tests). */
export const UNCOUNTED: UnauthenticatedSlot = { release() {} };

/**
 * Makes the stream for a new connection with its slot; over a cap the stream is closed at once with the
 * refusal, which its close() writes after a stream header of its own (RFC 6120 §4.9.1.1) and logs.
 */
export function admitStream<S extends { close(error?: StreamError): void }>(
  caps: UnauthenticatedConnections | undefined,
  address: string,
  make: (slot: UnauthenticatedSlot) => S,
): S {
  const admission: Admission = caps ? caps.admit(address) : { slot: UNCOUNTED };
  const stream = make(admission.slot ?? UNCOUNTED);
  if (admission.refused) stream.close(admission.refused);
  return stream;
}

/**
 * Direct TLS (XEP-0368): a connection costs memory from TCP accept on, and Node lets a handshake take 120 s, so
 * it is counted from accept. Over a cap it is dropped before any TLS work: no stream exists yet to carry a stream
 * error, and the handshake is the expensive part. Once the handshake is done the count passes to the stream
 * (admitStream), which answers a refusal with a stream error from then on.
 */
export function countHandshakes(server: TlsServer, caps: UnauthenticatedConnections | undefined, log: Logger, what: string): void {
  if (!caps) return;
  const pending = new WeakMap<Socket, UnauthenticatedSlot>();
  server.on("connection", (raw: Socket) => {
    const address = (raw.remoteAddress ?? "unknown").replace(/^::ffff:/, "");
    const admission = caps.admit(address);
    if (admission.refused) {
      log.info({ ip: address, condition: admission.refused.condition, text: admission.refused.text }, `${what}: connection dropped before the TLS handshake`);
      raw.destroy();
      return;
    }
    pending.set(raw, admission.slot);
    raw.once("close", () => admission.slot.release());
  });
  // Before the listener that makes the stream: the stream takes its own slot.
  server.prependListener("secureConnection", (tls: TLSSocket) => {
    // TLSSocket keeps the socket it wraps as _parent (not in Node's typings).
    const raw = (tls as unknown as { _parent?: Socket })._parent;
    if (raw) pending.get(raw)?.release();
  });
}
