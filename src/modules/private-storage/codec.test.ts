import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { StanzaError } from "../../core/errors.js";
import { NS_CLIENT, NS_PRIVATE } from "../../core/xml/ns.js";
import { parseFramedElement } from "../../core/xml/stream-parser.js";
import { buildResult, parseStored, queryChildren, serialiseStored, storageKey } from "./codec.js";

const parse = (text: string) => parseFramedElement(text, { maxStanzaBytes: 1 << 20, maxDepth: 32 }, NS_CLIENT);
const queryOf = (iq: string) => parse(iq).getChild("query", NS_PRIVATE)!;
const condition = (cond: string) => (err: unknown) => err instanceof StanzaError && err.condition === cond;

describe("XEP-0049 codec", () => {
  it("keys and round-trips the stored fragment of §2.3's example", () => {
    const q = queryOf(
      '<iq type="set" id="1001"><query xmlns="jabber:iq:private"><exodus xmlns="exodus:prefs"><defaultnick>Hamlet</defaultnick></exodus></query></iq>',
    );
    const [child] = queryChildren(q, "set");
    assert.equal(storageKey(child!), "exodus:prefs exodus");
    const back = parseStored(serialiseStored(child!));
    assert.equal(back.ns, "exodus:prefs");
    assert.equal(back.getChildText("defaultnick"), "Hamlet");
  });

  it("answers the empty element asked for when nothing is stored", () => {
    const asked = queryChildren(
      queryOf('<iq type="get" id="1002"><query xmlns="jabber:iq:private"><exodus xmlns="exodus:prefs"/></query></iq>'),
      "get",
    );
    assert.equal(
      buildResult(asked, [undefined]).toString(NS_CLIENT),
      '<query xmlns="jabber:iq:private"><exodus xmlns="exodus:prefs"/></query>',
    );
  });

  it("refuses a query with no child: bad-request for get, not-acceptable for set (§2.3, §3)", () => {
    const empty = queryOf('<iq type="set" id="1004"><query xmlns="jabber:iq:private"/></iq>');
    assert.throws(() => queryChildren(empty, "get"), condition("bad-request"));
    assert.throws(() => queryChildren(empty, "set"), condition("not-acceptable"));
  });

  it("refuses children without a namespace of their own", () => {
    for (const child of ["<prefs/>", "<prefs xmlns='jabber:client'/>", "<prefs xmlns=''/>"]) {
      const q = queryOf(`<iq type="set" id="x"><query xmlns="jabber:iq:private">${child}</query></iq>`);
      assert.throws(() => queryChildren(q, "set"), condition("not-acceptable"), child);
    }
  });

  it("accepts several children on set, one namespace only on get", () => {
    const q = queryOf(
      '<iq type="set" id="x"><query xmlns="jabber:iq:private"><a xmlns="urn:a"/><b xmlns="urn:b"/></query></iq>',
    );
    assert.equal(queryChildren(q, "set").length, 2);
    assert.throws(() => queryChildren(q, "get"), condition("bad-request"));
  });
});
