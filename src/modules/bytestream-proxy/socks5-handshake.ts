// The SOCKS5 (RFC 1928) handshake the way XEP-0065 uses it, as a pure function of the bytes received so far:
// a greeting that offers "no authentication" (§3), then CONNECT (§4) to a DOMAINNAME that is the 40-hex-digit
// SHA-1 of SID + requester JID + target JID, port 0 (XEP-0065 §5.3.2 / §6.3.2). Nothing else is accepted.

export const SOCKS_VERSION = 5;
const METHOD_NO_AUTH = 0x00;
const METHOD_NONE_ACCEPTABLE = 0xff;
const CMD_CONNECT = 0x01;
const ATYP_DOMAINNAME = 0x03;

/** RFC 1928 §6 reply codes we send. */
export const REPLY = {
  succeeded: 0x00,
  notAllowed: 0x02,
  commandNotSupported: 0x07,
  addressTypeNotSupported: 0x08,
} as const;

/** Longest handshake: greeting (2 + 255 methods) + request (7 + 255-byte domain). Anything longer is refused. */
export const MAX_HANDSHAKE_BYTES = 2 + 255 + 7 + 255;

export type HandshakeStep =
  /** Not enough bytes yet. */
  | { kind: "more" }
  /** The greeting is complete: send `reply`; `consumed` bytes belong to it. */
  | { kind: "greeting"; reply: Buffer; consumed: number }
  /** Refused: send `reply` (when there is one) and close; `why` is for the log. */
  | { kind: "refuse"; reply?: Buffer; why: string }
  /** CONNECT to this hash; `consumed` bytes belong to the request. */
  | { kind: "connect"; hash: string; consumed: number };

/** RFC 1928 §3: VER, NMETHODS, METHODS. Only "no authentication required" is offered back. */
export function readGreeting(buf: Buffer): HandshakeStep {
  if (buf.length < 2) return { kind: "more" };
  if (buf[0] !== SOCKS_VERSION) return { kind: "refuse", why: `not SOCKS5 (version byte ${buf[0]})` };
  const n = buf[1] as number;
  if (n === 0)
    return { kind: "refuse", reply: Buffer.from([SOCKS_VERSION, METHOD_NONE_ACCEPTABLE]), why: "no methods offered" };
  if (buf.length < 2 + n) return { kind: "more" };
  if (!buf.subarray(2, 2 + n).includes(METHOD_NO_AUTH)) {
    // RFC 1928 §3: X'FF' and the client MUST close.
    return {
      kind: "refuse",
      reply: Buffer.from([SOCKS_VERSION, METHOD_NONE_ACCEPTABLE]),
      why: "no-authentication method not offered",
    };
  }
  return { kind: "greeting", reply: Buffer.from([SOCKS_VERSION, METHOD_NO_AUTH]), consumed: 2 + n };
}

/** RFC 1928 §4: VER, CMD, RSV, ATYP, DST.ADDR, DST.PORT; XEP-0065 needs CONNECT to a hash, port 0. */
export function readConnectRequest(buf: Buffer): HandshakeStep {
  if (buf.length < 5) return { kind: "more" };
  if (buf[0] !== SOCKS_VERSION) return { kind: "refuse", why: `request version byte ${buf[0]}` };
  if (buf[1] !== CMD_CONNECT) {
    return { kind: "refuse", reply: replyFor(REPLY.commandNotSupported, ""), why: `command ${buf[1]} not supported` };
  }
  if (buf[2] !== 0) return { kind: "refuse", why: "reserved byte not zero" };
  if (buf[3] !== ATYP_DOMAINNAME) {
    return {
      kind: "refuse",
      reply: replyFor(REPLY.addressTypeNotSupported, ""),
      why: `address type ${buf[3]} not supported`,
    };
  }
  const len = buf[4] as number;
  if (buf.length < 5 + len + 2) return { kind: "more" };
  const addr = buf.subarray(5, 5 + len).toString("latin1");
  const port = buf.readUInt16BE(5 + len);
  // XEP-0065 §5.3.2: the hostname MUST be the hex SHA-1, the port MUST be 0.
  if (!/^[0-9a-fA-F]{40}$/.test(addr) || port !== 0) {
    return {
      kind: "refuse",
      reply: replyFor(REPLY.notAllowed, ""),
      why: "destination is not a bytestream hash with port 0",
    };
  }
  return { kind: "connect", hash: addr.toLowerCase(), consumed: 5 + len + 2 };
}

/** RFC 1928 §6 reply; XEP-0065 §5.3.2: BND.ADDR and BND.PORT echo the request (the hash, port 0). */
export function replyFor(code: number, hash: string): Buffer {
  const addr = Buffer.from(hash, "latin1");
  return Buffer.concat([
    Buffer.from([SOCKS_VERSION, code, 0, ATYP_DOMAINNAME, addr.length]),
    addr,
    Buffer.from([0, 0]),
  ]);
}
