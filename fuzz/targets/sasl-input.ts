// The SASL input checks (src/auth/sasl-input.ts): strict UTF-8 decoding and the authzid rule.
// Invariants: decodeUtf8Strict accepts exactly the valid UTF-8 inputs and gives back the exact octets (SCRAM
// signs them); isOwnAuthzid never throws, and grants only the empty authzid or the user's own bare JID.
import { isUtf8 } from "node:buffer";
import { decodeUtf8Strict, isOwnAuthzid } from "../../src/auth/sasl-input.js";
import { tryParseJid } from "../../src/core/jid.js";
import type { FuzzTarget } from "../engine/fuzz-loop.js";
import { check } from "./check.js";

export const saslInputTarget: FuzzTarget = {
  name: "sasl-input",
  covers: ["/src/auth/sasl-input", "/src/core/jid", "/src/core/precis"],
  maxLength: 256,
  dictionary: ["juliet", "@", "example.com", "/", "\ufeff", "JULIET", "\u212a", "xn--", "."],
  run(data) {
    const text = decodeUtf8Strict(data);
    check((text !== undefined) === isUtf8(data), `decodeUtf8Strict ${text === undefined ? "refused" : "accepted"} it`);
    if (text === undefined) return;
    check(Buffer.from(text).equals(data), "decoded text does not re-encode to the same octets");
    if (isOwnAuthzid(text, "juliet", "example.com")) {
      const jid = tryParseJid(text);
      check(text === "" || jid?.toString() === "juliet@example.com", `granted authzid ${JSON.stringify(text)}`);
    }
  },
};
