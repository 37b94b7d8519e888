// What an s2s stream needs from the service that owns it: policy, certificates, the dialback secret and the
// way to reach an authoritative server, without knowing about the pool of connections.
import type { Logger } from "pino";
import type { CoreServices } from "../../core/modules.js";
import type { StreamParserLimits } from "../../core/xml/stream-parser.js";
import type { RateLimitConfig } from "../../stream/input-throttle.js";
import type { DialbackType } from "./dialback.js";
import type { S2sTls } from "./trust.js";

export interface S2sPolicy {
  /** Peers need a certificate valid for their domain (s2s.secure). */
  secure: boolean;
  dialback: boolean;
  requireEncryption: boolean;
  /** Allow/deny lists; true when federation with `domain` is allowed. */
  allows(domain: string): boolean;
}

export interface S2sEnv {
  core: CoreServices;
  log: Logger;
  policy: S2sPolicy;
  tls: S2sTls;
  /** Input of XEP-0185 key generation. */
  dialbackSecret: Buffer;
  /** Parser limits of authenticated streams (and of our outbound ones, whose peer we chose). */
  limits: StreamParserLimits;
  /** Smaller limits on an inbound stream until it authenticates a domain. */
  preAuthLimits: StreamParserLimits;
  /** Input rate of every s2s connection. */
  rateLimit: RateLimitConfig;
  /** Output a peer has not read beyond this closes its connection. */
  maxUnsentBytes: number;
  negotiationTimeoutMs: number;
  idleTimeoutMs: number;
  /** A domain served here: a user host or a component (MUC, upload, XEP-0114). */
  isLocalDomain(domain: string): boolean;
  /** XEP-0220 §2.1.2: asks the authoritative server of `remote` whether `key` is one it generated. */
  verifyDialback(local: string, remote: string, streamId: string, key: string): Promise<DialbackType>;
}
