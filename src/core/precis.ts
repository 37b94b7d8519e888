// PRECIS (RFC 8264) string classes and the two RFC 8265 profiles XMPP needs: UsernameCaseMapped
// (JID localparts, SASL usernames) and OpaqueString (resourceparts, passwords).
//
// The derived property of each code point is computed from Node's own Unicode tables (regex property
// escapes, String.prototype.normalize), so it follows the Unicode version of the running Node, as RFC 8264
// §11 intends. Three properties JS regexes cannot name (Canonical_Combining_Class=Virama, Joining_Type,
// Bidi_Class) come from the tables tr46@6.0.0 generates from the UCD for the same purpose (UTS #46 CheckJoiners
// and CheckBidi implement the RFC 5892 Appendix A and RFC 5893 rules that PRECIS reuses).
import { createRequire } from "node:module";

export class PrecisError extends Error {}

interface Tr46Regexes {
  combiningClassVirama: RegExp;
  validZWNJ: RegExp;
  bidiDomain: RegExp;
  bidiS1LTR: RegExp;
  bidiS1RTL: RegExp;
  bidiS2: RegExp;
  bidiS3: RegExp;
  bidiS4EN: RegExp;
  bidiS4AN: RegExp;
  bidiS5: RegExp;
  bidiS6: RegExp;
}

// tr46 has no "exports" map, so its generated tables are reachable; STACK.md pins 6.0.0. Fail at load,
// not on the first Arabic username, if a later version moves them.
const tr46Regexes = createRequire(import.meta.url)("tr46/lib/regexes.js") as Partial<Tr46Regexes>;
for (const name of ["combiningClassVirama", "validZWNJ", "bidiDomain", "bidiS1LTR", "bidiS1RTL", "bidiS2", "bidiS3", "bidiS4EN", "bidiS4AN", "bidiS5", "bidiS6"] as const) {
  if (!(tr46Regexes[name] instanceof RegExp)) throw new Error(`tr46/lib/regexes.js lacks ${name}: PRECIS needs tr46@6`);
}
const bidi = tr46Regexes as Tr46Regexes;

// validZWNJ is `(Joining_Type:{L,D})(Joining_Type:T)*\u200C(Joining_Type:T)*(Joining_Type:{R,D})` (RFC 5892 A.1),
// unanchored; split it so the context around one particular ZWNJ can be tested.
const [zwnjBefore, zwnjAfter] = bidi.validZWNJ.source.split("\\u200C") as [string, string];
const ZWNJ_CONTEXT_BEFORE = new RegExp(`(?:${zwnjBefore})$`, "u");
const ZWNJ_CONTEXT_AFTER = new RegExp(`^(?:${zwnjAfter})`, "u");

// Derived property values, RFC 8264 §8. ID_DIS / FREE_PVAL is one value: disallowed in IdentifierClass,
// valid in FreeformClass.
const PVALID = 1;
const ID_DIS_OR_FREE_PVAL = 2;
const CONTEXTJ = 3;
const CONTEXTO = 4;
const DISALLOWED = 5;
const UNASSIGNED = 6;
type DerivedProperty = 1 | 2 | 3 | 4 | 5 | 6;

// RFC 5892 §2.6 Exceptions (F), the only category that overrides everything below it.
const EXCEPTIONS = new Map<number, DerivedProperty>([
  ...[0x00df, 0x03c2, 0x06fd, 0x06fe, 0x0f0b, 0x3007].map((cp) => [cp, PVALID] as const),
  ...[0x00b7, 0x0375, 0x05f3, 0x05f4, 0x30fb].map((cp) => [cp, CONTEXTO] as const),
  ...range(0x0660, 0x0669).map((cp) => [cp, CONTEXTO] as const),
  ...range(0x06f0, 0x06f9).map((cp) => [cp, CONTEXTO] as const),
  ...[0x0640, 0x07fa, 0x302e, 0x302f, 0x303b, ...range(0x3031, 0x3035)].map((cp) => [cp, DISALLOWED] as const),
]);

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

const IS_UNASSIGNED = /^\p{Cn}$/u; // RFC 5892 §2.10 also excludes noncharacters: they fall to IGNORABLE below
const IS_NONCHARACTER = /^\p{Noncharacter_Code_Point}$/u;
const IS_OLD_HANGUL_JAMO = /^[\u1100-\u11FF\uA960-\uA97C\uD7B0-\uD7C6\uD7CB-\uD7FB]$/u; // Hangul_Syllable_Type L, V, T
const IS_PRECIS_IGNORABLE = /^[\p{Default_Ignorable_Code_Point}\p{Noncharacter_Code_Point}]$/u; // RFC 8264 §9.13
const IS_CONTROL = /^\p{Cc}$/u; // RFC 8264 §9.12
const IS_LETTER_DIGIT = /^[\p{Ll}\p{Lu}\p{Lo}\p{Nd}\p{Lm}\p{Mn}\p{Mc}]$/u; // RFC 5892 §2.1
const IS_OTHER_LETTER_DIGIT = /^[\p{Lt}\p{Nl}\p{No}\p{Me}]$/u; // RFC 8264 §9.18
const IS_SPACE = /^\p{Zs}$/u; // RFC 8264 §9.14
const IS_SYMBOL = /^[\p{Sm}\p{Sc}\p{Sk}\p{So}]$/u; // RFC 8264 §9.15
const IS_PUNCTUATION = /^\p{P}$/u; // RFC 8264 §9.16

/** RFC 8264 §8: the calculation order is normative ("implementations MUST NOT modify the order"). */
function computeDerivedProperty(cp: number): DerivedProperty {
  const exception = EXCEPTIONS.get(cp);
  if (exception !== undefined) return exception;
  // BackwardCompatible (G) is empty.
  const ch = String.fromCodePoint(cp);
  if (IS_UNASSIGNED.test(ch) && !IS_NONCHARACTER.test(ch)) return UNASSIGNED;
  if (cp >= 0x21 && cp <= 0x7e) return PVALID; // ASCII7 (K), RFC 8264 §9.11
  if (cp === 0x200c || cp === 0x200d) return CONTEXTJ; // JoinControl (H)
  if (IS_OLD_HANGUL_JAMO.test(ch)) return DISALLOWED;
  if (IS_PRECIS_IGNORABLE.test(ch)) return DISALLOWED;
  if (IS_CONTROL.test(ch)) return DISALLOWED;
  if (ch.normalize("NFKC") !== ch) return ID_DIS_OR_FREE_PVAL; // HasCompat (Q), RFC 8264 §9.17
  if (IS_LETTER_DIGIT.test(ch)) return PVALID;
  if (IS_OTHER_LETTER_DIGIT.test(ch) || IS_SPACE.test(ch) || IS_SYMBOL.test(ch) || IS_PUNCTUATION.test(ch)) {
    return ID_DIS_OR_FREE_PVAL;
  }
  return DISALLOWED; // includes surrogates, private use, Zl, Zp and format characters not already ignorable
}

// One byte per code point (1.1 MB), filled lazily: a code point costs a dozen regex tests once.
const derivedCache = new Uint8Array(0x110000);
function derivedProperty(cp: number): DerivedProperty {
  let value = derivedCache[cp] as number;
  if (value === 0) {
    value = computeDerivedProperty(cp);
    derivedCache[cp] = value;
  }
  return value as DerivedProperty;
}

type StringClass = "IdentifierClass" | "FreeformClass";

const HEBREW = /^\p{Script=Hebrew}$/u;
const GREEK = /^\p{Script=Greek}$/u;
const HIRAGANA_KATAKANA_HAN = /[\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Han}]/u;
const ARABIC_INDIC_DIGIT = /[\u0660-\u0669]/u;
const EXTENDED_ARABIC_INDIC_DIGIT = /[\u06F0-\u06F9]/u;

/** RFC 5892 Appendix A.1 and A.2. */
function contextJAllows(cps: string[], i: number): boolean {
  const before = cps[i - 1];
  if (before === undefined) return false;
  if (bidi.combiningClassVirama.test(before)) return true;
  if (cps[i] === "\u200D") return false;
  return ZWNJ_CONTEXT_BEFORE.test(cps.slice(0, i).join("")) && ZWNJ_CONTEXT_AFTER.test(cps.slice(i + 1).join(""));
}

/** RFC 5892 Appendix A.3–A.9. */
function contextOAllows(cps: string[], i: number, whole: string): boolean {
  const cp = cps[i] as string;
  switch (cp) {
    case "\u00B7": // A.3 MIDDLE DOT: only between two 'l' (Catalan l·l)
      return cps[i - 1] === "l" && cps[i + 1] === "l";
    case "\u0375": // A.4 GREEK KERAIA: followed by Greek
      return cps[i + 1] !== undefined && GREEK.test(cps[i + 1] as string);
    case "\u05F3": // A.5 HEBREW GERESH
    case "\u05F4": // A.6 HEBREW GERSHAYIM: preceded by Hebrew
      return cps[i - 1] !== undefined && HEBREW.test(cps[i - 1] as string);
    case "\u30FB": // A.7 KATAKANA MIDDLE DOT: somewhere a Hiragana, Katakana or Han character
      return HIRAGANA_KATAKANA_HAN.test(whole);
    default: // A.8 / A.9: the two Arabic-Indic digit sets must not mix
      return ARABIC_INDIC_DIGIT.test(cp) ? !EXTENDED_ARABIC_INDIC_DIGIT.test(whole) : !ARABIC_INDIC_DIGIT.test(whole);
  }
}

/** RFC 8264 §7 step 6 (behavioral rules): every code point valid for the class, or allowed in its context. */
function checkStringClass(s: string, stringClass: StringClass, profile: string): void {
  const cps = Array.from(s);
  for (let i = 0; i < cps.length; i++) {
    const cp = (cps[i] as string).codePointAt(0) as number;
    const property = derivedProperty(cp);
    if (property === PVALID) continue;
    if (property === ID_DIS_OR_FREE_PVAL && stringClass === "FreeformClass") continue;
    if (property === CONTEXTJ && contextJAllows(cps, i)) continue;
    if (property === CONTEXTO && contextOAllows(cps, i, s)) continue;
    const hex = cp.toString(16).toUpperCase().padStart(4, "0");
    throw new PrecisError(`${profile}: U+${hex} is not allowed in the ${stringClass}`);
  }
}

/** RFC 5893 §2, applied to the whole string when it holds any right-to-left (R, AL, AN) code point. */
function checkBidiRule(s: string, profile: string): void {
  if (!bidi.bidiDomain.test(s)) return;
  const first = String.fromCodePoint(s.codePointAt(0) as number);
  let ok: boolean;
  if (bidi.bidiS1RTL.test(first)) {
    ok = bidi.bidiS2.test(s) && bidi.bidiS3.test(s) && !(bidi.bidiS4EN.test(s) && bidi.bidiS4AN.test(s));
  } else if (bidi.bidiS1LTR.test(first)) {
    ok = bidi.bidiS5.test(s) && bidi.bidiS6.test(s);
  } else {
    ok = false;
  }
  if (!ok) throw new PrecisError(`${profile}: violates the Bidi Rule (RFC 5893)`);
}

// UAX #11 fullwidth (<wide>) and halfwidth (<narrow>) compatibility characters all sit in U+3000 and
// U+FF01–U+FFEE. Their NFKD is their one-step decomposition mapping, except U+FFE3 FULLWIDTH MACRON whose
// target U+00AF itself has a compatibility decomposition.
const WIDE_OR_NARROW = /[\u3000\uFF01-\uFFEE]/gu;
function mapWidth(s: string): string {
  return s.replace(WIDE_OR_NARROW, (ch) => (ch === "\uFFE3" ? "\u00AF" : ch.normalize("NFKD")));
}

const ASCII7 = /^[\x21-\x7E]+$/;
const ASCII7_OR_SPACE = /^[\x20-\x7E]+$/;
const NON_ASCII_SPACE = /(?!\x20)\p{Zs}/gu;

/**
 * RFC 8265 §3.3 UsernameCaseMapped enforcement: width mapping, toLowerCase (§3.3.1 rule 3 names Unicode
 * toLowerCase(), not case folding), NFC, Bidi Rule, then IdentifierClass and non-emptiness. Throws PrecisError.
 */
export function enforceUsernameCaseMapped(s: string): string {
  // ASCII7 is PVALID, has no right-to-left code points and is already NFC: only case mapping applies.
  if (ASCII7.test(s)) return s.toLowerCase();
  const profile = "UsernameCaseMapped";
  const out = mapWidth(s).toLowerCase().normalize("NFC");
  if (out === "") throw new PrecisError(`${profile}: empty string`); // RFC 8265 §3.1
  checkBidiRule(out, profile);
  checkStringClass(out, "IdentifierClass", profile);
  return out;
}

/**
 * RFC 8265 §4.2 OpaqueString enforcement: non-ASCII spaces to U+0020, NFC, then FreeformClass and
 * non-emptiness. No width or case mapping, no Bidi Rule. Throws PrecisError.
 */
export function enforceOpaqueString(s: string): string {
  if (ASCII7_OR_SPACE.test(s)) return s; // every code point PVALID or FREE_PVAL, already NFC
  const profile = "OpaqueString";
  const out = s.replace(NON_ASCII_SPACE, " ").normalize("NFC");
  if (out === "") throw new PrecisError(`${profile}: empty string`); // RFC 8265 §4.1
  checkStringClass(out, "FreeformClass", profile);
  return out;
}
