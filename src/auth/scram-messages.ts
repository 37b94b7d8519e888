// Parsers for the two SCRAM client messages, following the RFC 5802 §7 ABNF strictly: attribute order is fixed,
// values never contain ',' (so splitting on ',' is exact), and anything off-grammar is a ScramSyntaxError.

export class ScramSyntaxError extends Error {}

export type ChannelBindingFlag = "n" | "y" | "p";

export interface ClientFirstMessage {
  /** RFC 5802 §7 gs2-cbind-flag: n = client does not support CB, y = client supports it but thinks the server does not, p = CB used. */
  cbFlag: ChannelBindingFlag;
  /** The cb-name after "p=" (only when cbFlag is "p"). */
  cbName: string | undefined;
  /** Decoded authzid, "" when absent. */
  authzid: string;
  /** The gs2-header exactly as sent, trailing ',' included: it is part of the c= input (RFC 5802 §7 cbind-input). */
  gs2Header: string;
  /** client-first-message-bare exactly as sent: part of AuthMessage (RFC 5802 §3). */
  bare: string;
  /** Decoded username, not yet PRECIS-enforced. */
  username: string;
  clientNonce: string;
}

export interface ClientFinalMessage {
  /** Decoded c= value: gs2-header followed by the channel-binding data when the flag was "p". */
  channelBinding: Buffer;
  nonce: string;
  /** client-final-message-without-proof exactly as sent: part of AuthMessage. */
  withoutProof: string;
  proof: Buffer;
}

const CB_NAME = /^[A-Za-z0-9.-]+$/; // RFC 5802 §7 cb-name
const PRINTABLE = /^[\x21-\x2b\x2d-\x7e]+$/; // RFC 5802 §7 printable (c-nonce / s-nonce)
const SASLNAME = /^(?:[^\0,=]|=2C|=3D)+$/; // RFC 5802 §7 saslname: value-safe-char or the two escapes
const EXTENSION = /^[A-Za-z]=[^\0,]+$/; // RFC 5802 §7 attr-val
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/; // RFC 4648 §4, canonical padding

/** RFC 5802 §5.1: '=' must be followed by "2C" or "3D", anything else fails the authentication. */
export function decodeSaslname(value: string): string {
  if (!SASLNAME.test(value)) throw new ScramSyntaxError("invalid saslname");
  return value.replace(/=2C|=3D/g, (escape) => (escape === "=2C" ? "," : "="));
}

/**
 * Strict base64: Buffer.from() silently skips junk and ignores non-zero pad bits (RFC 4648 §3.5), either of which
 * would let two different c= strings compare equal.
 */
export function decodeBase64Strict(value: string): Buffer {
  if (!BASE64.test(value)) throw new ScramSyntaxError("invalid base64");
  const decoded = Buffer.from(value, "base64");
  if (decoded.toString("base64") !== value) throw new ScramSyntaxError("non-canonical base64");
  return decoded;
}

/** RFC 5802 §7 client-first-message = gs2-header client-first-message-bare. */
export function parseClientFirstMessage(message: string): ClientFirstMessage {
  const flagEnd = message.indexOf(",");
  if (flagEnd === -1) throw new ScramSyntaxError("missing gs2-header");
  const flag = message.slice(0, flagEnd);
  let cbFlag: ChannelBindingFlag;
  let cbName: string | undefined;
  if (flag === "n" || flag === "y") {
    cbFlag = flag;
  } else if (flag.startsWith("p=") && CB_NAME.test(flag.slice(2))) {
    cbFlag = "p";
    cbName = flag.slice(2);
  } else {
    throw new ScramSyntaxError("invalid gs2-cbind-flag");
  }

  const authzidEnd = message.indexOf(",", flagEnd + 1);
  if (authzidEnd === -1) throw new ScramSyntaxError("incomplete gs2-header");
  const authzidField = message.slice(flagEnd + 1, authzidEnd);
  let authzid = "";
  if (authzidField !== "") {
    if (!authzidField.startsWith("a=")) throw new ScramSyntaxError("invalid authzid");
    authzid = decodeSaslname(authzidField.slice(2));
  }

  const gs2Header = message.slice(0, authzidEnd + 1);
  const bare = message.slice(authzidEnd + 1);
  const [first, second, ...extensions] = bare.split(",");
  // RFC 5802 §5.1: "m" is reserved for mandatory extensions; a server that does not know one MUST fail.
  if (first?.startsWith("m=")) throw new ScramSyntaxError("unsupported mandatory extension");
  if (first === undefined || !first.startsWith("n=")) throw new ScramSyntaxError("missing username");
  if (second === undefined || !second.startsWith("r=") || !PRINTABLE.test(second.slice(2))) {
    throw new ScramSyntaxError("missing or invalid nonce");
  }
  for (const extension of extensions) {
    if (!EXTENSION.test(extension)) throw new ScramSyntaxError("invalid extension");
  }
  return {
    cbFlag,
    cbName,
    authzid,
    gs2Header,
    bare,
    username: decodeSaslname(first.slice(2)),
    clientNonce: second.slice(2),
  };
}

/** RFC 5802 §7 client-final-message = channel-binding "," nonce ["," extensions] "," proof. */
export function parseClientFinalMessage(message: string): ClientFinalMessage {
  const attributes = message.split(",");
  if (attributes.length < 3) throw new ScramSyntaxError("incomplete client-final-message");
  const channelBinding = attributes[0] as string;
  const nonce = attributes[1] as string;
  const proof = attributes[attributes.length - 1] as string;
  const extensions = attributes.slice(2, -1);
  if (!channelBinding.startsWith("c=")) throw new ScramSyntaxError("missing channel-binding");
  if (!nonce.startsWith("r=") || !PRINTABLE.test(nonce.slice(2))) throw new ScramSyntaxError("missing or invalid nonce");
  for (const extension of extensions) {
    if (!EXTENSION.test(extension)) throw new ScramSyntaxError("invalid extension");
  }
  if (!proof.startsWith("p=")) throw new ScramSyntaxError("missing proof");
  return {
    channelBinding: decodeBase64Strict(channelBinding.slice(2)),
    nonce: nonce.slice(2),
    withoutProof: message.slice(0, message.length - proof.length - 1),
    proof: decodeBase64Strict(proof.slice(2)),
  };
}
