// The privacy rule engine against XEP-0016's own examples: §2.1 JID matching order, §2.2 processing rules
// (ascending order, first match wins, fall-through allow), the lists of §2.3 and the per-kind lists of
// §2.9–§2.13; and the codec's errors (§2.1: unique orders, valid values).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { StanzaError } from "../../core/errors.js";
import { parseJid } from "../../core/jid.js";
import { xml } from "../../core/xml/element.js";
import { NS_PRIVACY } from "../../core/xml/ns.js";
import { parseItems } from "./codec.js";
import {
  allows,
  categorize,
  firstMatch,
  isBlockItem,
  jidMatches,
  type PeerRosterItem,
  type PrivacyItem,
  sortItems,
} from "./privacy-rules.js";

const j = parseJid;
const item = (attrs: Record<string, string>, ...kinds: string[]): PrivacyItem[] =>
  sortItems(parseItems(xml("list", NS_PRIVACY, { name: "t" }, xml("item", NS_PRIVACY, attrs, ...kinds.map((k) => xml(k, NS_PRIVACY))))));
const list = (...items: [Record<string, string>, ...string[]][]): PrivacyItem[] =>
  sortItems(
    parseItems(
      xml("list", NS_PRIVACY, { name: "t" }, ...items.map(([attrs, ...kinds]) => xml("item", NS_PRIVACY, attrs, ...kinds.map((k) => xml(k, NS_PRIVACY))))),
    ),
  );
const enemy: PeerRosterItem = { subscription: "both", groups: ["Enemies"] };

describe("JID matching (XEP-0016 §2.1, XEP-0191 JID Matching)", () => {
  it("user@domain/resource matches only that resource", () => {
    assert.equal(jidMatches("romeo@example.net/orchard", j("romeo@example.net/orchard")), true);
    assert.equal(jidMatches("romeo@example.net/orchard", j("romeo@example.net/home")), false);
    assert.equal(jidMatches("romeo@example.net/orchard", j("romeo@example.net")), false);
  });
  it("user@domain matches any resource and the bare JID", () => {
    assert.equal(jidMatches("tybalt@example.com", j("tybalt@example.com/pda")), true);
    assert.equal(jidMatches("tybalt@example.com", j("tybalt@example.com")), true);
    assert.equal(jidMatches("tybalt@example.com", j("mercutio@example.com")), false);
  });
  it("domain/resource matches only that resource", () => {
    assert.equal(jidMatches("example.com/pda", j("example.com/pda")), true);
    assert.equal(jidMatches("example.com/pda", j("tybalt@example.com/pda")), true);
    assert.equal(jidMatches("example.com/pda", j("example.com/desk")), false);
    assert.equal(jidMatches("example.com/pda", j("example.com")), false);
  });
  it("domain matches itself, any user@domain, domain/resource and subdomains", () => {
    for (const peer of ["example.com", "tybalt@example.com/pda", "example.com/x", "chat.example.com", "a@muc.chat.example.com"])
      assert.equal(jidMatches("example.com", j(peer)), true, peer);
    assert.equal(jidMatches("example.com", j("badexample.com")), false);
    assert.equal(jidMatches("example.com", j("example.org")), false);
  });
});

describe("stanza categories (XEP-0016 §2.1, notes of §2.10 and §2.11)", () => {
  it("presence notifications are presence without type or unavailable only", () => {
    assert.equal(categorize("presence", undefined, "in"), "presence-in");
    assert.equal(categorize("presence", "unavailable", "out"), "presence-out");
    assert.equal(categorize("presence", "subscribe", "in"), undefined);
    assert.equal(categorize("presence", "probe", "in"), undefined);
  });
  it("<message/> and <iq/> name incoming stanzas only", () => {
    assert.equal(categorize("message", "chat", "in"), "message");
    assert.equal(categorize("iq", "get", "in"), "iq");
    assert.equal(categorize("message", "chat", "out"), undefined);
  });
});

describe("processing (XEP-0016 §2.2)", () => {
  // §2.3 example lists.
  const pub = list([{ type: "jid", value: "tybalt@example.com", action: "deny", order: "1" }], [{ action: "allow", order: "2" }]);
  const priv = list([{ type: "subscription", value: "both", action: "allow", order: "10" }], [{ action: "deny", order: "15" }]);
  const special = list(
    [{ type: "jid", value: "juliet@example.com", action: "allow", order: "6" }],
    [{ type: "jid", value: "benvolio@example.org", action: "allow", order: "7" }],
    [{ type: "jid", value: "mercutio@example.org", action: "allow", order: "42" }],
    [{ action: "deny", order: "666" }],
  );

  it("'public' allows everyone except tybalt", () => {
    assert.equal(allows(pub, "message", j("tybalt@example.com/pda"), undefined), false);
    assert.equal(allows(pub, "message", j("nurse@example.com"), undefined), true);
  });
  it("'private' allows only contacts with a 'both' subscription; 'none' covers entities not in the roster", () => {
    assert.equal(allows(priv, "message", j("juliet@example.com"), { subscription: "both", groups: [] }), true);
    assert.equal(allows(priv, "message", j("juliet@example.com"), { subscription: "to", groups: [] }), false);
    assert.equal(allows(priv, "iq", j("stranger@example.org"), undefined), false);
  });
  it("'special' allows exactly three entities", () => {
    assert.equal(allows(special, "presence-in", j("benvolio@example.org/x"), undefined), true);
    assert.equal(allows(special, "presence-in", j("paris@example.org"), undefined), false);
  });
  it("items apply in ascending order whatever order they were given in, and the first match decides", () => {
    const l = list([{ action: "deny", order: "9" }], [{ type: "jid", value: "nurse@example.com", action: "allow", order: "2" }]);
    assert.equal(l[0]?.order, 2);
    assert.equal(allows(l, "message", j("nurse@example.com"), undefined), true);
    assert.equal(firstMatch(l, "message", j("paris@example.org"), undefined)?.order, 9);
  });
  it("without a fall-through item the action is allow", () => {
    assert.equal(firstMatch(pub.slice(0, 1), "message", j("nurse@example.com"), undefined), undefined);
    assert.equal(allows([], "message", j("nurse@example.com"), undefined), true);
  });
});

describe("blocking by kind (XEP-0016 §2.9–§2.13)", () => {
  const tybalt = j("tybalt@example.com/pda");
  it("§2.9 messages by jid, group, subscription, globally — and nothing else", () => {
    const byJid = item({ type: "jid", value: "tybalt@example.com", action: "deny", order: "3" }, "message");
    assert.equal(allows(byJid, "message", tybalt, undefined), false);
    assert.equal(allows(byJid, "iq", tybalt, undefined), true);
    assert.equal(allows(byJid, "presence-in", tybalt, undefined), true);
    assert.equal(allows(byJid, undefined, tybalt, undefined), true); // e.g. a subscription request
    const byGroup = item({ type: "group", value: "Enemies", action: "deny", order: "4" }, "message");
    assert.equal(allows(byGroup, "message", tybalt, enemy), false);
    assert.equal(allows(byGroup, "message", tybalt, { subscription: "both", groups: ["Friends"] }), true);
    assert.equal(allows(byGroup, "message", tybalt, undefined), true);
    const bySub = item({ type: "subscription", value: "none", action: "deny", order: "5" }, "message");
    assert.equal(allows(bySub, "message", tybalt, undefined), false);
    assert.equal(allows(bySub, "message", tybalt, { subscription: "none", groups: [] }), false);
    assert.equal(allows(bySub, "message", tybalt, { subscription: "from", groups: [] }), true);
    assert.equal(allows(item({ action: "deny", order: "6" }, "message"), "message", tybalt, undefined), false);
  });
  it("§2.10 / §2.11 presence-in and presence-out are separate", () => {
    const presIn = item({ type: "subscription", value: "to", action: "deny", order: "9" }, "presence-in");
    const to: PeerRosterItem = { subscription: "to", groups: [] };
    assert.equal(allows(presIn, "presence-in", tybalt, to), false);
    assert.equal(allows(presIn, "presence-out", tybalt, to), true);
    const presOut = item({ type: "subscription", value: "from", action: "deny", order: "17" }, "presence-out");
    const from: PeerRosterItem = { subscription: "from", groups: [] };
    assert.equal(allows(presOut, "presence-out", tybalt, from), false);
    assert.equal(allows(presOut, "presence-in", tybalt, from), true);
  });
  it("§2.12 iq by jid", () => {
    const iq = item({ type: "jid", value: "tybalt@example.com", action: "deny", order: "29" }, "iq");
    assert.equal(allows(iq, "iq", tybalt, undefined), false);
    assert.equal(allows(iq, "message", tybalt, undefined), true);
  });
  it("§2.13 an item naming no kind blocks everything both ways, subscriptions included", () => {
    const all = item({ type: "jid", value: "tybalt@example.com", action: "deny", order: "23" });
    for (const kind of ["message", "iq", "presence-in", "presence-out", undefined] as const)
      assert.equal(allows(all, kind, tybalt, undefined), false, String(kind));
    assert.equal(isBlockItem(all[0] as PrivacyItem), true);
    assert.equal(allows(item({ type: "group", value: "Enemies", action: "deny", order: "13" }), undefined, tybalt, enemy), false);
  });
  it("§2.15 the 'not in my roster' heuristic: deny subscription none", () => {
    const h = item({ type: "subscription", value: "none", action: "deny", order: "437" });
    assert.equal(allows(h, "message", j("stranger@example.org"), undefined), false);
    assert.equal(allows(h, "message", j("juliet@example.com"), { subscription: "both", groups: [] }), true);
  });
});

describe("list syntax (XEP-0016 §2.1)", () => {
  const bad = (attrs: Record<string, string>[], condition = "bad-request") =>
    assert.throws(
      () => parseItems(xml("list", NS_PRIVACY, { name: "t" }, ...attrs.map((a) => xml("item", NS_PRIVACY, a)))),
      (e: unknown) => e instanceof StanzaError && e.condition === condition,
    );
  it("rejects duplicate orders, missing action or order, bad values", () => {
    bad([{ action: "deny", order: "1" }, { action: "allow", order: "1" }]);
    bad([{ order: "1" }]);
    bad([{ action: "deny" }]);
    bad([{ action: "deny", order: "-1" }]);
    bad([{ action: "block", order: "1" }]);
    bad([{ type: "subscription", value: "sometimes", action: "deny", order: "1" }]);
    bad([{ type: "jid", value: "@nope", action: "deny", order: "1" }]);
    bad([{ type: "colour", value: "red", action: "deny", order: "1" }]);
  });
  it("stores jid values in canonical form", () => {
    assert.equal(item({ type: "jid", value: "Tybalt@Example.COM", action: "deny", order: "1" })[0]?.value, "tybalt@example.com");
  });
});
