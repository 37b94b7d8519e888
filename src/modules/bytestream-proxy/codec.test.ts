import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { StanzaError } from "../../core/errors.js";
import { tryParseJid } from "../../core/jid.js";
import { Element } from "../../core/xml/element.js";
import { NS_BYTESTREAMS } from "../../core/xml/ns.js";
import { bytestreamHash, parseActivation } from "./codec.js";

const query = (sid: string | undefined, target?: string) => {
  const q = new Element("query", NS_BYTESTREAMS, sid === undefined ? {} : { sid });
  if (target !== undefined) q.c("activate").children.push(target);
  return q;
};
const condition = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return err instanceof StanzaError ? err.condition : String(err);
  }
  return "none";
};

describe("XEP-0065 codec", () => {
  it("hashes SID + requester JID + target JID as hex SHA-1, on the enforced JIDs (§5.3.2)", () => {
    // The XEP's example names; the value from `printf 'vxf9n471bn46requester@example.com/footarget@example.org/bar' | sha1sum`.
    const hash = bytestreamHash("vxf9n471bn46", "requester@example.com/foo", "target@example.org/bar");
    assert.equal(hash, "98b8d688d0f5d895fd41c5e7309a2e9e33ba32ff");
    // Stringprep first: a JID as the client wrote it and its enforced form give the same hash.
    const loud = tryParseJid("Requester@EXAMPLE.com/foo");
    assert.ok(loud);
    assert.equal(bytestreamHash("vxf9n471bn46", loud, "target@example.org/bar"), hash);
  });

  it("reads an activation and refuses what it cannot use", () => {
    const ok = parseActivation(query("s1", " target@example.org/bar "));
    assert.equal(ok.sid, "s1");
    assert.equal(ok.target.toString(), "target@example.org/bar");
    assert.equal(
      condition(() => parseActivation(query(undefined, "t@x/y"))),
      "bad-request",
    );
    assert.equal(
      condition(() => parseActivation(query("s1"))),
      "bad-request",
    );
    assert.equal(
      condition(() => parseActivation(query("s".repeat(128), "t@x/y"))),
      "not-acceptable",
    );
    assert.equal(
      condition(() => parseActivation(query("s1", "@nobody"))),
      "jid-malformed",
    );
  });
});
