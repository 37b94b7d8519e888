// The SCRAM client-message parsers (src/auth/scram-messages.ts, RFC 5802 §7) on arbitrary UTF-8.
// Invariants: they return a parse or throw ScramSyntaxError, nothing else; a parse accounts for every character
// (the gs2-header and bare message concatenate to the input; the final message re-encodes to the input, since
// base64 is required to be canonical) and the username re-escapes to what was sent.
import { decodeUtf8Strict } from "../../src/auth/sasl-input.js";
import { parseClientFinalMessage, parseClientFirstMessage, ScramSyntaxError } from "../../src/auth/scram-messages.js";
import type { FuzzTarget } from "../engine/fuzz-loop.js";
import { check, expectOnly } from "./check.js";

const escapeSaslname = (s: string) => s.replace(/=/g, "=3D").replace(/,/g, "=2C");

function first(text: string): void {
  let msg: ReturnType<typeof parseClientFirstMessage>;
  try {
    msg = parseClientFirstMessage(text);
  } catch (err) {
    expectOnly(err, ScramSyntaxError);
    return;
  }
  check(msg.gs2Header + msg.bare === text, "gs2-header + bare message is not the input");
  check(msg.gs2Header.startsWith(msg.cbFlag === "p" ? `p=${msg.cbName},` : `${msg.cbFlag},`), "flag mismatch");
  check(
    msg.bare === `n=${escapeSaslname(msg.username)},r=${msg.clientNonce}` ||
      msg.bare.startsWith(`n=${escapeSaslname(msg.username)},r=${msg.clientNonce},`),
    `bare message does not re-encode: ${JSON.stringify(msg)}`,
  );
  check(!msg.clientNonce.includes(","), "nonce holds a comma");
}

function final(text: string): void {
  let msg: ReturnType<typeof parseClientFinalMessage>;
  try {
    msg = parseClientFinalMessage(text);
  } catch (err) {
    expectOnly(err, ScramSyntaxError);
    return;
  }
  check(
    `${msg.withoutProof},p=${msg.proof.toString("base64")}` === text,
    `final message does not re-encode (non-canonical base64 accepted?): ${JSON.stringify(text)}`,
  );
  check(
    msg.withoutProof.startsWith(`c=${msg.channelBinding.toString("base64")},r=${msg.nonce}`),
    `channel binding does not re-encode (non-canonical base64 accepted?): ${JSON.stringify(text)}`,
  );
}

export const scramMessagesTarget: FuzzTarget = {
  name: "scram-messages",
  covers: ["/src/auth/scram-messages", "/src/auth/sasl-input"],
  maxLength: 512,
  dictionary: [
    "n,,",
    "y,,",
    "p=tls-exporter,",
    "p=tls-server-end-point,",
    "a=",
    "n=",
    "r=",
    "c=",
    "p=",
    "m=",
    "x=",
    ",",
    "=2C",
    "=3D",
    "=",
    "==",
    "biws",
    "eSws",
    "\u0000",
  ],
  run(data) {
    const text = decodeUtf8Strict(data);
    if (text === undefined) return;
    first(text);
    final(text);
  },
};
