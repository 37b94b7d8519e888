import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PrecisError, enforceOpaqueString, enforceUsernameCaseMapped } from "./precis.js";

const rejects = (enforce: (s: string) => string, input: string) =>
  assert.throws(() => enforce(input), PrecisError, `expected ${JSON.stringify(input)} to be rejected`);

describe("UsernameCaseMapped (RFC 8265 §3.3)", () => {
  it("lower-cases with toLowerCase (§3.3.1 rule 3), ASCII and not", () => {
    assert.equal(enforceUsernameCaseMapped("JULIET"), "juliet");
    assert.equal(enforceUsernameCaseMapped("Σ"), "σ");
    assert.equal(enforceUsernameCaseMapped("ÄÖÜ"), "äöü");
    // toLowerCase, not case folding: ß and final sigma survive
    assert.equal(enforceUsernameCaseMapped("fußball"), "fußball");
    assert.equal(enforceUsernameCaseMapped("ς"), "ς");
  });

  it("maps fullwidth and halfwidth code points to their decomposition (§3.3.1 rule 1)", () => {
    assert.equal(enforceUsernameCaseMapped("ＪＵＬＩＥＴ"), "juliet");
    assert.equal(enforceUsernameCaseMapped("ｶ"), "カ"); // U+FF76 HALFWIDTH KATAKANA KA
  });

  it("applies NFC (§3.3.1 rule 4)", () => {
    assert.equal(enforceUsernameCaseMapped("e\u0301"), "\u00E9");
    assert.equal(enforceUsernameCaseMapped("\u212B"), "\u00E5"); // ANGSTROM SIGN → å (after lower-casing Å)
  });

  it("keeps ASCII punctuation, which is ASCII7 and so PVALID (RFC 8264 §9.11)", () => {
    assert.equal(enforceUsernameCaseMapped("a.b_c-d+e!"), "a.b_c-d+e!");
  });

  it("rejects what the IdentifierClass disallows", () => {
    rejects(enforceUsernameCaseMapped, "foo bar"); // Spaces: ID_DIS
    rejects(enforceUsernameCaseMapped, "foo\u00A0bar"); // NO-BREAK SPACE: HasCompat
    rejects(enforceUsernameCaseMapped, "henry\u2163"); // ROMAN NUMERAL FOUR: HasCompat (RFC 7622 §3.5)
    rejects(enforceUsernameCaseMapped, "\u265A"); // BLACK CHESS KING: Symbols
    rejects(enforceUsernameCaseMapped, "a\u0007"); // Controls
    rejects(enforceUsernameCaseMapped, "a\u00AD"); // SOFT HYPHEN: Default_Ignorable
    rejects(enforceUsernameCaseMapped, "a\uFDD0"); // noncharacter
    rejects(enforceUsernameCaseMapped, "\u1100"); // OldHangulJamo
    rejects(enforceUsernameCaseMapped, "a\u0640"); // ARABIC TATWEEL: exception, DISALLOWED
    rejects(enforceUsernameCaseMapped, "a\uE000"); // private use
    rejects(enforceUsernameCaseMapped, "a\uD800"); // lone surrogate
    rejects(enforceUsernameCaseMapped, "a\u0378"); // unassigned
    rejects(enforceUsernameCaseMapped, "");
  });

  it("accepts exception PVALID code points and letters from other scripts", () => {
    assert.equal(enforceUsernameCaseMapped("\u3007"), "\u3007");
    assert.equal(enforceUsernameCaseMapped("π"), "π");
    assert.equal(enforceUsernameCaseMapped("Ελληνικά"), "ελληνικά");
    assert.equal(enforceUsernameCaseMapped("用户"), "用户");
  });

  it("applies the RFC 5892 contextual rules", () => {
    assert.equal(enforceUsernameCaseMapped("l\u00B7l"), "l\u00B7l"); // A.3 middle dot between l's
    rejects(enforceUsernameCaseMapped, "a\u00B7b");
    assert.equal(enforceUsernameCaseMapped("\u0375\u03B1"), "\u0375\u03B1"); // A.4 keraia before Greek
    rejects(enforceUsernameCaseMapped, "\u0375a");
    assert.equal(enforceUsernameCaseMapped("\u05D0\u05F3"), "\u05D0\u05F3"); // A.5 geresh after Hebrew
    rejects(enforceUsernameCaseMapped, "a\u05F3");
    assert.equal(enforceUsernameCaseMapped("\u30A2\u30FB\u30A4"), "\u30A2\u30FB\u30A4"); // A.7
    rejects(enforceUsernameCaseMapped, "a\u30FBb");
    rejects(enforceUsernameCaseMapped, "\u0628\u0660\u06F0"); // A.8/A.9 mixed digit sets
    assert.equal(enforceUsernameCaseMapped("\u0915\u094D\u200D"), "\u0915\u094D\u200D"); // A.2 ZWJ after virama
    rejects(enforceUsernameCaseMapped, "a\u200Db");
    assert.equal(enforceUsernameCaseMapped("\u0628\u200C\u0628"), "\u0628\u200C\u0628"); // A.1 ZWNJ, joining context
    rejects(enforceUsernameCaseMapped, "\u200Ca");
  });

  it("applies the Bidi Rule to strings with right-to-left code points (RFC 5893 §2)", () => {
    assert.equal(enforceUsernameCaseMapped("\u05D0\u05D1"), "\u05D0\u05D1");
    assert.equal(enforceUsernameCaseMapped("\u05D0\u05D11"), "\u05D0\u05D11"); // RTL may end in EN
    rejects(enforceUsernameCaseMapped, "a\u05D0"); // LTR label with R
    rejects(enforceUsernameCaseMapped, "1\u05D0"); // first character neither L nor R/AL
    rejects(enforceUsernameCaseMapped, "\u05D01\u0661"); // EN and AN together
  });

  it("is idempotent", () => {
    for (const s of ["ＪＵＬＩＥＴ", "Σίσυφος", "e\u0301", "\u212B", "ÅNGSTRÖM"]) {
      const once = enforceUsernameCaseMapped(s);
      assert.equal(enforceUsernameCaseMapped(once), once);
    }
  });
});

describe("OpaqueString (RFC 8265 §4.2)", () => {
  it("keeps ASCII, spaces and case as they are", () => {
    assert.equal(enforceOpaqueString("Correct Horse Battery Staple"), "Correct Horse Battery Staple");
    assert.equal(enforceOpaqueString(" "), " ");
  });

  it("maps non-ASCII spaces to U+0020 (§4.2.1 rule 2)", () => {
    assert.equal(enforceOpaqueString("a\u00A0b\u3000c\u2009d"), "a b c d");
  });

  it("applies NFC but no width or case mapping", () => {
    assert.equal(enforceOpaqueString("e\u0301"), "\u00E9");
    assert.equal(enforceOpaqueString("ＡＢ"), "ＡＢ");
  });

  it("allows what only the FreeformClass allows", () => {
    assert.equal(enforceOpaqueString("\u265A"), "\u265A");
    assert.equal(enforceOpaqueString("\u2163"), "\u2163");
    assert.equal(enforceOpaqueString("πß😀"), "πß😀");
  });

  it("rejects controls, ignorables, separators and the empty string", () => {
    rejects(enforceOpaqueString, "");
    rejects(enforceOpaqueString, "a\u0000b");
    rejects(enforceOpaqueString, "a\tb");
    rejects(enforceOpaqueString, "a\u007F");
    rejects(enforceOpaqueString, "a\u200Bb"); // ZERO WIDTH SPACE: Default_Ignorable
    rejects(enforceOpaqueString, "a\u2028b"); // LINE SEPARATOR (Zl)
    rejects(enforceOpaqueString, "a\uE000"); // private use
  });
});
