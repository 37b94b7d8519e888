// JID parsing (src/core/jid.ts, RFC 7622 with the PRECIS profiles of RFC 8264 / 8265).
// Invariants: parseJid returns a Jid or throws JidError, nothing else; its result is canonical (parsing its
// string form gives the same JID, the property the router's === comparisons rely on); no part exceeds 1023 octets.

import { decodeUtf8Strict } from "../../src/auth/sasl-input.js";
import type { Jid } from "../../src/core/jid.js";
import { JidError, parseJid } from "../../src/core/jid.js";
import type { FuzzTarget } from "../engine/fuzz-loop.js";
import { check, expectOnly } from "./check.js";

function tryParse(text: string): Jid | undefined {
  try {
    return parseJid(text);
  } catch (err) {
    expectOnly(err, JidError);
    return undefined;
  }
}

export const jidTarget: FuzzTarget = {
  name: "jid",
  covers: ["/src/core/jid", "/src/core/precis", "/tr46/"],
  maxLength: 256,
  dictionary: [
    "@",
    "/",
    ".",
    "xn--",
    "[::1]",
    "[",
    "]",
    "127.0.0.1",
    "example.com",
    "\u212a",
    "\u00df",
    "\u0130",
    "\u200d",
    "\uff0e",
    "\u3002",
    "\u0345",
    "\ufb01",
  ],
  run(data) {
    const text = decodeUtf8Strict(data);
    if (text === undefined) return;
    const jid = tryParse(text);
    if (jid === undefined) return;
    for (const part of [jid.local, jid.domain, jid.resource])
      check(Buffer.byteLength(part) <= 1023, "part over 1023 octets");
    const again = tryParse(jid.toString());
    check(again !== undefined, `canonical form ${JSON.stringify(jid.toString())} does not parse`);
    check(
      again.toString() === jid.toString(),
      `not idempotent: ${JSON.stringify(jid.toString())} → ${JSON.stringify(again.toString())}`,
    );
    check(
      again.local === jid.local && again.domain === jid.domain && again.resource === jid.resource,
      `parts move on re-parse: ${JSON.stringify(jid)} → ${JSON.stringify(again)}`,
    );
  },
};
