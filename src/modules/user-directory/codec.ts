// XEP-0055 Jabber Search payloads: the fields a vCard gives the directory, the search fields a client is
// offered (legacy elements and the XEP-0004 form, §2.1 and §3), the request it sends back, and the results.
import { StanzaError } from "../../core/errors.js";
import { buildDataForm, type DataFormField, formType, parseDataForm } from "../../core/xml/data-form.js";
import { Element } from "../../core/xml/element.js";
import { NS_DATA_FORMS, NS_RSM, NS_SEARCH, NS_VCARD } from "../../core/xml/ns.js";
import { type DirectoryEntry, SEARCH_FIELDS, type SearchCriteria, type SearchField } from "./directory-index.js";

/** XEP-0055 §7.2: the labels of the registered jabber:iq:search form fields ("first" is the given name, 1.3). */
const LABELS: Record<SearchField, string> = {
  first: "First Name",
  last: "Family Name",
  nick: "Nickname",
  email: "Email Address",
};

/** Longest value searched for; longer ones are refused (they cannot be a name or an address anyone has). */
export const MAX_VALUE_LENGTH = 256;

const text = (el: Element | undefined) => el?.text().trim() ?? "";

/**
 * XEP-0054: N/GIVEN → first, N/FAMILY → last, NICKNAME → nick, the first EMAIL/USERID (or an EMAIL with bare
 * text, as old clients write it) → email. Undefined when the vCard has none of them: nothing to find it by.
 */
export function entryFromVCard(vcard: Element): DirectoryEntry | undefined {
  const n = vcard.getChild("N", NS_VCARD);
  let email = "";
  for (const e of vcard.getChildren("EMAIL", NS_VCARD)) {
    email = text(e.getChild("USERID", NS_VCARD)) || (e.elements().length === 0 ? text(e) : "");
    if (email !== "") break;
  }
  const entry: DirectoryEntry = {
    first: text(n?.getChild("GIVEN", NS_VCARD)),
    last: text(n?.getChild("FAMILY", NS_VCARD)),
    nick: text(vcard.getChild("NICKNAME", NS_VCARD)),
    email,
  };
  return SEARCH_FIELDS.some((f) => entry[f] !== "") ? entry : undefined;
}

/**
 * The stored vCard text without its PHOTO elements, for building the index at start: a photo is most of a vCard's
 * bytes and none of what the directory shows. The text is Natter's own serialisation (vcard/codec.ts), where "<"
 * only ever opens a tag (text is escaped) and PHOTO, in the vCard's namespace, has no prefix.
 */
export function withoutPhotos(serialised: string): string {
  let out = serialised;
  for (let from = 0; ; ) {
    const start = out.indexOf("<PHOTO", from);
    if (start < 0) return out;
    const next = out[start + 6];
    if (next !== ">" && next !== " " && next !== "/") {
      from = start + 6;
      continue;
    }
    const selfClosing = out.indexOf(">", start);
    if (selfClosing < 0) return serialised;
    let end: number;
    if (out[selfClosing - 1] === "/") end = selfClosing + 1;
    else {
      const close = out.indexOf("</PHOTO>", selfClosing);
      if (close < 0) return serialised; // not our serialisation after all: keep it whole
      end = close + 8;
    }
    out = out.slice(0, start) + out.slice(end);
    from = start;
  }
}

/** XEP-0055 §2.1 and §3: the answer to a get, both the legacy fields and the form (a client uses the one it knows). */
export function buildSearchFields(instructions: string): Element {
  const query = new Element("query", NS_SEARCH);
  query.c("instructions").t(instructions);
  for (const f of SEARCH_FIELDS) query.c(f);
  const fields: DataFormField[] = [
    { var: "FORM_TYPE", type: "hidden", values: [NS_SEARCH] },
    ...SEARCH_FIELDS.map((f): DataFormField => ({ var: f, type: "text-single", label: LABELS[f], values: [] })),
  ];
  query.append(buildDataForm({ type: "form", title: "User Directory Search", instructions: [instructions], fields }));
  return query;
}

export interface SearchRequest {
  criteria: SearchCriteria;
  /** True when the request was a data form: the results go back as one (XEP-0055 §3). */
  form: boolean;
}

function addCriterion(criteria: SearchCriteria, field: string, value: string): void {
  if (!(SEARCH_FIELDS as readonly string[]).includes(field))
    throw new StanzaError("bad-request", `there is no search field "${field}"`);
  const v = value.trim();
  if (v === "") return; // an empty field is one the searcher left blank
  if ([...v].length > MAX_VALUE_LENGTH)
    throw new StanzaError("not-acceptable", `search values are at most ${MAX_VALUE_LENGTH} characters`);
  criteria[field as SearchField] = v;
}

/** The criteria of a search set (§2.1 legacy elements, or §3 a submitted form); unknown fields are bad-request. */
export function parseSearchRequest(query: Element): SearchRequest {
  const criteria: SearchCriteria = {};
  const x = query.getChild("x", NS_DATA_FORMS);
  if (x) {
    const form = parseDataForm(x);
    if (form.type !== "submit") throw new StanzaError("bad-request", "a search form must be of type submit");
    const type = formType(form);
    if (type !== undefined && type !== NS_SEARCH)
      throw new StanzaError("bad-request", `FORM_TYPE ${type} is not ${NS_SEARCH}`);
    for (const field of form.fields) {
      if (field.var === "FORM_TYPE" || field.var === undefined) continue;
      addCriterion(criteria, field.var, field.values[0] ?? "");
    }
    return { criteria, form: true };
  }
  for (const child of query.elements()) {
    if (child.ns === NS_RSM) continue;
    if (child.ns !== NS_SEARCH) throw new StanzaError("bad-request", `unexpected <${child.name}/> in a search`);
    if (child.name === "instructions") continue; // §8 schema: part of the fields; a client may echo it back
    addCriterion(criteria, child.name, child.text());
  }
  return { criteria, form: false };
}

export interface SearchHit {
  jid: string;
  entry: DirectoryEntry;
}

/** §2.1: one <item jid=…/> per hit with its fields; §2.1 "no matching entries": an empty <query/>. */
export function buildLegacyResults(hits: SearchHit[]): Element {
  const query = new Element("query", NS_SEARCH);
  for (const hit of hits) {
    const item = query.c("item", NS_SEARCH, { jid: hit.jid });
    for (const f of SEARCH_FIELDS) item.c(f).t(hit.entry[f]);
  }
  return query;
}

/** §3: a result form, <reported/> naming the columns, then one <item/> of fields per hit. */
export function buildFormResults(hits: SearchHit[]): Element {
  const query = new Element("query", NS_SEARCH);
  const x = query.c("x", NS_DATA_FORMS, { type: "result" });
  x.c("field", NS_DATA_FORMS, { type: "hidden", var: "FORM_TYPE" }).c("value").t(NS_SEARCH);
  const reported = x.c("reported");
  reported.c("field", NS_DATA_FORMS, { var: "jid", label: "Jabber ID", type: "jid-single" });
  for (const f of SEARCH_FIELDS) reported.c("field", NS_DATA_FORMS, { var: f, label: LABELS[f], type: "text-single" });
  for (const hit of hits) {
    const item = x.c("item");
    item.c("field", NS_DATA_FORMS, { var: "jid" }).c("value").t(hit.jid);
    for (const f of SEARCH_FIELDS) item.c("field", NS_DATA_FORMS, { var: f }).c("value").t(hit.entry[f]);
  }
  return query;
}
