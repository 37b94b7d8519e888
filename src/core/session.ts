// A client session as the core sees it, whatever transport carries it (TCP, WebSocket, BOSH).
import type { ClientTransport } from "../admin/types.js";
import type { StreamError } from "./errors.js";
import type { Jid } from "./jid.js";
import type { SessionState } from "./session-state.js";
import type { Element } from "./xml/element.js";

/**
 * Told whether a stanza reached its client; when not, `closedCleanly` says the client closed its stream cleanly
 * (it had the stanza on the wire, and can fetch an archived message from its archive, XEP-0313).
 */
export type DeliveryReceipt = (delivered: boolean, closedCleanly?: boolean) => void;

export interface Session {
  /** Unique id of the stream (also the stream id sent to the client). */
  readonly id: string;
  /** The full JID once bound (RFC 6120 §7). */
  readonly jid: Jid;
  readonly remoteAddress: string;
  readonly secure: boolean;
  /** What carries the session's stream now (the last one while detached): metrics and administration. */
  readonly transport: ClientTransport;
  /** When the session started (ms since epoch), for administration. */
  readonly since: number;
  /** XEP-0198: "off", "on" (attached) or "detached" (waiting for resumption), for administration. */
  readonly streamManagement: "off" | "on" | "detached";
  /** RFC 6121 §4.7.2.3: -128..127. Meaningful only while `available`. */
  priority: number;
  /** Has sent initial presence and not yet unavailable (RFC 6121 "available resource"). */
  available: boolean;
  /** The last broadcast available presence (for probes), if any. */
  presence: Element | undefined;
  /** Requested the roster (RFC 6121 §2.1.6 "interested resource"). */
  interested: boolean;
  /** A connection is attached (false while a stream-managed session waits for resumption, XEP-0198 §5). */
  readonly attached: boolean;
  /** Per-session state owned by modules, under keys each declares (session-state.ts: shared or node-local). */
  readonly state: SessionState;
  /**
   * Delivers a stanza to the client. A `receipt` is told whether it was delivered: acknowledged by the client
   * (XEP-0198) or, without stream management, written out of the process; false when the session ended first.
   * A stanza sent with a receipt is not re-routed when the session ends unacknowledged: its sender keeps it.
   */
  send(stanza: Element, receipt?: DeliveryReceipt): void;
  /** Ends the stream, with a stream error when given. */
  close(error?: StreamError): void;
  /**
   * Held by another cluster node (src/cluster): `send` forwards to that node, which delivers it through its own
   * Router.deliver (privacy, CSI, carbons run where the connection is). Absent on a node's own sessions.
   */
  readonly remote?: boolean;
}
