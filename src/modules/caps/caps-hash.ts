// XEP-0115 §5 entity capabilities: the verification string of a disco#info result, its hash, and the
// §5.4 checks that make a result unfit for the shared cache.
import { createHash } from "node:crypto";
import { type DataForm, formType, parseDataForm } from "../../core/xml/data-form.js";
import type { Element } from "../../core/xml/element.js";
import { NS_DATA_FORMS, NS_DISCO_INFO } from "../../core/xml/ns.js";

/** XEP-0115 §5.1 step 7 / §8.1 ("hash" names from the IANA Hash Function Textual Names registry) → node:crypto. */
const HASHES: Record<string, string> = {
  "sha-1": "sha1",
  "sha-224": "sha224",
  "sha-256": "sha256",
  "sha-384": "sha384",
  "sha-512": "sha512",
  md5: "md5",
};

export function isSupportedHash(name: string): boolean {
  return Object.hasOwn(HASHES, name);
}

/** "i;octet" collation (RFC 4790 §9.3), as §5.1 steps 2, 4 and 6 ask: UTF-8 byte order. */
const octet = (a: string, b: string): number => Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));

export class IllFormedCapsError extends Error {}

interface Identity {
  category: string;
  type: string;
  lang: string;
  name: string;
}

/**
 * The §5.1 verification string of a disco#info <query/>. Throws IllFormedCapsError for the §5.4 step 3.3–3.5
 * cases (duplicate identities, duplicate features, several forms of one FORM_TYPE or several FORM_TYPE values);
 * forms without FORM_TYPE, or whose FORM_TYPE is not hidden, are left out (§5.4 step 3.6).
 */
export function verificationString(query: Element): string {
  const identities: Identity[] = query.getChildren("identity", NS_DISCO_INFO).map((i) => ({
    category: i.attrs.category ?? "",
    type: i.attrs.type ?? "",
    lang: i.attrs["xml:lang"] ?? "",
    name: i.attrs.name ?? "",
  }));
  const idKeys = identities.map((i) => `${i.category}/${i.type}/${i.lang}/${i.name}`);
  if (new Set(idKeys).size !== idKeys.length) throw new IllFormedCapsError("duplicate identity"); // §5.4 3.3
  const features = query.getChildren("feature", NS_DISCO_INFO).map((f) => f.attrs.var ?? "");
  if (new Set(features).size !== features.length) throw new IllFormedCapsError("duplicate feature"); // §5.4 3.4

  let s = "";
  // §5.1 steps 2–3: identities sorted by category, then type, then xml:lang.
  identities.sort((a, b) => octet(a.category, b.category) || octet(a.type, b.type) || octet(a.lang, b.lang));
  for (const i of identities) s += `${i.category}/${i.type}/${i.lang}/${i.name}<`;
  // Steps 4–5.
  for (const f of [...features].sort(octet)) s += `${f}<`;
  // Step 6: extended forms (XEP-0128) sorted by FORM_TYPE, fields by var, values sorted.
  const forms = new Map<string, DataForm>();
  for (const x of query.getChildren("x", NS_DATA_FORMS)) {
    let form: DataForm;
    try {
      form = parseDataForm(x);
    } catch {
      continue;
    }
    const typeField = form.fields.find((f) => f.var === "FORM_TYPE");
    if (!typeField) continue;
    if (typeField.values.length !== 1) throw new IllFormedCapsError("FORM_TYPE with several values"); // §5.4 3.5
    if (typeField.type !== "hidden") continue; // §5.4 3.6
    const ft = formType(form) as string;
    if (forms.has(ft)) throw new IllFormedCapsError("two forms of one FORM_TYPE"); // §5.4 3.5
    forms.set(ft, form);
  }
  for (const ft of [...forms.keys()].sort(octet)) {
    s += `${ft}<`;
    const fields = (forms.get(ft) as DataForm).fields.filter((f) => f.var !== undefined && f.var !== "FORM_TYPE");
    fields.sort((a, b) => octet(a.var as string, b.var as string));
    for (const f of fields) {
      s += `${f.var}<`;
      for (const v of [...f.values].sort(octet)) s += `${v}<`;
    }
  }
  return s;
}

/** §5.1 step 7: base64 of the hash of the UTF-8 verification string. */
export function capsHash(query: Element, hash = "sha-1"): string {
  const algorithm = HASHES[hash];
  if (algorithm === undefined) throw new Error(`unsupported caps hash ${hash}`);
  return createHash(algorithm).update(verificationString(query), "utf8").digest("base64");
}

/** §5.4 step 3.7–3.8: whether a disco#info result matches the advertised ver. False for ill-formed results. */
export function verifyCaps(query: Element, hash: string, ver: string): boolean {
  if (!isSupportedHash(hash)) return false;
  try {
    return capsHash(query, hash) === ver;
  } catch (err) {
    if (err instanceof IllFormedCapsError) return false;
    throw err;
  }
}
